using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using DuckDB.NET.Data;
using DuckDB.NET.Native;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;

/// <summary>
/// An experiment before a design (issue 16's "twice as fast as the engine's COPY"): what would an export cost if every
/// activity's CSV line for the default fields were rendered once, at ingest, and kept in date order beside the columns?
/// On an existing embedded data folder (server stopped) it renders every activity's line with DuckDB into a separate
/// file (its time and size stand for the ingest and store cost), then assembles the 31-day window's file from those
/// lines (read, SHA-256, write, fsync) and checks it byte for byte against the server's own export of the window
/// (ExportRunner), beside DuckDB's COPY of the columns. Nothing here is used by the server.
/// Usage: prerender DATA_FOLDER [runs=3]
/// </summary>
internal static class PrerenderBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var data = Path.GetFullPath(args[0]);
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var (start, end) = BenchRunner.MiddleWindow(data);
        var source = Path.Combine(data, "activities.duckdb");
        var rendered = Path.Combine(data, "prerendered.duckdb");
        Console.WriteLine($"prerender bench: {data}, window {start:u} .. {end:u}, load {SuiteBench.LoadAverage()}");

        if (!File.Exists(rendered))
        {
            Build(source, rendered);
        }

        var sourceBytes = new FileInfo(source).Length;
        var renderedBytes = new FileInfo(rendered).Length;
        Console.WriteLine($"  store: columns {sourceBytes / 1e6:F0} MB, rendered lines {renderedBytes / 1e6:F0} MB ({(double)renderedBytes / sourceBytes:F2} x the columns)");

        // The server's own export of the window: the bytes the rendered lines must reproduce.
        var header = "";
        ExportFileSummary? reference = null;
        using (var store = new DuckDbActivityStore(source, Path.Combine(data, "duckdb-tmp"), TimeSpan.FromHours(6), "256MB"))
        {
            var options = Microsoft.Extensions.Options.Options.Create(new Spillway.Server.Hosting.SpillwayOptions { DataPath = data });
            var runner = BenchRunner.Create(store, options);
            for (var run = 0; run < runs; run++)
            {
                var watch = Stopwatch.StartNew();
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var (path, summary) = await BenchRunner.RunCsvAsync(runner, 1, start, end);
                Console.WriteLine($"  run {run + 1}: ExportRunner from the columns {watch.Elapsed.TotalSeconds:F2} s (CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F2} s), {summary.NumberOfRecords:N0} rows, {summary.FileSize / 1e6:F0} MB");
                using (var reader = new StreamReader(path))
                {
                    header = reader.ReadLine()! + "\n";
                }

                File.Delete(path);
                reference = summary;
            }
        }

        for (var run = 0; run < runs; run++)
        {
            var output = Path.Combine(data, "prerendered.csv");
            var watch = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var (rows, bytes, checksum) = Assemble(rendered, start, end, header, output, pipelined: run % 2 == 1);
            var seconds = watch.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            File.Delete(output);
            var nativeCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var native = SuiteBench.DuckNativeCopy(data, start, end, null);
            var nativeCpu = (Process.GetCurrentProcess().TotalProcessorTime - nativeCpu0).TotalSeconds;
            Console.WriteLine(
                $"  run {run + 1}: assembled from rendered lines ({(run % 2 == 1 ? "hash and write on a second thread" : "one thread")}) {seconds:F2} s (CPU {cpu:F2} s), {rows:N0} rows, {bytes / 1e6:F0} MB, " +
                $"same bytes as the export: {(checksum == reference!.FileChecksum["sha256:".Length..] && bytes == reference.FileSize ? "yes" : "NO")}; " +
                $"DuckDB COPY of the columns {native:F2} s (CPU {nativeCpu:F2} s); ratio {seconds / native:F2}");
        }

        return 0;
    }

    /// <summary>Every activity's line (default fields, CSV, as the export writes it), in (subscription, date, GUID) order.</summary>
    private static void Build(string source, string rendered)
    {
        using var connection = new DuckDBConnection($"Data Source={rendered}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SET memory_limit = '4GB';
            ATTACH '{source}' AS src (READ_ONLY);
            CREATE MACRO cell(x) AS CASE WHEN x IS NULL THEN 'null'
                WHEN contains(x, ',') OR contains(x, '"') OR contains(x, chr(10)) OR contains(x, chr(13)) THEN '"' || replace(x, '"', '""') || '"'
                ELSE x END;
            CREATE TABLE rendered AS
            SELECT subscription_id, activity_ts, marketo_guid,
                   concat(marketo_guid, ',', lead_id, ',', strftime(make_timestamp(activity_ts * 1000000), '%Y-%m-%dT%H:%M:%SZ'), ',',
                          activity_type_id, ',', coalesce(campaign_id::VARCHAR, 'null'), ',', coalesce(primary_attribute_value_id::VARCHAR, 'null'), ',',
                          cell(primary_attribute_value), ',', cell(attributes), chr(10)) AS line
              FROM src.activity
             ORDER BY subscription_id, activity_ts, marketo_guid;
            DETACH src;
            CHECKPOINT;
            """;
        var watch = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        command.ExecuteNonQuery();
        var rows = Convert.ToInt64(new DuckDBCommand("SELECT count(*) FROM rendered", connection).ExecuteScalar(), CultureInfo.InvariantCulture);
        Console.WriteLine(
            $"  rendered {rows:N0} activities in {watch.Elapsed.TotalSeconds:F1} s (CPU {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s, " +
            $"{rows / watch.Elapsed.TotalSeconds:N0} activities/s)");
    }

    /// <summary>
    /// The window's file from the rendered lines: header, then the lines as DuckDB holds them (no ORDER BY: the table
    /// was written in order and a plain scan keeps insertion order), hashed and written in 1 MB blocks, then fsync.
    /// </summary>
    private static unsafe (long Rows, long Bytes, string Checksum) Assemble(string rendered, DateTimeOffset start, DateTimeOffset end, string header,
        string output, bool pipelined)
    {
        using var connection = new DuckDBConnection($"Data Source={rendered};ACCESS_MODE=READ_ONLY");
        connection.Open();
        var native = connection.NativeConnection;
        var sql = string.Create(CultureInfo.InvariantCulture,
            $"SELECT line FROM rendered WHERE subscription_id = 1 AND activity_ts BETWEEN {start.ToUnixTimeSeconds()} AND {end.ToUnixTimeSeconds()}");
        if (NativeMethods.PreparedStatements.DuckDBPrepare(native, sql, out var statement) != DuckDBState.Success
            || NativeMethods.PreparedStatements.DuckDBExecutePreparedStreaming(statement, out var result) != DuckDBState.Success)
        {
            throw new InvalidOperationException("the rendered window query failed");
        }

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.SequentialScan);
        using var full = new System.Collections.Concurrent.BlockingCollection<(byte[] Block, int Length)>(4);
        var spare = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        var writer = new Thread(() =>
        {
            foreach (var (block, length) in full.GetConsumingEnumerable())
            {
                sha.AppendData(block, 0, length);
                file.Write(block, 0, length);
                spare.Enqueue(block);
            }
        });
        if (pipelined)
        {
            writer.Start();
        }

        var buffer = new byte[1 << 20];
        var pos = System.Text.Encoding.UTF8.GetBytes(header, buffer);
        long rows = 0, bytes = 0;
        void Flush()
        {
            bytes += pos;
            if (pipelined)
            {
                full.Add((buffer, pos));
                buffer = spare.TryDequeue(out var next) ? next : new byte[1 << 20];
            }
            else
            {
                sha.AppendData(buffer, 0, pos);
                file.Write(buffer, 0, pos);
            }

            pos = 0;
        }

        try
        {
            while (true)
            {
                var chunk = NativeMethods.Query.DuckDBFetchChunk(result);
                var count = chunk.IsInvalid ? 0 : (int)NativeMethods.DataChunks.DuckDBDataChunkGetSize(chunk);
                if (count == 0)
                {
                    chunk.Dispose();
                    break;
                }

                var lines = (DuckDBString*)NativeMethods.Vectors.DuckDBVectorGetData(NativeMethods.DataChunks.DuckDBDataChunkGetVector(chunk, 0));
                for (var i = 0; i < count; i++)
                {
                    var value = (byte*)&lines[i];
                    var length = *(int*)value;
                    var line = length <= 12 ? new ReadOnlySpan<byte>(value + 4, length) : new ReadOnlySpan<byte>(*(byte**)(value + 8), length);
                    if (line.Length > buffer.Length - pos)
                    {
                        Flush();
                    }

                    line.CopyTo(buffer.AsSpan(pos));
                    pos += line.Length;
                }

                rows += count;
                chunk.Dispose();
            }
        }
        finally
        {
            NativeMethods.Query.DuckDBDestroyResult(ref result);
            statement.Dispose();
        }

        Flush();
        full.CompleteAdding();
        if (pipelined)
        {
            writer.Join();
        }

        file.Flush(flushToDisk: true);
        return (rows, bytes, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }
}
