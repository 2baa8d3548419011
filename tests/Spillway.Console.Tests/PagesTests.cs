using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Playwright;
using Spillway.Console.Tests.Infrastructure;
using Spillway.Server.Activities.Catalog;
using Spillway.Testing;
using static Microsoft.Playwright.Assertions;

namespace Spillway.Console.Tests;

/// <summary>
/// A subscription with something on every page: seeded activities, a completed export, a faulted call and a
/// successful one in the request log, a fault rule in place.
/// </summary>
public sealed class PopulatedSession : ConsoleSession
{
    public string ExportId { get; private set; } = "";

    /// <summary>The request log's sequence number of the faulted call.</summary>
    public long FaultedSequence { get; private set; }

    protected override async Task PrepareAsync()
    {
        ExportId = await Marketo.CreateExportAsync(await Server.Controls.GetNowAsync());
        await Marketo.EnqueueAsync(ExportId);
        for (var polls = 0; (await Marketo.StatusAsync(ExportId)).GetProperty("status").GetString() != "Completed"; polls++)
        {
            Assert.True(polls < 300, "the export did not complete");
            await Task.Delay(100);
        }

        await Server.Controls.AddFaultAsync(FaultRule.Error("604") with { Endpoint = "status", Count = 1 });
        Assert.Equal("604", MarketoApi.ErrorCode(await Marketo.CallAsync(HttpMethod.Get, $"bulk/v1/activities/export/{ExportId}/status.json")));
        await Marketo.StatusAsync(ExportId);
        var faulted = (await Server.Controls.GetRequestLogAsync()).Single(c => c.Code == "604");
        FaultedSequence = faulted.Sequence;
        Assert.Null(faulted.RequestBody); // a GET
        Assert.Contains("\"code\":\"604\"", faulted.ResponseBody, StringComparison.Ordinal);
        await Server.Controls.AddFaultAsync(FaultRule.Latency(TimeSpan.FromMilliseconds(250)) with { Endpoint = "cancel" });

        // Leads, so the lists and programs pages show members (seeding them derives list and program membership).
        using var admin = Server.CreateAdminClient();
        using var seeded = await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{MunchkinId}/seed", new { activities = 2_000, daysBack = 3, seed = 2, leads = 300 });
        seeded.EnsureSuccessStatusCode();
    }
}

/// <summary>
/// Every page of the console, at 1280 px and at 390 px: the heading it promises, no axe violation, no sideways
/// scrolling, and the screenshots in docs/console.md (written when <c>SPILLWAY_SCREENSHOTS=1</c>).
/// </summary>
public sealed class PagesTests : IClassFixture<PopulatedSession>
{
    private readonly PopulatedSession _console;

    public PagesTests(PopulatedSession console)
    {
        _console = console;
        _console.ClearProblems();
    }

    public static TheoryData<string> Pages =>
        ["sign-in", "subscriptions", "overview", "jobs", "job", "requests", "request", "controls", "data", "activities", "leads", "lists", "list", "programs",
            "program", "not-found"];

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task The_page_passes_axe_and_fits_1280_and_390_px(string name)
    {
        var (url, heading, status) = Describe(name);
        foreach (var width in new[] { ConsoleSession.WideWidth, ConsoleSession.NarrowWidth })
        {
            var page = name == "sign-in"
                ? await _console.NewPageAsync(width, 844)
                : width == ConsoleSession.WideWidth ? _console.Wide : _console.Narrow;
            await page.OpenAsync(url, status);

            await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
            await Expect(page.Locator("main#main")).ToHaveCountAsync(1);
            // The picture is of the page as it is, taken before the checks so a failing page can be seen too.
            if (width == ConsoleSession.WideWidth)
            {
                await PageChecks.ScreenshotAsync(page, name);
            }
            else if (name == "overview")
            {
                await PageChecks.ScreenshotAsync(page, "overview-390");
            }

            await PageChecks.AssertAccessibleAsync(page);
            await PageChecks.AssertFitsWidthAsync(page);
        }

        _console.AssertClean();
    }

