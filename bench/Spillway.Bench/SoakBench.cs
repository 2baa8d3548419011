using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

/// <summary>
/// The soak run (issue 7): an embedded-store server as its own process on loopback, 4 subscriptions with 4 API users
/// each, and many clients looping the whole flow (token, create, enqueue, poll, download and verify, sometimes cancel)
/// for a bounded time and request count. Every 10 s it prints requests, errors, latency percentiles and the server's
/// RSS; at the end, totals and whether memory stayed flat. Usage: <c>soak [--minutes 3] [--clients 16] [--max-requests 2000000]</c>.
/// </summary>
internal static class SoakBench
{
    private const string Key = "soak-admin-key";
    private static readonly string[] Subscriptions = ["101-SOA-101", "202-SOA-202", "303-SOA-303", "404-SOA-404"];

    public static async Task<int> RunAsync(string[] args)
    {
        double Arg(string name, double fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }

        var minutes = Math.Clamp(Arg("--minutes", 3), 0.1, 120);
        var clients = (int)Math.Clamp(Arg("--clients", 16), 1, 256);
        var maxRequests = (long)Math.Clamp(Arg("--max-requests", 2_000_000), 100, 100_000_000);
        var data = Path.Combine(Path.GetTempPath(), "spillway-soak-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"soak: {minutes} min, {clients} clients, at most {maxRequests:N0} requests, loopback, data in {data}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        var port = ExportBench.FreePort();
        var server = ExportBench.StartServer(data, port, Key);
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        try
        {
            using var admin = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(10) };
            admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", Key);
            await ExportBench.WaitHealthyAsync(admin);
            var credentials = new List<(string ClientId, string Secret)>();
            foreach (var munchkin in Subscriptions)
            {
                (await admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = munchkin })).EnsureSuccessStatusCode();
                // Marketo's call limits would throttle a soak into measuring 606; lift them (the export quota too).
                (await admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/limits",
                    new { rateLimitCalls = 10_000_000, concurrentCalls = 1000, dailyCallQuota = 1_000_000_000, dailyExportQuotaMegabytes = 10_000_000 })).EnsureSuccessStatusCode();
                (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/seed", new { activities = 50_000, daysBack = 10, seed = 5 })).EnsureSuccessStatusCode();
                for (var u = 0; u < 4; u++)
                {
                    var clientId = $"soak-{munchkin}-{u}";
                    const string Secret = "soak-secret-0123456789";
                    (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/users",
                        new { email = $"u{u}@{munchkin}.example.com", permissions = new[] { "Read-Write Activity" }, clientId, clientSecret = Secret })).EnsureSuccessStatusCode();
                    credentials.Add((clientId, Secret));
                }
            }

            var stats = new Stats();
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
            var start = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, clients)
                .Select(i => Task.Run(() => ClientLoopAsync(baseAddress, credentials[i % credentials.Count], i, stats, maxRequests, stop)))
                .ToList();

            var samples = new List<(double Minutes, long Rss)>();
            Console.WriteLine("   t(s)  requests   req/s  errors  queue-full  exports  p50(ms)  p99(ms)  max(ms)  server RSS(MB)");
            var lastCount = 0L;
            while (!stop.IsCancellationRequested && workers.Any(w => !w.IsCompleted))
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), stop.Token);
                }
                catch (OperationCanceledException)
                {
                }

                var latencies = stats.TakeLatencies();
                var rss = ExportBench.Rss(server);
                samples.Add((start.Elapsed.TotalMinutes, rss));
                var count = Interlocked.Read(ref stats.Requests);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{start.Elapsed.TotalSeconds,7:F0} {count,9:N0} {(count - lastCount) / 10.0,7:F0} {stats.Errors,7} {stats.QueueFull,11} {stats.Exports,8} {Percentile(latencies, 0.5),8:F1} {Percentile(latencies, 0.99),8:F1} {Percentile(latencies, 1),8:F1} {rss / 1048576.0,15:F0}"));
                lastCount = count;
            }

            await stop.CancelAsync();
            await Task.WhenAll(workers);
            var all = stats.AllLatencies();
            var firstMinute = samples.Where(s => s.Minutes <= Math.Max(1, minutes / 3)).Select(s => s.Rss).DefaultIfEmpty(0).Max();
            var lastMinute = samples.Where(s => s.Minutes >= minutes * 2 / 3).Select(s => s.Rss).DefaultIfEmpty(0).Max();
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"total: {stats.Requests:N0} requests in {start.Elapsed.TotalSeconds:F0} s ({stats.Requests / start.Elapsed.TotalSeconds:F0}/s), {stats.Exports:N0} exports downloaded and verified, {stats.Cancels:N0} cancels ({stats.LateCancels:N0} too late: 1003, job already finished)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"errors: {stats.Errors} (HTTP 5xx, 611, unexpected codes, checksum mismatches, exceptions); backpressure 1029 Too many jobs in queue: {stats.QueueFull:N0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"latency over the run: p50 {Percentile(all, 0.5):F1} ms, p99 {Percentile(all, 0.99):F1} ms, p99.9 {Percentile(all, 0.999):F1} ms, max {Percentile(all, 1):F1} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server RSS: peak {firstMinute / 1048576.0:F0} MB in the first third, {lastMinute / 1048576.0:F0} MB in the last third"));
            foreach (var error in stats.Samples.Take(10))
            {
                Console.WriteLine("  error: " + error);
            }

            return stats.Errors == 0 ? 0 : 1;
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }

            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task ClientLoopAsync(Uri baseAddress, (string ClientId, string Secret) credential, int seed, Stats stats, long maxRequests,
        CancellationTokenSource stop)
    {
        var random = new Random(seed);
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var ct = stop.Token;

        async Task<JsonElement?> CallAsync(Func<Task<HttpResponseMessage>> send, string what)
        {
            if (Interlocked.Increment(ref stats.Requests) > maxRequests)
            {
                await stop.CancelAsync();
                return null;
            }

            var watch = Stopwatch.StartNew();
            using var response = await send();
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            stats.Record(watch.Elapsed.TotalMilliseconds);
            if ((int)response.StatusCode >= 500)
            {
                stats.Error($"{what}: HTTP {(int)response.StatusCode}");
                return null;
            }

            using var json = JsonDocument.Parse(body);
            var root = json.RootElement.Clone();
            if (root.TryGetProperty("success", out var success) && !success.GetBoolean())
            {
                var message = root.GetProperty("errors")[0].GetProperty("message").GetString();
                if (message == "Too many jobs in queue")
                {
                    Interlocked.Increment(ref stats.QueueFull);
                }
                else if (what == "cancel" && message is "Export job is Completed and cannot be cancelled" or "Export job is Failed and cannot be cancelled")
                {
                    // The job finished before the cancel arrived: the documented answer, not an error.
                    Interlocked.Increment(ref stats.LateCancels);
                }
                else
                {
                    stats.Error($"{what}: {root.GetProperty("errors")[0].GetProperty("code").GetString()} {message}");
                }

                return null;
            }

            return root;
        }

        try
        {
            var token = await CallAsync(() => http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={credential.ClientId}&client_secret={credential.Secret}", ct), "token");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token?.GetProperty("access_token").GetString());
            var end = DateTimeOffset.UtcNow;
            while (!ct.IsCancellationRequested)
            {
                var from = end.AddDays(-random.Next(1, 10)).AddHours(-random.Next(24));
                var to = from.AddHours(random.Next(1, 48));
                var body = "{\"filter\":{\"createdAt\":{\"startAt\":\"" + from.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)
                    + "\",\"endAt\":\"" + to.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + "\"}}}";
                var created = await CallAsync(() => http.PostAsync("/bulk/v1/activities/export/create.json", new StringContent(body, Encoding.UTF8, "application/json"), ct), "create");
                var id = created?.GetProperty("result")[0].GetProperty("exportId").GetString();
                if (id is null)
                {
                    continue;
                }

                JsonElement? enqueued = null;
                for (var attempt = 0; attempt < 50 && enqueued is null && !ct.IsCancellationRequested; attempt++)
                {
                    enqueued = await CallAsync(() => http.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null, ct), "enqueue");
                    if (enqueued is null)
                    {
                        await Task.Delay(random.Next(50, 250), ct);
                    }
                }

                if (random.Next(10) == 0)
                {
                    await CallAsync(() => http.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", null, ct), "cancel");
                    Interlocked.Increment(ref stats.Cancels);
                    continue;
                }

                JsonElement? job = null;
                while (!ct.IsCancellationRequested)
                {
                    job = (await CallAsync(() => http.GetAsync($"/bulk/v1/activities/export/{id}/status.json", ct), "status"))?.GetProperty("result")[0];
                    if (job?.GetProperty("status").GetString() is "Completed" or "Failed" or "Cancelled" or null)
                    {
                        break;
                    }

                    await Task.Delay(random.Next(20, 100), ct);
                }

                if (job?.GetProperty("status").GetString() != "Completed")
                {
                    continue;
                }

                if (Interlocked.Increment(ref stats.Requests) > maxRequests)
                {
                    await stop.CancelAsync();
                    break;
                }

                var watch = Stopwatch.StartNew();
                var file = await http.GetByteArrayAsync($"/bulk/v1/activities/export/{id}/file.json", ct);
                stats.Record(watch.Elapsed.TotalMilliseconds);
                if ("sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)) != job.Value.GetProperty("fileChecksum").GetString())
                {
                    stats.Error($"file {id}: checksum mismatch");
                }
                else
                {
                    Interlocked.Increment(ref stats.Exports);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            stats.Error($"client {seed}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        values.Sort();
        return values[Math.Clamp((int)Math.Ceiling(p * values.Count) - 1, 0, values.Count - 1)];
    }

    private sealed class Stats
    {
        public long Requests;
        public long Errors;
        public long QueueFull;
        public long Exports;
        public long Cancels;
        public long LateCancels;
        public readonly ConcurrentQueue<string> Samples = new();
        private readonly object _gate = new();
        private List<double> _window = [];
        private readonly List<double> _all = [];

        public void Record(double ms)
        {
            lock (_gate)
            {
                _window.Add(ms);
                if (_all.Count < 20_000_000)
                {
                    _all.Add(ms);
                }
            }
        }

        public List<double> TakeLatencies()
        {
            lock (_gate)
            {
                var taken = _window;
                _window = [];
                return taken;
            }
        }

        public List<double> AllLatencies()
        {
            lock (_gate)
            {
                return [.. _all];
            }
        }

        public void Error(string what)
        {
            Interlocked.Increment(ref Errors);
            if (Samples.Count < 50)
            {
                Samples.Enqueue(what);
            }
        }
    }

}
