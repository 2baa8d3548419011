using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

// Micro benchmarks. Usage: dotnet run -c Release --project bench/Spillway.Bench -- <command> [args]
//   format [rows] [path]   export file writer only: pre-generated rows -> Stream.Null (or a file), CSV, default fields
//   export [rows] [days]   the full API path on a server process vs the engine's own COPY of the same rows
//   import [rows] [--once] spillway import's reader and the embedded store: parse only, import, import again (--once: the import alone, and the store's size)
//   suite [--quick] [--store embedded|postgres|both] [--rows N] [--runs N] [--api-seconds N]   the issue-6 suite; writes docs/performance.md
//   api [--store embedded|postgres] [--seconds 10] [--rate 1000] [--runs 3] [--rows 30000] [--pairs] [--nodes 1] [--exporting]   the suite's status poll alone, repeated (--nodes N: a PostgreSQL cluster of N server processes, the poll spread over them; --exporting: the data set's window exported over and over meanwhile)
//   read DATA [runs]       the embedded export in process on a seeded data folder: store stream alone, with the writer, ExportRunner, DuckDB COPY
//   pgread ROWS [runs]     the PostgreSQL export in process: ExportRunner vs the COPY read alone vs psql COPY (suite data set)
//   soak [--minutes 3] [--clients 16] [--max-requests N]   many clients loop the whole flow on loopback (docs/reliability.md)
//   fuzz [--requests 100000] [--clients 4] [--seed N] [--store embedded|postgres|both]   seeded hostile requests at scale (docs/reliability.md)
//   limiter <connection string> [seconds] [clients] [rate]   the PostgreSQL call limiter alone: admit + release
//   leads [--rows 1000000] [--runs 3] [--store embedded|postgres|both] [--filter createdAt|list]   Bulk Lead Extract of N leads x 30 fields vs the engine's own CSV export (list: one static list holding every lead)
//   growth [--store embedded|postgres|both] [--sizes 10000000,30000000,100000000] [--runs 3] [--resume]   one window as the store grows (other subscriptions, same days)
//   external [--store embedded|postgres] [--clients 8] [--seconds 10] [--runs 3]   POST external.json in batches of 300 from N clients
//   prerender DATA [runs]  an experiment: the window assembled from CSV lines rendered once (DuckDB) vs the export from the columns and DuckDB's COPY
//   jobcost [--jobs 15] [--rows 30000]   a job's fixed cost: sequential small exports, enqueue to Completed, default worker settings
return args switch
{
    ["format", .. var rest] => FormatBench.Run(rest),
    ["export", .. var rest] => await ExportBench.RunAsync(rest),
    ["import", .. var rest] => ImportBench.Run(rest),
    ["suite", .. var rest] => await SuiteBench.RunAsync(rest),
    ["api", .. var rest] => await SuiteBench.ApiAsync(rest),
    ["read", .. var rest] => await ReadBench.RunAsync(rest),
    ["pgread", .. var rest] => await PgReadBench.RunAsync(rest),
    ["ingest", .. var rest] => await IngestBench.RunAsync(rest),
    ["soak", .. var rest] => await SoakBench.RunAsync(rest),
    ["limiter", .. var rest] => await LimiterBench.RunAsync(rest),
    ["fuzz", .. var rest] => await FuzzBench.RunAsync(rest),
    ["leads", .. var rest] => await LeadsBench.RunAsync(rest),
    ["jobcost", .. var rest] => await JobCostBench.RunAsync(rest),
    ["growth", .. var rest] => await GrowthBench.RunAsync(rest),
    ["external", .. var rest] => await ExternalIngestCommand.RunAsync(rest),
    ["prerender", .. var rest] => await PrerenderBench.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Spillway.Bench format [rows=3444456] [path]");
    Console.Error.WriteLine("       Spillway.Bench export [rows=10000000] [days=90] [data folder=.bench/export-<rows>]");
    Console.Error.WriteLine("       Spillway.Bench import [rows=1500000] [--once]");
    Console.Error.WriteLine("       Spillway.Bench suite [--quick] [--store embedded|postgres|both] [--rows N] [--runs N] [--api-seconds N]");
    Console.Error.WriteLine("       Spillway.Bench api [--store embedded|postgres] [--seconds 10] [--rate 1000] [--runs 3] [--rows 30000] [--pairs] [--nodes 1]");
    Console.Error.WriteLine("       Spillway.Bench soak [--minutes 3] [--clients 16] [--max-requests 2000000]");
    Console.Error.WriteLine("       Spillway.Bench fuzz [--requests 100000] [--clients 4] [--seed 20261204] [--store embedded|postgres|both]");
    Console.Error.WriteLine("       Spillway.Bench limiter <connection string> [seconds=5] [clients=8] [paced rate=1000]");
    Console.Error.WriteLine("       Spillway.Bench leads [--rows 1000000] [--runs 3] [--store embedded|postgres|both] [--filter createdAt|list]");
    Console.Error.WriteLine("       Spillway.Bench jobcost [--jobs 15] [--rows 30000]");
    return 2;
}

