using System.Diagnostics;
using System.Globalization;
using Spillway.Server.Hosting;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;

/// <summary>
/// The embedded store's append path, in process: pre-generated activities appended to a fresh file in batches of
/// the given sizes, with CPU time. Usage: ingest [rows=1000000] [batch sizes=100000,1000000] [folder=.bench/ingest]
/// </summary>
internal static class IngestBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var batches = (args.Length > 1 ? args[1] : "100000,1000000").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        var folder = Path.GetFullPath(args.Length > 2 ? args[2] : Path.Combine(".bench", "ingest"));
        var to = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var all = new DemoActivityGenerator(20250101).Generate(rows, to.AddDays(-90), to, 1).ToList();
        Console.WriteLine($"ingest bench: {rows:N0} activities, load {SuiteBench.LoadAverage()}");
        foreach (var batch in batches)
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            Directory.CreateDirectory(folder);
            using var store = new DuckDbActivityStore(Path.Combine(folder, "activities.duckdb"), Path.Combine(folder, "tmp"), TimeSpan.FromHours(new SpillwayOptions().Worker.ChunkHours), new SpillwayOptions().DuckDbMemoryLimit);
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < all.Count; i += batch)
            {
                await store.AppendAsync(1, all.GetRange(i, Math.Min(batch, all.Count - i)), CancellationToken.None);
            }

            watch.Stop();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine($"  batches of {batch:N0}: {watch.Elapsed.TotalSeconds:F2} s = {rows / watch.Elapsed.TotalSeconds:N0} activities/s (CPU {cpu:F2} s)");
        }

        return 0;
    }
}
