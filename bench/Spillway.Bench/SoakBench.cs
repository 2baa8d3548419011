using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

/// <summary>
/// The soak run: a server as its own process on loopback (embedded store, or a private PostgreSQL), 4 subscriptions
/// with 4 API users each, many clients looping the whole export flow (token, create, enqueue, poll, download and
/// verify, sometimes cancel), clients adding activities through external.json, each adding 300 a second, and fault rules on one subscription
/// (a 503 on 2% of its status polls, 50 ms more on 5% of its calls), for a bounded time and request count. Every 10 s
/// it prints requests, errors, latency percentiles, the server's RSS, open file descriptors and threads; at the end,
/// totals and whether memory and handles stayed flat.
/// Usage: <c>soak [--store embedded|postgres] [--minutes 3] [--clients 16] [--ingest-clients 2] [--max-requests 2000000]</c>.
/// </summary>
internal static class SoakBench
{
    private const string Key = "soak-admin-key";
    private static readonly string[] Subscriptions = ["101-SOA-101", "202-SOA-202", "303-SOA-303", "404-SOA-404"];

    /// <summary>The subscription whose calls the fault rules hit.</summary>
    private const string Faulted = "404-SOA-404";

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
        var ingestClients = (int)Math.Clamp(Arg("--ingest-clients", 2), 0, 64);
        var store = SuiteBench.Arg(args, "--store") ?? "embedded";
        if (store is not ("embedded" or "postgres"))
        {
            Console.Error.WriteLine("--store is embedded or postgres");
            return 2;
        }

