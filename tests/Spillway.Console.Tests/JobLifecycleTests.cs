using System.Globalization;
using Spillway.Console.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Spillway.Console.Tests;

/// <summary>
/// An export created and enqueued through the Marketo API, seen moving through its states on the console's jobs
/// page (the page refreshes itself), moved by hand from the job's page, and counted by the overview's quota meter.
/// </summary>
public abstract class JobLifecycleTests<TSession> : IClassFixture<TSession> where TSession : ConsoleSession
{
    private readonly TSession _console;

    protected JobLifecycleTests(TSession console)
    {
        _console = console;
        _console.ClearProblems();
    }

    [Fact]
    public async Task An_API_export_moves_through_the_states_on_the_jobs_page_and_fills_the_quota_meter()
    {
        var page = _console.Wide;
        await page.OpenAsync(_console.SubscriptionUrl());
        await Expect(page.Hook("quota-meter")).ToHaveAttributeAsync("data-used-bytes", "0");
        await Expect(page.Locator("[data-testid=job-count][data-status=Completed]")).ToHaveAttributeAsync("data-count", "0");

        // Manual progression, set on the controls page: each state stays until the job is moved, so each can be seen.
        await page.OpenAsync(_console.SubscriptionUrl("/controls"));
        var progression = page.Hook("progression-form");
        await progression.SetAsync("mode", "Manual");
        await progression.SubmitAsync();
        await Expect(page.Hook("progression-mode")).ToHaveAttributeAsync("data-mode", "Manual");

        await page.OpenAsync(_console.SubscriptionUrl("/jobs"));
        var exportId = await _console.Marketo.CreateExportAsync(await _console.Server.Controls.GetNowAsync());
        var row = page.Locator($"[data-testid=job-row][data-export-id='{exportId}']");
        // No reload from here on: the jobs page shows the API's changes by itself.
        await Expect(row).ToHaveAttributeAsync("data-status", "Created");
        Assert.Equal("Queued", (await _console.Marketo.EnqueueAsync(exportId)).GetProperty("status").GetString());
        await Expect(row).ToHaveAttributeAsync("data-status", "Queued");

        await page.NavigateByAsync(() => row.Locator("a").First.ClickAsync());
        Assert.Equal(_console.SubscriptionUrl("/jobs/" + exportId), page.Url);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Job " + exportId);
        await Expect(page.Hook("job-status")).ToHaveAttributeAsync("data-status", "Queued");
        await Expect(page.Hook("job-download")).ToHaveCountAsync(0);

        await page.Hook("job-start-form").SubmitAsync();
        await Expect(page.Hook("job-status")).ToHaveAttributeAsync("data-status", "Processing");
        Assert.Equal("Processing", (await _console.Marketo.StatusAsync(exportId)).GetProperty("status").GetString());
        await Expect(page.Hook("job-start-form")).ToHaveCountAsync(0);

        await page.Hook("job-complete-form").SubmitAsync();
        await Expect(page.Hook("job-status")).ToHaveAttributeAsync("data-status", "Completed");
        var status = await _console.Marketo.StatusAsync(exportId);
        Assert.Equal("Completed", status.GetProperty("status").GetString());
        var fileSize = status.GetProperty("fileSize").GetInt64();
        Assert.True(fileSize > 0);
        await Expect(page.Hook("job-rows")).ToHaveTextAsync(status.GetProperty("numberOfRecords").GetInt64().ToString("N0", CultureInfo.InvariantCulture));
        await Expect(page.Hook("job-finished")).ToHaveAttributeAsync("datetime", new System.Text.RegularExpressions.Regex("^\\d{4}-\\d\\d-\\d\\dT"));

        // The download link serves the very file the API serves, with the session's cookie.
        var href = await page.Hook("job-download").GetAttributeAsync("href");
        Assert.NotNull(href);
        var download = await page.Context.APIRequest.GetAsync(new Uri(new Uri(page.Url), href).ToString());
        Assert.Equal(200, download.Status);
        Assert.Equal(fileSize, (await download.BodyAsync()).LongLength);

        await page.OpenAsync(_console.SubscriptionUrl("/jobs"));
        await Expect(row).ToHaveAttributeAsync("data-status", "Completed");

        await page.OpenAsync(_console.SubscriptionUrl());
        await Expect(page.Hook("quota-meter")).ToHaveAttributeAsync("data-used-bytes", fileSize.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator("[data-testid=job-count][data-status=Completed]")).ToHaveAttributeAsync("data-count", "1");
        await Expect(page.Hook("queue-processing")).ToHaveAttributeAsync("data-count", "0");
        _console.AssertClean();
    }
}

/// <summary>The flow on the embedded store.</summary>
public sealed class JobLifecycleOnEmbeddedTests(EmbeddedSession console) : JobLifecycleTests<EmbeddedSession>(console);

/// <summary>The flow on PostgreSQL (the cluster scripts/test.sh starts).</summary>
public sealed class JobLifecycleOnPostgresTests(PostgresSession console) : JobLifecycleTests<PostgresSession>(console);
