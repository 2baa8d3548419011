using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Runs one export: streams the window from the activity store through the file writer into a temporary file,
/// counting rows and bytes and hashing in the same pass, and flushes it to disk. Publishing and the state change
/// are <see cref="ExportCompletion"/>'s, under the lease.
/// </summary>
public sealed class ExportRunner(IActivityStore activities, ExportFileStore files, IOptions<SpillwayOptions> options)
{
    private const int BatchRows = 4096;
    private const int BatchesAhead = 8;

    /// <summary>
    /// The general path, for a store without <see cref="IActivityWindowStreamer"/>: the window's records are read in
    /// batches on one thread, a bounded number ahead of the writer on another (<see cref="WindowPipeline"/>), so the
    /// engine read and string decoding overlap the formatting, hashing and writing, and memory stays bounded.
    /// </summary>
    private Task WriteWindowAsync(ActivityQuery query, ExportFileWriter writer, CancellationToken ct) =>
        WindowPipeline.RunAsync<ActivityRecord[]>(
            BatchesAhead,
            (queue, token) => ReadBatches(query, queue, token),
            (batch, _) =>
            {
                foreach (var row in batch)
                {
                    writer.WriteRow(row);
                }
            },
            _ => { },
            ct);

    private void ReadBatches(ActivityQuery query, BlockingCollection<ActivityRecord[]> queue, CancellationToken ct)
    {
        var batch = new ActivityRecord[BatchRows];
        var count = 0;
        var rows = activities.ReadWindowAsync(query, ct).GetAsyncEnumerator(ct);
        try
        {
            while (Wait(rows.MoveNextAsync()))
            {
                batch[count++] = rows.Current;
                if (count == BatchRows)
                {
                    queue.Add(batch, ct);
                    (batch, count) = (new ActivityRecord[BatchRows], 0);
                }
            }
        }
        finally
        {
            Wait(rows.DisposeAsync());
        }

        if (count > 0)
        {
            queue.Add(batch[..count], ct);
        }
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    public async Task<(string TemporaryPath, ExportFileSummary Summary)> RunAsync(ExportJobRecord job, ExportLease lease, CancellationToken ct)
    {
        var spec = ExportSpec.FromJson(job.SpecJson);
        var fields = spec.Fields.Select(name => ExportFields.TryParse(name, out var f) ? f : throw new InvalidDataException($"Unknown field {name}")).ToList();
        var headers = spec.ColumnHeaderNames?.ToDictionary(
            kv => ExportFields.TryParse(kv.Key, out var f) ? f : throw new InvalidDataException($"Unknown field {kv.Key}"), kv => kv.Value);
        var delimiter = options.Value.Worker.SsvDelimiter is { Length: 1 } d && d[0] < 128 ? (byte)d[0] : (byte)' ';

        var path = files.NewTemporaryPath(job.ExportId, lease.NodeId, lease.FencingToken);
        try
        {
            ExportFileSummary summary;
            await using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                using var writer = new ExportFileWriter(stream, spec.Format, fields, headers, delimiter, writeBehind: true);
                writer.WriteHeader();
                var query = new ActivityQuery(job.SubscriptionId, spec.StartAt, spec.EndAt, spec.ActivityTypeIds, spec.PrimaryAttributeValueIds);
                await (activities is IActivityWindowStreamer streamer
                    ? streamer.StreamWindowAsync(query, writer, ct)
                    : WriteWindowAsync(query, writer, ct));

                summary = writer.Complete();
                // On disk before it is published: a crash after the rename must not leave a short file behind.
                stream.Flush(flushToDisk: true);
            }

            return (path, summary);
        }
        catch
        {
            ExportFileStore.TryDelete(path);
            throw;
        }
    }
}