        var data = Path.Combine(Path.GetTempPath(), "spillway-soak-" + Guid.NewGuid().ToString("N")[..8]);
        Console.WriteLine($"soak: {store}, {minutes} min, {clients} export clients, {ingestClients} ingest clients, at most {maxRequests:N0} requests, loopback, commit {SuiteBench.Git("rev-parse --short HEAD")}, {SuiteBench.LoadAverage()}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        var root = SuiteBench.RepoRoot();
        var pgDir = Path.Combine(root, ".bench", $"soak-pg-{Environment.ProcessId}");
        PgCluster? pg = null;
        var settings = new List<string>();
        if (store == "postgres")
        {
            pg = PgCluster.Start(root, pgDir);
            pg.RecreateDatabase("soak");
            settings.Add("--Spillway:Provider=Postgres");
            settings.Add($"--Spillway:ConnectionString={pg.ConnectionString("soak")}");
        }

        var port = ExportBench.FreePort();
        var server = ExportBench.StartServer(data, port, Key, [.. settings]);
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
                        new { email = $"u{u}@{munchkin}.example.com", permissions = new[] { "Read-Write Activity", "Read-Write Activity Metadata", "Read-Write Lead" }, clientId, clientSecret = Secret })).EnsureSuccessStatusCode();
                    credentials.Add((clientId, Secret));
                }
            }

            // The fault rules: the clients of the faulted subscription must ride out a 503 and added latency.
            (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Faulted}/faults",
                new { kind = "http", status = 503, endpoint = "status", probability = 0.02, seed = 7 })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Faulted}/faults",
                new { kind = "latency", latencyMs = 50, probability = 0.05, seed = 8 })).EnsureSuccessStatusCode();
            var typeIds = new Dictionary<string, int>();
            foreach (var munchkin in Subscriptions)
            {
                typeIds[munchkin] = await CustomTypeAsync(baseAddress, credentials[Array.IndexOf(Subscriptions, munchkin) * 4]);
            }

            var stats = new Stats();
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(minutes));
            var start = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, clients)
                .Select(i => Task.Run(() => ClientLoopAsync(baseAddress, credentials[i % credentials.Count], SubscriptionOf(i % credentials.Count), i, stats, maxRequests, stop)))
                .Concat(Enumerable.Range(0, ingestClients).Select(i =>
                {
                    var user = (i * 5 + 1) % credentials.Count;
                    return Task.Run(() => IngestLoopAsync(baseAddress, credentials[user], typeIds[SubscriptionOf(user)], 1000 + i, stats, maxRequests, stop));
                }))
                .ToList();

            var samples = new List<(double Minutes, long Rss, int Fds, int Threads)>();
            Console.WriteLine("   t(s)  requests   req/s  errors  queue-full  faults  exports   ingested  p50(ms)  p99(ms)  max(ms)  RSS(MB)  fds  threads");
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
                var (fds, threads) = Handles(server);
                samples.Add((start.Elapsed.TotalMinutes, rss, fds, threads));
                var count = Interlocked.Read(ref stats.Requests);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{start.Elapsed.TotalSeconds,7:F0} {count,9:N0} {(count - lastCount) / 10.0,7:F0} {stats.Errors,7} {stats.QueueFull,11} {stats.Faults,7} {stats.Exports,8} {stats.Ingested,10:N0} {Percentile(latencies, 0.5),8:F1} {Percentile(latencies, 0.99),8:F1} {Percentile(latencies, 1),8:F1} {rss / 1048576.0,8:F0} {fds,4} {threads,8}"));
                lastCount = count;
            }

            await stop.CancelAsync();
            await Task.WhenAll(workers);
            var all = stats.AllLatencies();
            var firstThird = samples.Where(s => s.Minutes <= Math.Max(1, minutes / 3)).ToList();
            var lastThird = samples.Where(s => s.Minutes >= minutes * 2 / 3).ToList();
            var firstMinute = firstThird.Select(s => s.Rss).DefaultIfEmpty(0).Max();
            var lastMinute = lastThird.Select(s => s.Rss).DefaultIfEmpty(0).Max();
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"total: {stats.Requests:N0} requests in {start.Elapsed.TotalSeconds:F0} s ({stats.Requests / start.Elapsed.TotalSeconds:F0}/s), {stats.Exports:N0} exports downloaded and verified, {stats.Cancels:N0} cancels ({stats.LateCancels:N0} too late: 1003, job already finished)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"errors: {stats.Errors} (HTTP 5xx, 611, unexpected codes, checksum mismatches, exceptions); backpressure 1029 Too many jobs in queue: {stats.QueueFull:N0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"latency over the run: p50 {Percentile(all, 0.5):F1} ms, p99 {Percentile(all, 0.99):F1} ms, p99.9 {Percentile(all, 0.999):F1} ms, max {Percentile(all, 1):F1} ms"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server RSS: peak {firstMinute / 1048576.0:F0} MB in the first third, {lastMinute / 1048576.0:F0} MB in the last third"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"open file descriptors: at most {firstThird.Select(s => s.Fds).DefaultIfEmpty(0).Max()} in the first third, {lastThird.Select(s => s.Fds).DefaultIfEmpty(0).Max()} in the last; threads: {firstThird.Select(s => s.Threads).DefaultIfEmpty(0).Max()} and {lastThird.Select(s => s.Threads).DefaultIfEmpty(0).Max()}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ingest: {stats.Ingested:N0} activities added through external.json; fault answers ridden out: {stats.Faults:N0} (503 from the rule)"));
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

            pg?.Stop();
            if (Directory.Exists(pgDir))
            {
                Directory.Delete(pgDir, recursive: true);
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

    private static string SubscriptionOf(int user) => Subscriptions[user / 4];

    /// <summary>Open file descriptors and threads of the server process.</summary>
    private static (int Fds, int Threads) Handles(Process server)
    {
        try
        {
            var fds = Directory.GetFiles($"/proc/{server.Id}/fd").Length;
            var threads = File.ReadLines($"/proc/{server.Id}/status").Where(l => l.StartsWith("Threads:", StringComparison.Ordinal))
                .Select(l => int.Parse(l.Split(':')[1].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
            return (fds, threads);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    /// <summary>Creates and approves a custom activity type for the ingest clients; returns its id.</summary>
    private static async Task<int> CustomTypeAsync(Uri baseAddress, (string ClientId, string Secret) credential)
    {
        const string Type = @"{""apiName"":""soakVisit"",""name"":""Soak Visit"",""triggerName"":""Visits Soak"",""filterName"":""Visited Soak"",""primaryAttribute"":{""apiName"":""page"",""name"":""Page""}}";
        using var http = new HttpClient { BaseAddress = baseAddress };
        using (var token = JsonDocument.Parse(await http.GetStringAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={credential.ClientId}&client_secret={credential.Secret}")))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("access_token").GetString());
        }

        (await http.PostAsync("/rest/v1/activities/external/type.json", new StringContent(Type, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        using var approved = JsonDocument.Parse(await (await http.PostAsync("/rest/v1/activities/external/type/soakVisit/approve.json", null)).Content.ReadAsStringAsync());
        return approved.RootElement.GetProperty("result")[0].GetProperty("id").GetInt32();
    }

    /// <summary>Adds batches of 300 activities through external.json, each answer checked record by record.</summary>
    private static async Task IngestLoopAsync(Uri baseAddress, (string ClientId, string Secret) credential, int typeId, int seed, Stats stats,
        long maxRequests, CancellationTokenSource stop)
    {
        var random = new Random(seed);
        var ct = stop.Token;
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            using (var token = JsonDocument.Parse(await http.GetStringAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={credential.ClientId}&client_secret={credential.Secret}", ct)))
            {
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("access_token").GetString());
            }

            // Its own 300 leads (Sync Leads), so every activity it adds names a lead that exists.
            var leads = string.Join(',', Enumerable.Range(0, 300).Select(i => $"{{\"email\":\"soak-{seed}-{i}@example.com\"}}"));
            using var synced = JsonDocument.Parse(await (await http.PostAsync("/rest/v1/leads.json",
                new StringContent($"{{\"action\":\"createOrUpdate\",\"lookupField\":\"email\",\"input\":[{leads}]}}", Encoding.UTF8, "application/json"), ct)).Content.ReadAsStringAsync(ct));
            var leadIds = synced.RootElement.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToArray();

            while (!ct.IsCancellationRequested)
            {
                if (Interlocked.Increment(ref stats.Requests) > maxRequests)
                {
                    await stop.CancelAsync();
                    break;
                }

                var now = DateTimeOffset.UtcNow;
                var body = new StringBuilder("{\"input\":[");
                for (var i = 0; i < 300; i++)
                {
                    var date = now.AddSeconds(-random.Next(86_400 * 9)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                    body.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture,
                        $"{{\"leadId\":{leadIds[random.Next(leadIds.Length)]},\"activityDate\":\"{date}\",\"activityTypeId\":{typeId},\"primaryAttributeValue\":\"/page/{random.Next(1000)}\"}}");
                }

                body.Append("]}");
                var watch = Stopwatch.StartNew();
                using var response = await http.PostAsync("/rest/v1/activities/external.json", new StringContent(body.ToString(), Encoding.UTF8, "application/json"), ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                stats.Record(watch.Elapsed.TotalMilliseconds);
                using var json = JsonDocument.Parse(text);
                if (!response.IsSuccessStatusCode || !json.RootElement.GetProperty("success").GetBoolean())
                {
                    stats.Error($"external.json: HTTP {(int)response.StatusCode} {text[..Math.Min(200, text.Length)]}");
                    continue;
                }

                var added = json.RootElement.GetProperty("result").EnumerateArray().Count(r => r.GetProperty("status").GetString() == "added");
                if (added != 300)
                {
                    stats.Error($"external.json: {added} of 300 added: {text[..Math.Min(300, text.Length)]}");
                }

                Interlocked.Add(ref stats.Ingested, added);

                // A steady trickle (300 a second per client), so the store grows the same way over a long run.
                await Task.Delay(1000, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            stats.Error($"ingest {seed}: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static async Task ClientLoopAsync(Uri baseAddress, (string ClientId, string Secret) credential, string munchkin, int seed, Stats stats,
        long maxRequests, CancellationTokenSource stop)
    {
        var faulted = false;
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
            faulted = (int)response.StatusCode == 503 && munchkin == Faulted && what == "status";
            if (faulted)
            {
                // The fault rule's answer, as a load balancer would give it: the client polls again.
                Interlocked.Increment(ref stats.Faults);
                return null;
            }

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
                    if (job is null && faulted)
                    {
                        await Task.Delay(random.Next(20, 100), ct);
                        continue;
                    }

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
        public long Faults;
        public long Ingested;
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
