using System.Diagnostics;
using System.Globalization;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;

/// <summary>
/// Where an embedded export's time goes, in process, on a seeded data folder (server stopped; an <c>export</c> or
/// suite data folder): the store's stream alone (rows counted), the stream into the file writer (to Stream.Null), the
/// server's ExportRunner (a real file, flushed to disk), and DuckDB's own COPY of the same rows.
/// Usage: read DATA_FOLDER [runs=3] [chunkHours=24] [memoryLimit=256MB] [runner]
/// </summary>
internal static class ReadBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var data = Path.GetFullPath(args[0]);
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var chunkHours = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 24;
        var memoryLimit = args.Length > 3 ? args[3] : "256MB";
        var runnerOnly = args.Length > 4 && args[4] == "runner";
        var (start, end) = BenchRunner.MiddleWindow(data);
        Console.WriteLine($"read bench: {data}, window {start:u} .. {end:u}, chunk {chunkHours} h, load {SuiteBench.LoadAverage()}");
        for (var run = 0; run < runs; run++)
        {
            double read, format, native, runnerSeconds, readCpu, formatCpu, runnerCpu;
            long peak, gcPeak;
            long rows = 0;
            using (var store = new DuckDbActivityStore(Path.Combine(data, "activities.duckdb"), Path.Combine(data, "duckdb-tmp"), TimeSpan.FromHours(chunkHours), memoryLimit))
            {
                var query = new ActivityQuery(1, start, end, null, null);
                var watch = Stopwatch.StartNew();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                if (!runnerOnly)
                {
                    var counter = new CountingSink();
                    await store.StreamWindowAsync(query, counter, CancellationToken.None);
                    rows = counter.Rows;
                }

                read = watch.Elapsed.TotalSeconds;
                readCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                watch.Restart();
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                if (!runnerOnly)
                {
                    using var writer = new ExportFileWriter(Stream.Null, ExportFormat.Csv, ActivityRowWriter.ColumnNames(ExportFields.Default, null));
                    writer.WriteHeader();
                    await store.StreamWindowAsync(query, new ActivityRowWriter(writer, ExportFields.Default), CancellationToken.None);
                    writer.Complete();
                }

                format = watch.Elapsed.TotalSeconds;
                formatCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

                // The server's ExportRunner itself: read-ahead, writer, SHA-256, a real file, flushed to disk.
                var options = Microsoft.Extensions.Options.Options.Create(new Spillway.Server.Hosting.SpillwayOptions { DataPath = data });
                var runner = BenchRunner.Create(store, options);
                watch.Restart();
                cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var (path, summary) = await BenchRunner.RunCsvAsync(runner, 1, start, end);
                runnerSeconds = watch.Elapsed.TotalSeconds;
                runnerCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                peak = Process.GetCurrentProcess().PeakWorkingSet64 >> 20;
                gcPeak = GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes >> 20;
                rows = summary.NumberOfRecords;
                File.Delete(path);
            }

            var nativeCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            native = runnerOnly ? double.NaN : SuiteBench.DuckNativeCopy(data, start, end, null);
            var nativeCpu = (Process.GetCurrentProcess().TotalProcessorTime - nativeCpu0).TotalSeconds;
            Console.WriteLine($"  run {run + 1}: {rows:N0} rows; store stream alone {read:F2} s ({rows / read:N0} rows/s, CPU {readCpu:F2} s); stream + writer (Stream.Null) {format:F2} s (CPU {formatCpu:F2} s); ExportRunner (file, fsync) {runnerSeconds:F2} s (CPU {runnerCpu:F2} s, peak working set {peak} MB, GC heap after {gcPeak} MB); DuckDB COPY {native:F2} s (CPU {nativeCpu:F2} s)");
        }

        return 0;
    }

    private sealed class CountingSink : IActivityRowSink
    {
        public long Rows { get; private set; }

        public void WriteRow(in Utf8ActivityRow row) => Rows++;
    }
}
