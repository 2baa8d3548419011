using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL call limiter alone (docs/performance.md, "Status poll on PostgreSQL"): admit + release through two
/// limiter instances (nodes; two unless told) on one subscription, in a fresh database of the given cluster, first closed-loop from
/// several clients (throughput), then paced open-loop (latency). The subscription's limits are lifted as the suite
/// lifts them, so every call is admitted and the window holds rate x window stamps, as under the suite's status poll.
/// </summary>
internal static class LimiterBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: Spillway.Bench limiter <connection string> [seconds=5] [clients=8] [paced rate=1000] [nodes=2] [grants=on|off]");
            return 2;
        }

        var connectionString = args[0];
        var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var clients = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
        var rate = args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 1000;
        var nodeCount = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 2;
        var grants = args.Length > 5 && args[5] == "off" ? CallGrantOptions.Off : CallGrantOptions.Default;

        var database = $"limiter_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await using (var admin = NpgsqlDataSource.Create(connectionString))
        await using (var create = admin.CreateCommand($"CREATE DATABASE {database}"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var benchConnection = new NpgsqlConnectionStringBuilder(connectionString) { Database = database }.ConnectionString;
        try
        {
            var storage = new ServiceCollection();
            storage.AddSpillwayStorage(new SpillwayOptions { Provider = "Postgres", ConnectionString = benchConnection });
            await using (var services = storage.BuildServiceProvider())
            {
                await services.MigratePostgresStorageAsync(CancellationToken.None);
            }

            await using var dataSource = NpgsqlDataSource.Create(benchConnection);
            var nodes = Enumerable.Range(0, nodeCount).Select(_ => new PostgresApiCallLimiter(dataSource, grants: grants)).ToArray();
            var t0 = DateTimeOffset.UtcNow;
            var subscription = new Subscription(1, "111-BEN-111", "Bench", SubscriptionLimitOverrides.None, t0);
            var caller = new ApiCaller(new ApiUser(1, 1, "bench@example.com", ["Read-Only Activity"], t0), subscription,
                new EffectiveLimits(2, 10, 500, 7, 30, 7, 31, 100_000_000, 20, 10_000, 1_000_000_000, 3600));

            var errors = 0;
            async Task<double> CallAsync(int node)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var (permit, error) = await nodes[node % nodes.Length].TryAdmitAsync(caller, DateTimeOffset.UtcNow, CancellationToken.None);
                    if (permit is null)
                    {
                        throw new InvalidOperationException($"refused: {error?.Code}");
                    }

                    await permit.DisposeAsync();
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
                {
                    // Counted, and its time kept: a pool exhausted by queued calls is the failure this bench looks for.
                    Interlocked.Increment(ref errors);
                }

                return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }

            // Warm-up, and a window that already holds about a second of calls.
            for (var i = 0; i < 500; i++)
            {
                await CallAsync(i);
            }

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var counts = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
            {
                var latencies = new List<double>();
                while (watch.Elapsed.TotalSeconds < seconds)
                {
                    latencies.Add(await CallAsync(c));
                }

                return latencies;
            })));
            var elapsed = watch.Elapsed.TotalSeconds;
            var closed = counts.SelectMany(l => l).Order().ToList();
            var closedCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            Console.WriteLine($"closed loop, {clients} clients, {seconds:F0} s: {closed.Count / elapsed:N0} admit+release/s; " +
                $"p50 {Pct(closed, 0.5):F2} ms; p99 {Pct(closed, 0.99):F2} ms; client CPU {closedCpu * 1000 / closed.Count:F0} us/call; errors {errors}");

            var paced = new List<Task<double>>();
            var total = (int)(rate * seconds);
            watch.Restart();
            for (var i = 0; i < total; i++)
            {
                var due = TimeSpan.FromSeconds(i / rate);
                while (watch.Elapsed < due)
                {
                    await Task.Delay(due - watch.Elapsed > TimeSpan.FromMilliseconds(2) ? 1 : 0);
                }

                var node = i;
                paced.Add(Task.Run(() => CallAsync(node)));
            }

            var open = (await Task.WhenAll(paced)).Order().ToList();
            elapsed = watch.Elapsed.TotalSeconds;
            Console.WriteLine($"paced at {rate:N0}/s, {seconds:F0} s: {open.Count / elapsed:N0} admit+release/s; p50 {Pct(open, 0.5):F2} ms; " +
                $"p99 {Pct(open, 0.99):F2} ms; max {open[^1]:F1} ms; errors {errors}");
            Console.WriteLine($"{nodes.Length} nodes, grants {(grants.Enabled ? "on" : "off")}: {nodes.Sum(n => n.Counters.Admissions):N0} admissions in the database, " +
                $"{nodes.Sum(n => n.Counters.Granted):N0} under grants, {nodes.Sum(n => n.Counters.Recalls):N0} recalls");
            foreach (var node in nodes)
            {
                node.Dispose();
            }

            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = NpgsqlDataSource.Create(connectionString);
            await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            await drop.ExecuteNonQueryAsync();
        }
    }

    private static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
}