/// <summary>
/// Format-only benchmark of <see cref="ExportFileWriter"/>: a pool of 65,536 rows shaped like the engine baseline's
/// (notes/engine-baselines.md: attributes 149-299 bytes of JSON dense with quotes and escaped JSON-in-JSON, campaignId
/// null 30 %, primary attribute null 20 % and sometimes holding ',' or '"'), written round-robin as the UTF-8 rows a
/// store streams.
/// </summary>
internal static class FormatBench
{
    private const int PoolSize = 65_536;
    private const int Runs = 5;

    public static int Run(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 3_444_456L;
        var path = args.Length > 1 ? args[1] : null;
        var records = Generate(PoolSize);
        var pool = records.Select(EncodedActivity.From).ToArray();

        Console.WriteLine($"format: {rows:N0} rows/run, {Runs} runs after a warm-up, CSV, default fields, -> {path ?? "Stream.Null"}");
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        var attributeBytes = pool.Average(r => r.Attributes.Length);
        var attributeQuotes = pool.Average(r => r.Attributes.Count(b => b == '"'));
        Console.WriteLine($"pool: {PoolSize:N0} rows, attributes mean {attributeBytes:F0} bytes and {attributeQuotes:F1} '\"' per row");
        WriteOnce(pool, Math.Min(rows, 500_000), path); // warm-up: tiered JIT reaches its final code

        // CPU time too: on a shared machine it is what other processes disturb least.
        var results = new List<(double Seconds, double Cpu, ExportFileSummary Summary)>();
        for (var run = 0; run < Runs; run++)
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var summary = WriteOnce(pool, rows, path);
            sw.Stop();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            results.Add((sw.Elapsed.TotalSeconds, cpu, summary));
            Console.WriteLine(
                $"  run {run + 1}: {sw.Elapsed.TotalSeconds:F3} s (CPU {cpu:F3} s)  {rows / sw.Elapsed.TotalSeconds / 1e6:F2} M rows/s  " +
                $"{summary.FileSize / sw.Elapsed.TotalSeconds / 1e6:F0} MB/s");
        }

        var medianCpu = results.Select(r => r.Cpu).Order().ElementAt(Runs / 2);
        results.Sort((a, b) => a.Seconds.CompareTo(b.Seconds));
        var (median, last) = (results[Runs / 2].Seconds, results[^1].Summary);
        Console.WriteLine(
            $"median: {median:F3} s (CPU {medianCpu:F3} s)  {rows / median / 1e6:F2} M rows/s  {last.FileSize / median / 1e6:F0} MB/s  " +
            $"({last.FileSize:N0} bytes, {(double)last.FileSize / rows:F0} B/row, {last.FileChecksum[..19]}...), load {SuiteBench.LoadAverage()}");

