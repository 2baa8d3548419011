using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;

/// <summary>
/// Flat cost as the store grows: the same 31-day window of the bench subscription (N activities over 90 days) exported
/// from a store that then grows, by other subscriptions' activities over the same 90 days, to each requested size. The
/// window's rows never change; only what the store holds around them does. Each size: the export through the API path
/// (<c>--runs</c> times), the engine's own export of the same rows, the store's size on disk, and the time the growth's
/// seeding took. Other tenants over the same days are the case the store cannot prune by time: their rows sit in the
/// window's days. <c>--resume</c> keeps the store a previous run left (its size is in <c>growth-held.txt</c>), measures
/// it as it is and grows it on to the larger sizes: a before/after pair of a code change on the same data.
/// </summary>
internal static class GrowthBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var store = SuiteBench.Arg(args, "--store") ?? "embedded";
        var resume = args.Contains("--resume");
        var runs = int.Parse(SuiteBench.Arg(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        var sizes = (SuiteBench.Arg(args, "--sizes") ?? "10000000,30000000,100000000").Split(',')
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).Order().ToArray();
        var root = SuiteBench.RepoRoot();
        var bench = Path.Combine(root, ".bench", "growth");
        Console.WriteLine($"growth: {store}, sizes {string.Join(" / ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))}, {runs} run(s); "
            + $"commit {SuiteBench.Git("rev-parse --short HEAD")}; .NET {Environment.Version}, {Environment.ProcessorCount} cores; load {SuiteBench.LoadAverage()}");
        foreach (var kind in store == "both" ? new[] { "embedded", "postgres" } : [store])
        {
            // A fresh store unless resuming (a grown one cannot be told from its base by the cache marker), in a cluster of
            // its own so the suite's cached databases stay as they are.
            var folder = Path.Combine(bench, kind);
            var heldFile = Path.Combine(folder, "growth-held.txt");
            long? held = resume && File.Exists(heldFile) ? long.Parse(File.ReadAllText(heldFile), CultureInfo.InvariantCulture) : null;
            if (held is null && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            Directory.CreateDirectory(folder);
            PgCluster? pg = kind == "postgres" ? PgCluster.Start(root, Path.Combine(bench, "pg")) : null;
            try
            {
                await GrowAsync(kind, folder, sizes, runs, pg, held);
            }
            finally
            {
                pg?.Stop();
            }
        }

        return 0;
    }

    private static async Task GrowAsync(string kind, string folder, long[] sizes, int runs, PgCluster? pg, long? resumed)
    {
        var heldFile = Path.Combine(folder, "growth-held.txt");
        var server = await BenchServer.StartAsync(kind, folder, sizes[0], pg);
        try
        {
            var watch = Stopwatch.StartNew();
            await server.EnsureSeededAsync(sizes[0], main: false);
            var held = resumed ?? sizes[0];
            Console.WriteLine(resumed is null
                ? $"  [{kind}] base: {sizes[0]:N0} activities of the bench subscription in {watch.Elapsed.TotalSeconds:F1} s (with a restart)"
                : $"  [{kind}] resumed a store of {held:N0} activities");
            await File.WriteAllTextAsync(heldFile, held.ToString(CultureInfo.InvariantCulture));
            var window = server.Window();
            var tenant = sizes.Count(s => s < held) + (resumed is null ? 0 : 1);
            foreach (var size in sizes.Where(s => s >= held))
            {
                if (size > held)
                {
                    tenant++;
                    var seconds = await server.SeedOtherTenantAsync($"999-GR{(char)('A' + tenant)}-999", size - held);
                    Console.WriteLine($"  [{kind}] grew by {size - held:N0} activities of another subscription in {seconds:F1} s ({(size - held) / seconds:N0}/s); load {SuiteBench.LoadAverage()}");
                    held = size;
                    await File.WriteAllTextAsync(heldFile, held.ToString(CultureInfo.InvariantCulture));
                    // Measure a server that has only served exports, as the suite does, not the one that seeded.
                    await server.RestartAsync();
                    await server.EnsureSeededAsync(sizes[0], main: false);
                }

                var results = new List<SuiteBench.ExportResult>();
                for (var run = 0; run < runs; run++)
                {
                    results.Add(await server.ExportAsync(window.Start, window.End, null));
                }

                await server.StopAsync();
                var native = new List<double>();
                for (var run = 0; run < runs; run++)
                {
                    native.Add(kind == "postgres"
                        ? pg!.NativeCopy(server.Database, Path.Combine(server.Data, "native.csv"), window.Start, window.End, null)
                        : SuiteBench.DuckNativeCopy(server.Data, window.Start, window.End, null));
                }

                File.Delete(Path.Combine(server.Data, "native.csv"));
                var bytes = kind == "postgres"
                    ? long.Parse(pg!.Psql(server.Database, "SELECT pg_database_size(current_database())"), CultureInfo.InvariantCulture)
                    : new DirectoryInfo(server.Data).EnumerateFiles("*.duckdb*", SearchOption.AllDirectories).Sum(f => f.Length);
                var times = results.Select(r => r.Seconds).Order().ToList();
                Console.WriteLine($"  [{kind}] store of {size:N0}: window {results[0].Rows:N0} rows; Spillway {times[times.Count / 2]:F2} s (runs {string.Join(" / ", results.Select(r => r.Seconds.ToString("F2", CultureInfo.InvariantCulture)))}, "
                    + $"server CPU {string.Join(" / ", results.Select(r => r.CpuSeconds.ToString("F2", CultureInfo.InvariantCulture)))} s, RSS peak {results.Max(r => r.PeakRss) >> 20} MB); "
                    + $"native {native.Order().ToList()[native.Count / 2]:F2} s (runs {string.Join(" / ", native.Select(n => n.ToString("F2", CultureInfo.InvariantCulture)))}); "
                    + $"store {bytes / 1e9:F2} GB, {bytes / 1e6 / (size / 1e6):F0} MB per million; load {SuiteBench.LoadAverage()}");
                await server.RestartAsync();
                await server.EnsureSeededAsync(sizes[0], main: false);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
