using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

/// <summary>
/// The fixed cost of a job: sequential small exports (one window of a small embedded store) on a server process with
/// the default worker settings, each timed from the enqueue call to the status call that first sees Completed (polling
/// every 5 ms). On a small window the export itself takes milliseconds, so the figure is the claim, start, flush,
/// completion and the wake-up of the worker.
/// </summary>
internal static class JobCostBench
{
    private const string Munchkin = "777-JOB-777";

    public static async Task<int> RunAsync(string[] args)
    {
        var jobs = Option(args, "--jobs", 15);
        var rows = Option(args, "--rows", 30_000);
        var data = Path.Combine(Path.GetTempPath(), "spillway-jobcost-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        Console.WriteLine($"jobcost: {jobs} sequential exports of a 31-day window of {rows:N0} activities (default worker settings)");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}");
        var port = ExportBench.FreePort();
        var server = ExportBench.StartServer(data, port);
        try
        {
            using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", ExportBench.Key);
            await ExportBench.WaitHealthyAsync(admin);
            await ExportBench.CreateBenchSubscriptionAsync(admin, Munchkin, "jobcost");
            (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/seed", new { activities = rows, daysBack = 31, seed = 7 })).EnsureSuccessStatusCode();
            using var api = await ExportBench.ApiClientAsync(admin.BaseAddress!, "jobcost");

            var end = DateTimeOffset.UtcNow.AddMinutes(1);
            var filter = new { createdAt = new { startAt = end.AddDays(-31).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), endAt = end.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) } };
            var times = new List<double>();
            long exported = 0;
            for (var i = 0; i < jobs; i++)
            {
                using var created = JsonDocument.Parse(await (await api.PostAsJsonAsync("/bulk/v1/activities/export/create.json", new { filter })).Content.ReadAsStringAsync());
                var id = created.RootElement.GetProperty("result")[0].GetProperty("exportId").GetString();
                var watch = Stopwatch.StartNew();
                (await api.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null)).EnsureSuccessStatusCode();
                while (true)
                {
                    using var status = JsonDocument.Parse(await api.GetStringAsync($"/bulk/v1/activities/export/{id}/status.json"));
                    var job = status.RootElement.GetProperty("result")[0];
                    var state = job.GetProperty("status").GetString();
                    if (state is "Completed" or "Failed")
                    {
                        exported = state == "Completed" ? job.GetProperty("numberOfRecords").GetInt64() : throw new InvalidOperationException($"Export failed: {job}");
                        break;
                    }

                    await Task.Delay(5);
                }

                times.Add(watch.Elapsed.TotalMilliseconds);
            }

            var first = times[0];
            times.Sort();
            Console.WriteLine($"{exported:N0} rows a job; enqueue to Completed: first job {first:F0} ms; all {jobs}: min {times[0]:F0} ms, median {times[times.Count / 2]:F0} ms, max {times[^1]:F0} ms");
            Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
            return 0;
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