    [Fact]
    public async Task The_navigation_reaches_every_section_of_a_subscription_at_390_px()
    {
        var page = _console.Narrow;
        await page.OpenAsync(_console.SubscriptionUrl());
        var m = ConsoleSession.MunchkinId;
        (string Link, string Heading)[] sections =
        [
            ("nav-jobs", $"Jobs of {m}"), ("nav-requests", $"Request log of {m}"), ("nav-controls", $"Controls of {m}"),
            ("nav-data", $"Data of {m}"), ("nav-activities", $"Activities of {m}"), ("nav-leads", $"Leads of {m}"),
            ("nav-lists", $"Lists of {m}"), ("nav-programs", $"Programs of {m}"),
            ("nav-overview", $"Overview of {m}"), ("nav-subscriptions", "Subscriptions"),
        ];
        foreach (var (link, heading) in sections)
        {
            var nav = page.Hook("console-nav").GetByTestId(link);
            await Expect(nav).ToBeInViewportAsync();
            await page.NavigateByAsync(() => nav.ClickAsync());

            await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
            if (link != "nav-subscriptions")
            {
                await Expect(page.Hook("console-nav").GetByTestId(link)).ToHaveAttributeAsync("aria-current", "page");
            }
        }

        _console.AssertClean();
    }

    [Fact]
    public async Task The_accessibility_check_runs_the_WCAG_A_and_AA_rules_and_the_best_practices()
    {
        var page = _console.Wide;
        await page.OpenAsync(_console.SubscriptionUrl());

        var rules = await PageChecks.RulesCheckedAsync(page);

        var ids = rules.Select(r => r.RuleId).ToHashSet();
        foreach (var rule in new[] { "color-contrast", "label", "html-has-lang", "document-title", "landmark-one-main", "page-has-heading-one",
            "region", "target-size", "meta-viewport", "button-name", "link-name", "skip-link", "th-has-data-cells" })
        {
            Assert.Contains(rule, ids);
        }

        if (PageChecks.ScreenshotsWanted)
        {
            var list = new StringBuilder($"# The axe-core rules run on every console page at 1280 and 390 px (tags {string.Join(", ", PageChecks.AxeTags)})\n\n");
            foreach (var rule in rules)
            {
                list.Append(CultureInfo.InvariantCulture, $"{rule.RuleId}: {rule.Help}\n");
            }

            Directory.CreateDirectory(PageChecks.ImagesFolder);
            await File.WriteAllTextAsync(Path.Combine(PageChecks.ImagesFolder, "axe-rules.txt"), list.ToString());
        }

        _console.AssertClean();
    }

    private static string Inv(long value) => value.ToString(CultureInfo.InvariantCulture);

    private (string Url, string Heading, int Status) Describe(string name)
    {
        var m = ConsoleSession.MunchkinId;
        return name switch
        {
            "sign-in" => (_console.Url("/sign-in"), "Sign in", 200),
            "subscriptions" => (_console.Url(""), "Subscriptions", 200),
            "overview" => (_console.SubscriptionUrl(), $"Overview of {m}", 200),
            "jobs" => (_console.SubscriptionUrl("/jobs"), $"Jobs of {m}", 200),
            "job" => (_console.SubscriptionUrl("/jobs/" + _console.ExportId), "Job " + _console.ExportId, 200),
            "requests" => (_console.SubscriptionUrl("/requests"), $"Request log of {m}", 200),
            "request" => (_console.SubscriptionUrl("/requests/" + _console.FaultedSequence.ToString(CultureInfo.InvariantCulture)),
                "Request " + _console.FaultedSequence.ToString(CultureInfo.InvariantCulture), 200),
            "controls" => (_console.SubscriptionUrl("/controls"), $"Controls of {m}", 200),
            "data" => (_console.SubscriptionUrl("/data"), $"Data of {m}", 200),
            "activities" => (_console.SubscriptionUrl("/activities"), $"Activities of {m}", 200),
            "leads" => (_console.SubscriptionUrl("/leads"), $"Leads of {m}", 200),
            "lists" => (_console.SubscriptionUrl("/lists"), $"Lists of {m}", 200),
            "list" => (_console.SubscriptionUrl($"/lists/{Inv(MarketingWorld.StaticListsToSeed[0].Id)}"), $"List {Inv(MarketingWorld.StaticListsToSeed[0].Id)} of {m}", 200),
            "programs" => (_console.SubscriptionUrl("/programs"), $"Programs of {m}", 200),
            "program" => (_console.SubscriptionUrl($"/programs/{Inv(MarketingWorld.Programs[0].Id)}"), $"Program {Inv(MarketingWorld.Programs[0].Id)} of {m}", 200),
            "not-found" => (_console.Url("/subscriptions/999-ZZZ-999"), "Not found", 404),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a console page"),
        };
    }
}
