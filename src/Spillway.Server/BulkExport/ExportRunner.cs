using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Runs one export: streams the window from the activity store through the file writer into a temporary file,
/// counting rows and bytes and hashing in the same pass, and flushes it to disk. Publishing and the state change
/// are the worker's, under the lease.
/// </summary>
public sealed class ExportRunner(IActivityStore activities, ExportFileStore files, IOptions<SpillwayOptions> options)
{
    private const int BatchRows = 4096;
    private const int BatchesAhead = 32;

    /// <summary>
    /// Reads the window on another thread, a bounded number of batches ahead of the writer, so that on two cores the
    /// engine read and string decoding overlap the formatting, hashing and writing. At most
    /// <see cref="BatchesAhead"/> batches wait, which bounds the memory whatever the window.
    /// </summary>
    private IAsyncEnumerable<ActivityRecord[]> ReadAheadAsync(ActivityQuery query, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<ActivityRecord[]>(new BoundedChannelOptions(BatchesAhead) { SingleReader = true, SingleWriter = true });
        _ = Task.Run(async () =>
        {
            try
            {
                var batch = new List<ActivityRecord>(BatchRows);
                await foreach (var row in activities.ReadWindowAsync(query, ct))
                {
                    batch.Add(row);
                    if (batch.Count == BatchRows)
                    {
                        await channel.Writer.WriteAsync([.. batch], ct);
                        batch.Clear();
                    }
                }

                if (batch.Count > 0)
                {
                    await channel.Writer.WriteAsync([.. batch], ct);
                }

                channel.Writer.Complete();
            }
            catch (Exception ex)
            {
                channel.Writer.Complete(ex);
            }
        }, CancellationToken.None);
        return channel.Reader.ReadAllAsync(ct);
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
                using var writer = new ExportFileWriter(stream, spec.Format, fields, headers, delimiter);
                writer.WriteHeader();
                var query = new ActivityQuery(job.SubscriptionId, spec.StartAt, spec.EndAt, spec.ActivityTypeIds, spec.PrimaryAttributeValueIds);
                // Whatever ends the writing (done, cancelled, failed) also ends the read-ahead.
                using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
                try
                {
                    await foreach (var batch in ReadAheadAsync(query, reading.Token))
                    {
                        foreach (var row in batch)
                        {
                            writer.WriteRow(row);
                        }
                    }
                }
                finally
                {
                    await reading.CancelAsync();
                }

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
