using Spillway.Console.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Spillway.Console.Tests;

/// <summary>The test-rig controls driven from the console: a fault rule the next API call meets, the request log
/// showing that call, and the subscription's clock moved and put back.</summary>
public sealed class ControlsFlowTests : IClassFixture<EmbeddedSession>
{
    private readonly EmbeddedSession _console;

    public ControlsFlowTests(EmbeddedSession console)
    {
        _console = console;
        _console.ClearProblems();
    }

    [Fact]
    public async Task A_fault_added_on_the_controls_page_fails_the_next_API_call_and_the_request_log_shows_it()
    {
        var page = _console.Wide;
        await page.OpenAsync(_console.SubscriptionUrl("/controls"));
        await Expect(page.Hook("faults-empty")).ToBeVisibleAsync();
        var add = page.Hook("fault-add-form");
        await add.SetAsync("kind", "error");
        await add.SetAsync("endpoint", "create");
        await add.SetAsync("code", "604");
        await add.SetAsync("count", "1");
        await add.SubmitAsync();

        await Expect(page.Hook("flash")).ToBeVisibleAsync();
        var rule = page.Locator("[data-testid=fault-row][data-kind=error]");
        await Expect(rule).ToHaveCountAsync(1);
        var ruleId = await rule.GetAttributeAsync("data-rule-id");
        Assert.False(string.IsNullOrEmpty(ruleId));

        var now = await _console.Server.Controls.GetNowAsync();
        var faulted = await _console.Marketo.CallAsync(HttpMethod.Post, "bulk/v1/activities/export/create.json",
            new { format = "CSV", filter = new { createdAt = new { startAt = now.AddDays(-1).ToString("O"), endAt = now.ToString("O") } } });
        Assert.Equal("604", MarketoApi.ErrorCode(faulted));
        // The rule fired its one time: the same call goes through now.
        var exportId = await _console.Marketo.CreateExportAsync(now);

        await page.OpenAsync(_console.SubscriptionUrl("/requests"));
        await Expect(page.Hook("request-log-scope")).ToBeVisibleAsync();
        var faultedRow = page.Locator("[data-testid=request-row][data-code='604']");
        await Expect(faultedRow).ToHaveCountAsync(1);
        await Expect(faultedRow).ToHaveAttributeAsync("data-fault", ruleId!);
        await Expect(faultedRow).ToHaveAttributeAsync("data-http-status", "200");
        var sequence = long.Parse((await faultedRow.GetAttributeAsync("data-sequence"))!, System.Globalization.CultureInfo.InvariantCulture);
        // Newest first: the call that went through comes right above the faulted one.
        var newer = page.Locator($"[data-testid=request-row][data-sequence='{sequence + 1}']");
        await Expect(newer).ToHaveAttributeAsync("data-code", "");
        await Expect(newer).ToHaveAttributeAsync("data-fault", "");

        // The filter by code keeps only the faulted call.
        var filter = page.Hook("requests-filter-form");
        await filter.SetAsync("code", "604");
        await filter.SubmitAsync();
        await Expect(page.Hook("request-row")).ToHaveCountAsync(1);

        await page.NavigateByAsync(() => faultedRow.Locator("a").First.ClickAsync());
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Request {sequence}");
        await Expect(page.Hook("request-detail")).ToContainTextAsync("/bulk/v1/activities/export/create.json");
        await Expect(page.Hook("request-detail")).ToContainTextAsync(ConsoleSession.ApiUserEmail);
        await Expect(page.Hook("request-detail")).ToContainTextAsync(ruleId!);
        await Expect(page.Hook("request-code")).ToHaveTextAsync("604");

        await page.OpenAsync(_console.SubscriptionUrl("/controls"));
        await page.Locator($"[data-testid=fault-row][data-rule-id='{ruleId}']").GetByTestId("fault-remove-form").SubmitAsync();
        await Expect(page.Hook("faults-empty")).ToBeVisibleAsync();
        Assert.Equal("Created", (await _console.Marketo.StatusAsync(exportId)).GetProperty("status").GetString());
        _console.AssertClean();
    }

    [Fact]
    public async Task A_refused_fault_rule_shows_the_admin_API_message_and_adds_nothing()
    {
        var page = _console.Wide;
        await page.OpenAsync(_console.SubscriptionUrl("/controls"));
        var add = page.Hook("fault-add-form");
        await add.SetAsync("kind", "http");
        await add.SubmitAsync();

        await Expect(page.Hook("form-error")).ToBeVisibleAsync();
        await Expect(page.Hook("form-error")).ToHaveAttributeAsync("role", "alert");
        await Expect(page.Hook("fault-row")).ToHaveCountAsync(0);
        await PageChecks.AssertAccessibleAsync(page);
        _console.AssertClean();
    }

    [Fact]
    public async Task Moving_the_clock_on_the_controls_page_moves_the_subscription_now_and_back()
    {
        var page = _console.Wide;
        var set = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await page.OpenAsync(_console.SubscriptionUrl("/controls"));

        var clock = page.Hook("clock-set-form");
        await clock.SetAsync("now", "2030-01-02T03:04:05Z");
        await clock.SubmitAsync();
        AssertShortlyAfter(set, await page.Locator("main [data-testid=clock-value]").TimeAsync());
        AssertShortlyAfter(set, await _console.Server.Controls.GetNowAsync());

        var advance = page.Hook("clock-advance-form");
        await advance.SetAsync("advanceSeconds", "86400");
        await advance.SubmitAsync();
        AssertShortlyAfter(set.AddDays(1), await page.Locator("main [data-testid=clock-value]").TimeAsync());

        // The overview and the Marketo API run on the same moved clock.
        await page.OpenAsync(_console.SubscriptionUrl());
        AssertShortlyAfter(set.AddDays(1), await page.Locator("main [data-testid=clock-value]").TimeAsync());
        AssertShortlyAfter(set.AddDays(1), await _console.Server.Controls.GetNowAsync());

        await page.OpenAsync(_console.SubscriptionUrl("/controls"));
        await page.Hook("clock-reset-form").SubmitAsync();
        AssertShortlyAfter(DateTimeOffset.UtcNow.AddMinutes(-5), await page.Locator("main [data-testid=clock-value]").TimeAsync());
        _console.AssertClean();
    }

    /// <summary>The clock runs on after it is set: it reads the moment set, or a little later, never earlier.</summary>
    private static void AssertShortlyAfter(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.True(actual >= expected.AddSeconds(-1) && actual <= expected.AddMinutes(10), $"expected {expected:O} or shortly after, saw {actual:O}");
}
