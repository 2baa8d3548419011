using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

/// <summary>A Spillway server process on one data set (embedded folder or PostgreSQL database) of the suite.</summary>
internal sealed partial class BenchServer : IAsyncDisposable
{
    private const string Key = "bench-admin-key";
    private const string Munchkin = "999-BEN-999";
    private const string Secret = "bench-secret-0123456789";
    private const int Days = 90;

    private Process? _process;
    private readonly List<Process> _extraNodes = [];
    private readonly List<Uri> _nodes = [];
    private HttpClient _admin = null!;
    private HttpClient _api = null!;
    private readonly string _kind;
    private readonly PgCluster? _pg;
    private bool _fresh;

    private BenchServer(string kind, string data, string database, PgCluster? pg)
    {
        _kind = kind;
        Data = data;
        Database = database;
        _pg = pg;
    }

    public string Data { get; }
    public string Database { get; }

    public static async Task<BenchServer> StartAsync(string kind, string bench, long rows, PgCluster? pg)
    {
        var data = Path.Combine(bench, $"{kind}-{rows}");
        var database = $"suite_{rows}";
        var server = new BenchServer(kind, data, database, pg);
        server._fresh = !File.Exists(Path.Combine(data, "bench-end.txt")) || (pg is not null && (pg.Fresh || !pg.HasDatabase(database)));
        if (server._fresh)
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }

            pg?.RecreateDatabase(database);
        }

        Directory.CreateDirectory(data);
        await server.LaunchAsync();
        return server;
    }

    /// <summary>
    /// Extra options for every node this server starts (e.g. <c>--Spillway:CallGrants=false</c>), set before <see cref="StartAsync"/>
    /// through the environment variable SPILLWAY_BENCH_SERVER_ARGS (space-separated).
    /// </summary>
    private static IEnumerable<string> ExtraArgs() =>
        (Environment.GetEnvironmentVariable("SPILLWAY_BENCH_SERVER_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private async Task LaunchAsync()
    {
        var port = ExportBench.FreePort();
        _process = StartNode(port, Data, null);
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromHours(1) };
        _admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromHours(1) };
        _admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", Key);
        _api = new HttpClient(handler) { BaseAddress = _admin.BaseAddress, Timeout = TimeSpan.FromHours(1) };
        // A relaunch (after seeding a fresh set, or a restart) replaces the node list: the old process's port is closed,
        // and a poll spread over a stale list sent every n-th call there (2,500 of 10,000 failed sends on a new set).
        _nodes.Clear();
        _nodes.Add(_admin.BaseAddress);
        await ExportBench.WaitHealthyAsync(_admin);
    }

    /// <summary>
    /// Starts <paramref name="count"/> more nodes on the same PostgreSQL database and export folder (a cluster); the
    /// status poll then spreads its calls over every node in turn.
    /// </summary>
    public async Task AddNodesAsync(int count)
    {
        if (_pg is null)
        {
            throw new InvalidOperationException("More nodes need the PostgreSQL store.");
        }

        for (var n = 0; n < count; n++)
        {
            var port = ExportBench.FreePort();
            var data = $"{Data}-node{n + 2}";
            Directory.CreateDirectory(data);
            _extraNodes.Add(StartNode(port, data, Path.Combine(Data, "exports")));
            using var probe = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await ExportBench.WaitHealthyAsync(probe);
            _nodes.Add(probe.BaseAddress);
        }
    }

    private Process StartNode(int port, string data, string? exports)
    {
        var settings = new List<string> { "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning" };
        if (exports is not null)
        {
            settings.Add($"--Spillway:ExportPath={exports}");
        }

        if (_pg is not null)
        {
            settings.Add("--Spillway:Provider=Postgres");
            settings.Add($"--Spillway:ConnectionString={_pg.ConnectionString(Database)}");
        }

        settings.AddRange(ExtraArgs());
        return ExportBench.StartServer(data, port, Key, [.. settings]);
    }

    /// <summary>Builds the data set if it is not cached; returns the ingest figures of the main data set.</summary>
    public async Task<List<SuiteRows>> EnsureSeededAsync(long rows, bool main)
    {
        var figures = new List<SuiteRows>();
        if (_fresh)
        {
            await AdminOkAsync(_admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = Munchkin }));
            await AdminOkAsync(_admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/users", new
            {
                email = "bench@example.com",
                permissions = new[] { "Read-Write Activity" },
                clientId = "bench",
                clientSecret = Secret,
            }));
        }

        // The bench polls fast, creates jobs by the thousand and exports gigabytes: lift its subscription's limits.
        await AdminOkAsync(_admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/limits", new
        {
            rateLimitCalls = 100_000_000,
            concurrentCalls = 10_000,
            dailyCallQuota = 1_000_000_000,
            dailyExportQuotaMegabytes = 100_000_000,
            maxQueuedJobs = 1_000_000,
        }));

        if (_fresh)
        {
            Console.WriteLine($"  [{_kind} {rows:N0}] seeding {rows:N0} activities over {Days} days ...");
            var watch = Stopwatch.StartNew();
            await AdminOkAsync(_admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/seed", new { activities = rows, daysBack = Days, seed = 20250101 }));
            watch.Stop();
            await File.WriteAllTextAsync(Path.Combine(Data, "seed.txt"), watch.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
            await File.WriteAllTextAsync(Path.Combine(Data, "bench-end.txt"), DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            Console.WriteLine($"  [{_kind} {rows:N0}] seeded in {watch.Elapsed.TotalSeconds:F1} s");
            // Measure a server that has only served exports (a cached data set's run), not one that just seeded.
            await StopAsync();
            _admin.Dispose();
            _api.Dispose();
            await LaunchAsync();
        }

        using (var token = JsonDocument.Parse(await _api.GetStringAsync($"/identity/oauth/token?grant_type=client_credentials&client_id=bench&client_secret={Secret}")))
        {
            _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("access_token").GetString());
        }

        if (main)
        {
            var seconds = double.Parse(await File.ReadAllTextAsync(Path.Combine(Data, "seed.txt")), CultureInfo.InvariantCulture);
            figures.Add(new SuiteRows(_kind, "ingest", "admin seed (generator + store appends of 100,000)",
                $"{rows / seconds:N0} activities/s ({rows:N0} in {seconds:F1} s{(_fresh ? "" : ", when the cached data set was built")})"));
            if (_kind == "embedded")
            {
                var n = Math.Min(rows, 1_000_000);
                var (append, generate) = await SuiteBench.EmbeddedAppendAsync(Path.Combine(Path.GetDirectoryName(Data)!, "ingest-embedded"), n);
                figures.Add(new SuiteRows(_kind, "ingest", "store append path alone (DuckDbActivityStore.AppendAsync, batches of 100,000, fresh file)",
                    $"{n / append:N0} activities/s ({n:N0} in {append:F2} s; generating them took {generate:F2} s)"));
            }
        }

        return figures;
    }

    /// <summary>Stops the server and starts it again on the same data, which is then no longer fresh; call <see cref="EnsureSeededAsync"/> next for the token.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        _admin.Dispose();
        _api.Dispose();
        _fresh = false;
        await LaunchAsync();
    }

    /// <summary>Seeds <paramref name="rows"/> activities over the same 90 days into another subscription (created here); returns the seconds it took.</summary>
    public async Task<double> SeedOtherTenantAsync(string munchkinId, long rows)
    {
        await AdminOkAsync(_admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId }));
        var watch = Stopwatch.StartNew();
        await AdminOkAsync(_admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkinId}/seed", new { activities = rows, daysBack = Days, seed = 7, leads = 10_000 }));
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// An admin call that must succeed: an unexpected server error answers HTTP 200 with a Marketo-style 611 envelope
    /// (as every endpoint does), which a status check alone lets through (a seed once failed so, unnoticed).
    /// </summary>
    private static async Task AdminOkAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode || body.Contains("\"success\":false", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"admin call {response.RequestMessage?.RequestUri} failed: {(int)response.StatusCode} {body}");
        }
    }

    public (DateTimeOffset Start, DateTimeOffset End) Window()
    {
        var dataEnd = DateTimeOffset.FromUnixTimeSeconds(long.Parse(File.ReadAllText(Path.Combine(Data, "bench-end.txt")), CultureInfo.InvariantCulture));
        var start = dataEnd.AddDays(-Days / 2.0 - 15.5);
        start = new DateTimeOffset(start.Year, start.Month, start.Day, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddDays(31).AddSeconds(-1));
    }

    public async Task<SuiteBench.ExportResult> ExportAsync(DateTimeOffset start, DateTimeOffset end, int[]? types)
    {
        var r = await ExportBench.ExportOnceAsync(_api, _process!, start, end, types);
        // A 10 M set's window is a 1 GB file per run: keep the disk free (the retention would keep them for days).
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Data, "exports"), "*.csv"))
        {
            File.Delete(file);
        }

        return new SuiteBench.ExportResult(r.Rows, r.Bytes, r.Seconds, r.PeakRss, r.BaseRss, r.CpuSeconds);
    }

    /// <summary>
    /// Status poll paced at 1,000 requests/s (open loop: requests start on schedule whatever the answers do), then
    /// create+enqueue pairs from 8 concurrent closed-loop clients, on loopback.
    /// </summary>
    public async Task<List<SuiteRows>> ApiLoadAsync(bool quick, DateTimeOffset windowStart, double? pollSeconds = null)
    {
        var figures = new List<SuiteRows>();
        var seconds = quick ? 3.0 : 10.0;
        figures.Add(await StatusPollAsync(1000.0, pollSeconds ?? seconds));
        figures.Add(await CreateEnqueueAsync(seconds / 2));
        return figures;
    }

    /// <summary>create+enqueue pairs (an empty 2001 window) from 8 concurrent closed-loop clients.</summary>
    public async Task<SuiteRows> CreateEnqueueAsync(double seconds)
    {
        var empty = new { filter = new { createdAt = new { startAt = "2001-01-01T00:00:00Z", endAt = "2001-01-02T00:00:00Z" } } };
        var pairs = new List<double>();
        var pairErrors = 0;
        var watch = Stopwatch.StartNew();
        var stopAt = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (watch.Elapsed < stopAt)
            {
                var t = Stopwatch.GetTimestamp();
                try
                {
                    var job = await CreateAsync(empty);
                    using var enqueued = JsonDocument.Parse(await (await _api.PostAsync($"/bulk/v1/activities/export/{job}/enqueue.json", null)).Content.ReadAsStringAsync());
                    if (!enqueued.RootElement.GetProperty("success").GetBoolean())
                    {
                        Interlocked.Increment(ref pairErrors);
                    }

                    mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref pairErrors);
                }
            }

            lock (pairs)
            {
                pairs.AddRange(mine);
            }
        })));
        var pairSeconds = watch.Elapsed.TotalSeconds;
        pairs.Sort();
        return new SuiteRows(_kind, "api", $"create+enqueue, 8 concurrent clients for {seconds:F0} s",
            $"{pairs.Count / pairSeconds:N0} pairs/s ({2 * pairs.Count / pairSeconds:N0} req/s); pair p50 {Pct(pairs, 0.50):F2} ms; p99 {Pct(pairs, 0.99):F2} ms; errors {pairErrors}");
    }

    /// <summary>The status poll of one (completed) job, paced at <paramref name="rate"/> for <paramref name="seconds"/> after a warm-up.</summary>
    public async Task<SuiteRows> StatusPollAsync(double rate, double seconds, double warmupSeconds = 5)
    {
        var empty = new { filter = new { createdAt = new { startAt = "2001-01-01T00:00:00Z", endAt = "2001-01-02T00:00:00Z" } } };
        var id = await CreateAsync(empty);
        (await _api.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null)).EnsureSuccessStatusCode();
        // Warm-up at the same rate: the server's tiered JIT recompiles the hot path for several seconds after start
        // (dotnet-counters: ~2 s of JIT CPU over the first ~8 s on this machine), which a 1 s warm-up left in the measured run.
        await PacedAsync(id, rate, warmupSeconds);
        var result = await PacedAsync(id, rate, seconds);
        return new SuiteRows(_kind, "api", $"status poll, paced at {rate:N0}/s for {seconds:F0} s after {warmupSeconds:F0} s of warm-up", result.Describe());
    }

    /// <summary>The server process (for probes that attach to it).</summary>
    public int ProcessId => _process!.Id;

    /// <summary>
    /// The open-loop load generator. A dedicated pacing thread sleeps (it does not spin: on a 2-core machine a spinning
    /// generator takes a core from the server it measures) and, each time it wakes, sends every request that has come
    /// due, without waiting for any answer. A request's latency counts from its scheduled send time, or from its actual
    /// send if that was earlier, so a late generator or a stalled server shows in the figures instead of being omitted
    /// (coordinated omission); the service time (from the actual send) is reported beside it. Results go into
    /// pre-sized arrays by index: no locks, no growing lists on the measured path.
    /// </summary>
    private async Task<PollResult> PacedAsync(string id, double rate, double seconds)
    {
        var total = (int)(rate * seconds);
        var latencies = new double[total];
        var service = new double[total];
        var errors = 0;
        var running = new Task[total];
        var uris = _nodes.Select(node => new Uri(node, $"/bulk/v1/activities/export/{id}/status.json")).ToArray();
        var ticksPerRequest = Stopwatch.Frequency / rate;
        var started = Stopwatch.GetTimestamp();

        async Task SendAsync(int i, long due)
        {
            var sent = Stopwatch.GetTimestamp();
            var from = Math.Min(due, sent);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uris[i % uris.Length]);
                using var response = await _api.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                var body = await response.Content.ReadAsByteArrayAsync();
                var done = Stopwatch.GetTimestamp();
                latencies[i] = Stopwatch.GetElapsedTime(from, done).TotalMilliseconds;
                service[i] = Stopwatch.GetElapsedTime(sent, done).TotalMilliseconds;
                if (!response.IsSuccessStatusCode || body.AsSpan().IndexOf("\"success\":true"u8) < 0)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            catch (Exception)
            {
                latencies[i] = service[i] = double.NaN;
                Interlocked.Increment(ref errors);
            }
        }

        var dump = Environment.GetEnvironmentVariable("SPILLWAY_BENCH_POLL_DUMP");
        var startedUtc = DateTimeOffset.UtcNow;
        using var stopLog = new CancellationTokenSource();
        var serverLog = dump is { Length: > 0 } ? CollectRequestLogAsync(stopLog.Token) : Task.FromResult(new List<string>());
        var pacer = new Thread(() =>
        {
            for (var i = 0; i < total; i++)
            {
                var due = started + (long)(i * ticksPerRequest);
                // Wake at least every millisecond; a request due within the next 0.2 ms is sent now (its latency then
                // counts from the actual send), one due later waits for the next wake-up.
                while (due - Stopwatch.GetTimestamp() > Stopwatch.Frequency / 5000)
                {
                    Thread.Sleep(1);
                }

                running[i] = SendAsync(i, due);
            }
        })
        { IsBackground = true, Name = "pacer" };
        pacer.Start();
        await Task.Run(pacer.Join);
        await Task.WhenAll(running);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await stopLog.CancelAsync();
        var logged = await serverLog;
        if (dump is { Length: > 0 })
        {
            // Diagnostics: one line per request (scheduled offset, latency, service time), to see whether slow answers
            // cluster in time; and the server's request log (end of call relative to the same start, time inside the API filter).
            await File.WriteAllLinesAsync(dump, Enumerable.Range(0, total).Select(i => string.Create(CultureInfo.InvariantCulture,
                $"{i * 1000.0 / rate:F1},{latencies[i]:F3},{service[i]:F3}")));
            await File.WriteAllLinesAsync(dump + ".server", logged.Select(l => l.Split(',')).Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{(DateTimeOffset.Parse(p[0], CultureInfo.InvariantCulture) - startedUtc).TotalMilliseconds:F1},{p[1]}")));
        }

        var ok = latencies.Where(l => !double.IsNaN(l)).Order().ToList();
        var serviceOk = service.Where(l => !double.IsNaN(l)).Order().ToList();
        return new PollResult(ok, serviceOk, elapsed, errors);
    }

    /// <summary>Diagnostics: reads the subscription's request log (the last 1,000 calls) every 300 ms while the poll runs.</summary>
    private async Task<List<string>> CollectRequestLogAsync(CancellationToken ct)
    {
        var lines = new List<string>();
        long after = 0;
        while (true)
        {
            try
            {
                await Task.Delay(300, ct);
            }
            catch (OperationCanceledException)
            {
                return lines;
            }

            using var log = JsonDocument.Parse(await _admin.GetStringAsync($"/_spillway/admin/subscriptions/{Munchkin}/requests?after={after}", CancellationToken.None));
            foreach (var entry in log.RootElement.EnumerateArray())
            {
                after = entry.GetProperty("sequence").GetInt64();
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{entry.GetProperty("time").GetString()},{entry.GetProperty("durationMs").GetDouble():F3}"));
            }
        }
    }

    private sealed record PollResult(List<double> Latencies, List<double> Service, double Seconds, int Errors)
    {
        public string Describe() => Latencies.Count == 0 ? $"no answers; errors {Errors}" :
            $"{Latencies.Count / Seconds:N0} req/s; p50 {Pct(Latencies, 0.50):F2} ms; p99 {Pct(Latencies, 0.99):F2} ms; p99.9 {Pct(Latencies, 0.999):F2} ms; " +
            $"max {Latencies[^1]:F1} ms; errors {Errors} (from the scheduled send; service time p50 {Pct(Service, 0.50):F2} ms, p99 {Pct(Service, 0.99):F2} ms)";
    }

    private static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private async Task<string> CreateAsync(object body)
    {
        using var created = JsonDocument.Parse(await (await _api.PostAsJsonAsync("/bulk/v1/activities/export/create.json", body)).Content.ReadAsStringAsync());
        if (!created.RootElement.GetProperty("success").GetBoolean())
        {
            throw new InvalidOperationException("create failed: " + created.RootElement);
        }

        return created.RootElement.GetProperty("result")[0].GetProperty("exportId").GetString()!;
    }

    public async Task StopAsync()
    {
        foreach (var node in _extraNodes.Where(p => !p.HasExited))
        {
            await ExportBench.StopServerAsync(node);
        }

        if (_process is { HasExited: false })
        {
            await ExportBench.StopServerAsync(_process);
        }

        // The measured export files (about 1.3 GB per run on the 10 M set) would otherwise stay in the cached data
        // folder for the server's retention period and fill the disk over a few suite runs.
        var exports = Path.Combine(Data, "exports");
        var stores = Directory.Exists(exports) ? Directory.GetDirectories(exports) : [];
        foreach (var folder in stores.SelectMany(s => new[] { "files", "tmp" }.Select(f => Path.Combine(s, f))).Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                File.Delete(file);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _admin?.Dispose();
        _api?.Dispose();
    }
}

