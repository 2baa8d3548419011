using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Activities.Import;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

/// <summary>
/// Import benchmark: demo activities over 90 days written as an export CSV (all 9 columns), then read alone
/// (parse only), imported into a fresh embedded store, and imported again (every row already present). Prints wall time,
/// the process's CPU time, and the machine load, since a shared machine skews wall time.
/// </summary>
internal static class ImportBench
{
    public static int Run(string[] args)
    {
        var rows = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_500_000L;
        // --once: the import into a fresh store alone, and the store's size (a large import, where parsing the file
        // three times would only repeat what the smaller runs show).
        var once = args.Contains("--once");
        var root = Path.Combine(Path.GetTempPath(), "spillway-bench-import-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var csv = Path.Combine(root, "activities.csv");
        try
        {
            Console.WriteLine($"import: {rows:N0} rows, .NET {Environment.Version}, {Environment.ProcessorCount} cores, load {Load()}");
            var end = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
            var writing = Stopwatch.StartNew();
            using (var output = new FileStream(csv, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.SequentialScan))
            using (var writer = new ExportFileWriter(output, ExportFormat.Csv, ActivityRowWriter.ColumnNames(Enum.GetValues<ExportField>(), null)))
            {
                var sink = new ActivityRowWriter(writer, Enum.GetValues<ExportField>());
                writer.WriteHeader();
                foreach (var row in new DemoActivityGenerator(1).Generate(rows, end.AddDays(-90), end, 1))
                {
                    EncodedActivity.From(row).WriteTo(sink);
                }

                writer.Complete();
            }

            Console.WriteLine($"file: {new FileInfo(csv).Length / 1e6:N0} MB ({new FileInfo(csv).Length / (double)rows:F0} B/row), written in {writing.Elapsed.TotalSeconds:F1} s");

            var storage = new ServiceCollection();
            storage.AddSpillwayStorage(new SpillwayOptions
            {
                DataPath = Path.Combine(root, "data"),
                DuckDbMemoryLimit = "1GB",
                Worker = { ChunkHours = 24 },
            });
            var services = storage.BuildServiceProvider();
            var importer = new ActivityImporter(services.GetRequiredService<IActivityStore>());
            if (once)
            {
                Measure("import (new)", rows, () => Import(importer, csv, checkOnly: false));
                services.Dispose();
                var bytes = new DirectoryInfo(Path.Combine(root, "data")).EnumerateFiles("*.duckdb*", SearchOption.AllDirectories).Sum(f => f.Length);
                Console.WriteLine($"  store: {bytes / 1e9:F2} GB, {bytes / 1e6 / (rows / 1e6):F0} MB per million; load {Load()}");
                return 0;
            }

            Measure("parse only", rows, () => Import(importer, csv, checkOnly: true));
            Measure("import (new)", rows, () => Import(importer, csv, checkOnly: false));
            Measure("import again (all present)", rows, () => Import(importer, csv, checkOnly: false));
            var reader = services.GetRequiredService<IActivityPageReader>();
            var pages = 0;
            long after = 0, seen = 0;
            var walk = Stopwatch.StartNew();
            while (walk.Elapsed < TimeSpan.FromSeconds(20))
            {
                var page = reader.ReadPageAsync(new ActivityPageQuery(1, end.AddDays(-91), after, [1, 6], null, null, 301), CancellationToken.None)
                    .GetAwaiter().GetResult();
                pages++;
                seen += Math.Min(300, page.Count);
                if (page.Count <= 300)
                {
                    break;
                }

                after = page[299].MarketoGuid;
            }

            Console.WriteLine($"  page walk (types 1,6, 300/page): {pages:N0} pages, {seen:N0} activities in {walk.Elapsed.TotalSeconds:F2} s " +
                $"({walk.Elapsed.TotalMilliseconds / pages:F1} ms/page)");
            services.Dispose();
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static ImportSummary Import(ActivityImporter importer, string path, bool checkOnly)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return importer.ImportAsync(1, stream, ActivityFileFormat.Csv, i => throw new InvalidDataException($"line {i.Line}: {i.Message}"), null,
            CancellationToken.None, checkOnly: checkOnly).GetAwaiter().GetResult();
    }

    private static void Measure(string name, long rows, Func<ImportSummary> run)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var load = Load();
        var watch = Stopwatch.StartNew();
        var summary = run();
        watch.Stop();
        process.Refresh();
        var cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        Console.WriteLine(
            $"  {name,-28} {watch.Elapsed.TotalSeconds,6:F2} s wall  {rows / watch.Elapsed.TotalSeconds,9:N0} activities/s  " +
            $"cpu {cpuSeconds:F2} s ({rows / cpuSeconds:N0} per cpu-second)  added {summary.Added:N0}  load {load}");
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
