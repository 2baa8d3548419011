using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

/// <summary>
/// Issue 6's second ingest figure: <c>POST /rest/v1/activities/external.json</c> in batches of 300 (Marketo's maximum)
/// from a few concurrent clients, each a full call (token, limits, per-record validation, one atomic append). It runs
/// in a subscription of its own, reset afterwards, so the cached export data set is left as it was.
/// </summary>
internal sealed partial class BenchServer
{
    private const string IngestMunchkin = "998-ING-998";
    private const string IngestSecret = "ingest-secret-0123456789";

    public async Task<SuiteRows> ExternalIngestAsync(bool quick, int clients = 4, double? duration = null)
    {
        const int batch = 300;
        var seconds = duration ?? (quick ? 3.0 : 10.0);
        using var api = await IngestClientAsync();
        var typeId = await ApprovedTypeAsync(api);

        var bodies = Enumerable.Range(0, 16).Select(b => Body(typeId, b, batch)).ToArray();
        var latencies = new List<double>();
        long added = 0, errors = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = new List<double>();
            for (var i = c; watch.Elapsed.TotalSeconds < seconds; i += clients)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new StringContent(bodies[i % bodies.Length], Encoding.UTF8, "application/json");
                using var response = await api.PostAsync("/rest/v1/activities/external.json", content);
                using var envelope = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!envelope.RootElement.GetProperty("success").GetBoolean())
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                var ok = envelope.RootElement.GetProperty("result").EnumerateArray().Count(r => r.GetProperty("status").GetString() == "added");
                Interlocked.Add(ref added, ok);
                Interlocked.Add(ref errors, batch - ok);
            }

            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        })));
        var elapsed = watch.Elapsed.TotalSeconds;
        latencies.Sort();
        (await _admin.PostAsync($"/_spillway/admin/subscriptions/{IngestMunchkin}/reset", null)).EnsureSuccessStatusCode();
        return new SuiteRows(_kind, "ingest", $"POST /rest/v1/activities/external.json, batches of {batch}, {clients} concurrent clients for {seconds:F0} s",
            $"{added / elapsed:N0} activities/s ({latencies.Count / elapsed:N0} calls/s); call p50 {Pct(latencies, 0.50):F1} ms; p99 {Pct(latencies, 0.99):F1} ms; records not added {errors}");
    }

    /// <summary>The ingest subscription and its API user (may manage types and add activities), limits lifted; a token.</summary>
    private async Task<HttpClient> IngestClientAsync()
    {
        // Both may exist from an earlier run over the same cached data set.
        await _admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = IngestMunchkin });
        await _admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{IngestMunchkin}/users", new
        {
            email = "ingest@example.com",
            permissions = new[] { "Read-Write Activity", "Read-Write Activity Metadata" },
            clientId = "ingest",
            clientSecret = IngestSecret,
        });
        (await _admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{IngestMunchkin}/limits", new
        {
            rateLimitCalls = 1_000_000,
            concurrentCalls = 100,
            dailyCallQuota = 100_000_000,
            dailyExportQuotaMegabytes = 1_000_000,
        })).EnsureSuccessStatusCode();
        var api = new HttpClient { BaseAddress = _admin.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        using var token = JsonDocument.Parse(await api.GetStringAsync($"/identity/oauth/token?grant_type=client_credentials&client_id=ingest&client_secret={IngestSecret}"));
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("access_token").GetString());
        return api;
    }

    /// <summary>A custom activity type with five typed attributes, approved; reused when it exists.</summary>
    private static async Task<int> ApprovedTypeAsync(HttpClient api)
    {
        await api.PostAsync("/rest/v1/activities/external/type.json", Json("""
            {"apiName":"benchWebinar","name":"Bench Webinar","triggerName":"Attends Bench Webinar","filterName":"Attended Bench Webinar",
             "primaryAttribute":{"apiName":"webinarName","name":"Webinar Name"}}
            """));
        await api.PostAsync("/rest/v1/activities/external/type/benchWebinar/attributes/create.json", Json("""
            {"attributes":[{"apiName":"webinarDate","name":"Webinar Date","dataType":"datetime"},
                           {"apiName":"minutesWatched","name":"Minutes Watched","dataType":"integer"},
                           {"apiName":"price","name":"Price","dataType":"currency"},
                           {"apiName":"askedQuestion","name":"Asked Question","dataType":"boolean"},
                           {"apiName":"notes","name":"Notes","dataType":"text"}]}
            """));
        await api.PostAsync("/rest/v1/activities/external/type/benchWebinar/approve.json", null);
        using var described = JsonDocument.Parse(await api.GetStringAsync("/rest/v1/activities/external/type/benchWebinar/describe.json"));
        return described.RootElement.GetProperty("result")[0].GetProperty("id").GetInt32();
    }

    /// <summary>A batch of realistic records (quotes, commas, non-ASCII in the text), dated in 2001, outside every export window.</summary>
    private static string Body(int typeId, int variant, int count)
    {
        var text = new StringBuilder("{\"input\":[");
        for (var i = 0; i < count; i++)
        {
            var n = (variant * count) + i;
            text.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""
                {"leadId":{{1_000 + (n % 50_000)}},"activityDate":"2001-0{{1 + (n % 9)}}-1{{n % 10}}T0{{n % 10}}:1{{n % 6}}:2{{n % 10}}Z","activityTypeId":{{typeId}},
                 "primaryAttributeValue":"Webinar \"Spring {{n % 12}}\" – Zürich, 東京",
                 "attributes":[{"apiName":"webinarDate","value":"2001-04-0{{1 + (n % 9)}}T09:00:00-05:00"},{"apiName":"minutesWatched","value":{{n % 90}}},
                               {"apiName":"price","value":"{{n % 100}}.50"},{"apiName":"askedQuestion","value":{{(n % 2 == 0 ? "true" : "false")}}},
                               {"apiName":"notes","value":"line one\nline \"two\", with a comma"}]}
                """);
        }

        return text.Append("]}").ToString();
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}

/// <summary>
/// <c>external</c>: the external.json ingest alone, repeated, with a chosen number of clients (issue 16 asks for 8).
/// Usage: external [--store embedded|postgres] [--clients 8] [--seconds 10] [--runs 3]
/// </summary>
internal static class ExternalIngestCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var kind = SuiteBench.Arg(args, "--store") ?? "embedded";
        var clients = int.Parse(SuiteBench.Arg(args, "--clients") ?? "8", CultureInfo.InvariantCulture);
        var seconds = double.Parse(SuiteBench.Arg(args, "--seconds") ?? "10", CultureInfo.InvariantCulture);
        var runs = int.Parse(SuiteBench.Arg(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        var root = SuiteBench.RepoRoot();
        var bench = Path.Combine(root, ".bench", "suite");
        Directory.CreateDirectory(bench);
        Console.WriteLine($"external: {kind}, {clients} clients, batches of 300, {seconds} s, {runs} run(s); commit {SuiteBench.Git("rev-parse --short HEAD")}; load {SuiteBench.LoadAverage()}");
        PgCluster? pg = kind == "postgres" ? PgCluster.Start(root, Path.Combine(bench, "pg")) : null;
        try
        {
            await using var server = await BenchServer.StartAsync(kind, bench, 30_000, pg);
            await server.EnsureSeededAsync(30_000, main: false);
            for (var run = 0; run < runs; run++)
            {
                var row = await server.ExternalIngestAsync(quick: false, clients, seconds);
                Console.WriteLine($"  run {run + 1}: {row.Value}; load {SuiteBench.LoadAverage()}");
            }
        }
        finally
        {
            pg?.Stop();
        }

        return 0;
    }
}
