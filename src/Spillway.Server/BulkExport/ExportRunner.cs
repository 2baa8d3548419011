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
    private const int BatchesAhead = 8;

    /// <summary>
    /// Reads the window on a thread of its own, a bounded number of batches ahead of the writer, so that on two cores
    /// the engine read and string decoding overlap the formatting, hashing and writing. At most
    /// <see cref="BatchesAhead"/> batches wait, which bounds the memory whatever the window. The read blocks (the
    /// embedded engine has no asynchronous reads) for the whole export: on a pool thread it would leave a two-core
    /// machine's pool one thread for the writer and every request, and stall them until the pool grows.
    /// </summary>
    private IAsyncEnumerable<ActivityRecord[]> ReadAheadAsync(ActivityQuery query, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<ActivityRecord[]>(new BoundedChannelOptions(BatchesAhead) { SingleReader = true, SingleWriter = true });
        var reader = new Thread(() =>
        {
            try
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
                            Write(channel.Writer, batch, ct);
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
                    Write(channel.Writer, batch[..count], ct);
                }

                channel.Writer.Complete();
            }
            catch (Exception ex)
            {
                channel.Writer.Complete(ex);
            }
        })
        { IsBackground = true, Name = "Spillway export read" };
        reader.Start();
        return channel.Reader.ReadAllAsync(ct);
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    private static void Write(ChannelWriter<ActivityRecord[]> writer, ActivityRecord[] batch, CancellationToken ct)
    {
        while (!writer.TryWrite(batch))
        {
            if (!Wait(writer.WaitToWriteAsync(ct)))
            {
                throw new ChannelClosedException();
            }
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
                if (activities is IActivityWindowStreamer streamer)
                {
                    await streamer.StreamWindowAsync(query, writer, ct);
                }
                else
                {
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
