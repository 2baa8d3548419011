using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL export in process, on a suite data set (database suite_N of the suite's cluster): the server's
/// ExportRunner (binary COPY, UTF-8 spans) on a real file flushed to disk, the same stream into a sink that only
/// counts, the raw COPY stream read alone, then psql's COPY of the same rows. Wall and CPU time of this
/// process (the PostgreSQL backend's CPU is not in it); CPU time is what a loaded machine disturbs least.
/// Usage: pgread ROWS [runs=3]
/// </summary>
internal static class PgReadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = long.Parse(args[0], CultureInfo.InvariantCulture);
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var root = SuiteBench.RepoRoot();
        var bench = Path.Combine(root, ".bench", "suite");
        var data = Path.Combine(bench, $"postgres-{rows}");
        var pg = PgCluster.Start(root, Path.Combine(bench, "pg"));
        try
        {
            var database = $"suite_{rows}";
            await using var dataSource = NpgsqlDataSource.Create(pg.ConnectionString(database));
            var store = new PostgresActivityStore(dataSource);
            var subscription = int.Parse(pg.Psql(database, "SELECT subscription_id FROM activity_key LIMIT 1"), CultureInfo.InvariantCulture);
            var (start, end) = BenchRunner.MiddleWindow(data);
            Console.WriteLine($"pgread: {database}, window {start:u} .. {end:u}");
            if (args.Length > 2 && args[2] == "null")
            {
                if (args.Length > 3)
                {
                    // The same with another Npgsql read buffer size for the COPY's connection.
                    store = new PostgresActivityStore(NpgsqlDataSource.Create(pg.ConnectionString(database) + $";Read Buffer Size={args[3]}"));
                }

                // The window stream into a counting sink alone (for a profiler).
                var (nRows, nWall, nCpu) = await NullSinkAsync(store, new ActivityQuery(subscription, start, end, null, null));
                Console.WriteLine($"  the stream into a sink that only counts {nRows:N0} rows {nWall:F2} s (CPU {nCpu:F2} s), load {SuiteBench.LoadAverage()}");
                return 0;
            }

            if (args.Length > 2 && args[2] == "raw")
            {
                // The raw COPY read by Npgsql's read buffer size (Read Buffer Size, 8 KB by default), alternated.
                var sql = PostgresActivityStore.WindowCopySql(new ActivityQuery(subscription, start, end, null, null));
                int[] sizes = args.Length > 3 ? [int.Parse(args[3], CultureInfo.InvariantCulture)] : [8192, 65536, 262144, 8192, 65536, 262144, 8192, 65536, 262144];
                foreach (var size in sizes)
                {
                    await using var sized = NpgsqlDataSource.Create(pg.ConnectionString(database) + $";Read Buffer Size={size}");
                    var (b, w, c) = RawCopy(sized, sql);
                    Console.WriteLine($"  raw COPY read, read buffer {size / 1024} KB: {b >> 20} MB {w:F2} s (CPU {c:F2} s), load {SuiteBench.LoadAverage()}");
                }

                return 0;
            }

            for (var run = 0; run < runs; run++)
            {
                var load = SuiteBench.LoadAverage();
                var (fRows, fWall, fCpu) = await RunnerAsync(store, data, subscription, start, end);
                var (nRows, nWall, nCpu) = await NullSinkAsync(store, new ActivityQuery(subscription, start, end, null, null));
                var (rawBytes, rawWall, rawCpu) = RawCopy(dataSource, PostgresActivityStore.WindowCopySql(new ActivityQuery(subscription, start, end, null, null)));
                var native = pg.NativeCopy(database, Path.Combine(data, "native.csv"), start, end, null);
                Console.WriteLine($"  run {run + 1} (load {load}): " +
                    $"ExportRunner {fRows:N0} rows {fWall:F2} s (CPU {fCpu:F2} s, {fRows / fWall:N0} rows/s); " +
                    $"the stream into a sink that only counts {nRows:N0} rows {nWall:F2} s (CPU {nCpu:F2} s); the raw COPY stream read alone {rawBytes >> 20} MB {rawWall:F2} s (CPU {rawCpu:F2} s); psql COPY {native:F2} s; " +
                    $"ratio runner/native {fWall / native:F2}");
            }

            Console.WriteLine($"  peak working set of this process {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB");
        }
        finally
        {
            pg.Stop();
        }

        return 0;
    }

    private static async Task<(long Rows, double Wall, double Cpu)> RunnerAsync(PostgresActivityStore store, string data, int subscription, DateTimeOffset start, DateTimeOffset end)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new Spillway.Server.Hosting.SpillwayOptions { DataPath = data });
        var runner = BenchRunner.Create(store, options);
        var watch = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var (path, summary) = await BenchRunner.RunCsvAsync(runner, subscription, start, end);
        var wall = watch.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        File.Delete(path);
        return (summary.NumberOfRecords, wall, cpu);
    }

    /// <summary>Npgsql's raw binary COPY stream read into a large buffer, nothing else: the floor of the window stream's fetch thread.</summary>
    private static (long Bytes, double Wall, double Cpu) RawCopy(NpgsqlDataSource dataSource, string sql)
    {
        var watch = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        using var connection = dataSource.OpenConnection();
        using var copy = connection.BeginRawBinaryCopy(sql);
        var buffer = new byte[256 * 1024];
        long bytes = 0;
        int n;
        while ((n = copy.Read(buffer, 0, buffer.Length)) > 0)
        {
            bytes += n;
        }

        return (bytes, watch.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
    }

    /// <summary>The window stream's COPY read and parse alone: the sink only counts.</summary>
    private static async Task<(long Rows, double Wall, double Cpu)> NullSinkAsync(IActivityWindowStreamer store, ActivityQuery query)
    {
        var sink = new CountingSink();
        var watch = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        await store.StreamWindowAsync(query, sink, CancellationToken.None);
        return (sink.Rows, watch.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds);
    }

    private sealed class CountingSink : IActivityRowSink
    {
        public long Rows { get; private set; }

        public void WriteRow(in Utf8ActivityRow row) => Rows++;
    }
}
