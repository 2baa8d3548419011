using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Runs one export: streams the window from the activity store through the file writer into a temporary file,
/// counting rows and bytes and hashing in the same pass, and flushes it to disk. Publishing and the state change
/// are the worker's, under the lease.
/// </summary>
public sealed class ExportRunner(IActivityWindowStreamer activities, ExportFileStore files, IOptions<SpillwayOptions> options)
{
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
                await activities.StreamWindowAsync(query, writer, ct);

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
