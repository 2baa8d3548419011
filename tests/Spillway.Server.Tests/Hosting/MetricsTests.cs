using System.Globalization;
using System.Text.RegularExpressions;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Hosting;

/// <summary>
/// /metrics in the Prometheus text format: scraped before and after a real export and a refused call, every figure the
/// page promises moved by what happened (API calls by Marketo code and their latency, rows and bytes written, jobs by
/// state, quota used by the subscription).
/// </summary>
public abstract partial class MetricsTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    // Label values may hold braces themselves (route patterns such as {exportId}): the labels run to the last "} ".
    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>.*)\})? (?<value>\S+)$")]
    private static partial Regex SampleLine();

    /// <summary>The samples of one scrape: name{labels} → value.</summary>
    private static async Task<Dictionary<string, double>> ScrapeAsync(SpillwayTestServer server)
    {
        using var response = await server.Http.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP|TYPE) [a-z_]+ ", line);
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, "not a sample line: " + line);
            var key = match.Groups["name"].Value + (match.Groups["labels"].Success ? "{" + match.Groups["labels"].Value + "}" : "");
            samples[key] = match.Groups["value"].Value == "+Inf" ? double.PositiveInfinity : double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        }

        return samples;
    }

    private static double Sum(Dictionary<string, double> samples, string name, params string[] labels) =>
        samples.Where(s => (s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal)) && labels.All(l => s.Key.Contains(l, StringComparison.Ordinal)))
            .Sum(s => s.Value);

    [Fact]
    public async Task A_real_export_and_a_refused_call_move_every_figure()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", "{}", null),
            new ActivityRecord(101, 7, Day.AddHours(2), 12, null, 7, null, "{}", null),
            new ActivityRecord(102, 7, Day.AddHours(3), 1, 55, 9, "page", "{}", null));
        var before = await ScrapeAsync(server);

        using var client = await server.AuthorizedClientAsync();
        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        using var refused = new HttpClient { BaseAddress = server.BaseAddress };
        refused.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-a-token");
        await Marketo.ErrorAsync(await refused.GetAsync("/bulk/v1/activities/export.json"), "601");
        var after = await ScrapeAsync(server);

        // Rows, bytes and files of the completed export, by kind.
        Assert.Equal(3, Sum(after, "spillway_export_rows_total", "kind=\"activities\"") - Sum(before, "spillway_export_rows_total", "kind=\"activities\""));
        Assert.Equal(file.Length, Sum(after, "spillway_export_bytes_total", "kind=\"activities\"") - Sum(before, "spillway_export_bytes_total", "kind=\"activities\""));
        Assert.Equal(1, Sum(after, "spillway_export_files_total") - Sum(before, "spillway_export_files_total"));
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Length);

        // Jobs by state: every state is listed, and the completed job is counted.
        foreach (var state in new[] { "Created", "Queued", "Processing", "Completed", "Failed", "Cancelled" })
        {
            Assert.True(after.ContainsKey($"spillway_export_jobs{{state=\"{state}\"}}"), state + " missing");
        }

        Assert.Equal(1, after["spillway_export_jobs{state=\"Completed\"}"] - before["spillway_export_jobs{state=\"Completed\"}"]);

        // Quota used today by the subscription: the file's bytes (the export's clock is the server's, its quota day today).
        var quotaKey = $"spillway_quota_used_bytes{{subscription=\"{SpillwayTestServer.MunchkinId}\"}}";
        Assert.Equal(file.Length, after[quotaKey] - before.GetValueOrDefault(quotaKey));

        // API calls: successes without a code, the refused token under code 601, and a latency sample for each call.
        Assert.True(Sum(after, "spillway_api_calls_total", "code=\"601\"") >= 1);
        Assert.Equal(0, Sum(before, "spillway_api_calls_total", "code=\"601\""));
        var createCalls = Sum(after, "spillway_api_calls_total", "endpoint=\"/bulk/v1/activities/export/create.json\"", "status=\"200\"");
        Assert.True(createCalls >= 1, "the create call is not counted");
        Assert.True(Sum(after, "spillway_api_calls_total") > Sum(before, "spillway_api_calls_total"));
        Assert.Equal(Sum(after, "spillway_api_calls_total"), Sum(after, "spillway_api_call_duration_seconds_count"));
        Assert.Equal(Sum(after, "spillway_api_call_duration_seconds_count"), Sum(after, "spillway_api_call_duration_seconds_bucket", "le=\"+Inf\""));
        Assert.True(Sum(after, "spillway_api_call_duration_seconds_sum") > 0);

        // The scrape and the admin API are not Marketo API calls.
        var scrapes = await ScrapeAsync(server);
        Assert.DoesNotContain(scrapes.Keys, k => k.Contains("/metrics", StringComparison.Ordinal) || k.Contains("_spillway", StringComparison.Ordinal));
    }
}

public sealed class MetricsTests_Embedded : MetricsTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class MetricsTests_Postgres : MetricsTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