        // The writer hashes every byte (SHA-256) in the same pass; this is that share of the time, alone.
        var block = new byte[ExportFileWriter.DefaultBufferSize];
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var hashWatch = Stopwatch.StartNew();
        for (long done = 0; done < last.FileSize; done += block.Length)
        {
            sha.AppendData(block);
        }

        hashWatch.Stop();
        Console.WriteLine($"of which SHA-256 of the same byte count alone: {hashWatch.Elapsed.TotalSeconds:F3} s ({last.FileSize / hashWatch.Elapsed.TotalSeconds / 1e6:F0} MB/s)");
        return 0;
    }

    private static ExportFileSummary WriteOnce(EncodedActivity[] pool, long rows, string? path)
    {
        using var output = path is null ? Stream.Null : new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.SequentialScan);
        using var writer = new ExportFileWriter(output, ExportFormat.Csv, ActivityRowWriter.ColumnNames(ExportFields.Default, null));
        var sink = new ActivityRowWriter(writer, ExportFields.Default);
        writer.WriteHeader();
        for (long i = 0; i < rows; i++)
        {
            pool[i & (PoolSize - 1)].WriteTo(sink);
        }

        return writer.Complete();
    }

    private static ActivityRecord[] Generate(int count)
    {
        var random = new Random(20250101);
        var start = new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero);
        var keys = new[]
        {
            "Reason", "Program Member ID", "Acquired By", "Old Status", "New Status ID", "Success", "New Status",
            "Old Status ID", "Source Type", "List Name", "Webpage URL", "Query Parameters", "Client IP Address",
            "Referrer URL", "User Agent", "Form Fields",
        };
        var pool = new ActivityRecord[count];
        var json = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            // About 111 k rows per day, as in the baseline's 31-day window: the pool spans ~14 hours, in date order.
            var date = start.AddSeconds(i * 0.78);
            json.Clear().Append('{');
            var target = random.Next(149, 300);
            var keyCount = 0;
            while (json.Length < target - 20 || keyCount < 2)
            {
                if (keyCount > 0)
                {
                    json.Append(',');
                }

                var key = keys[random.Next(keys.Length)];
                json.Append('"').Append(key).Append("\":");
                switch (random.Next(5))
                {
                    case 0: json.Append(random.Next(1, 100_000)); break;
                    case 1: json.Append(random.Next(2) == 0 ? "true" : "false"); break;
                    case 2: json.Append("\"{\\\"id\\\":").Append(random.Next(1000)).Append(",\\\"name\\\":\\\"x\\\"}\""); break;
                    default: json.Append('"').Append(Word(random, 6, 30)).Append('"'); break;
                }

                keyCount++;
                if (keyCount == 9)
                {
                    break;
                }
            }

            json.Append('}');
            string? primary = random.Next(5) == 0 ? null : Word(random, 10, 30);
            if (primary is not null && random.Next(20) == 0)
            {
                primary = random.Next(2) == 0 ? primary.Insert(primary.Length / 2, ",") : primary.Insert(3, "\"");
            }

            pool[i] = new ActivityRecord(
                MarketoGuid: 5_000_000_000L + (3L * i) + random.Next(3),
                LeadId: random.Next(1, 2_000_001),
                ActivityDate: date,
                ActivityTypeId: random.Next(1, 50),
                CampaignId: random.Next(10) < 3 ? null : random.Next(1, 20_000),
                PrimaryAttributeValueId: primary is null ? null : random.Next(1, 50_000),
                PrimaryAttributeValue: primary,
                Attributes: json.ToString(),
                ActionResult: "succeeded");
        }

        return pool;
    }

    private static string Word(Random random, int min, int max)
    {
        var length = random.Next(min, max + 1);
        return string.Create(length, random, static (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = i % 7 == 6 ? ' ' : (char)('a' + r.Next(26));
            }
        });
    }
}
