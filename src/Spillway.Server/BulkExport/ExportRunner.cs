using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Runs one export of any kind: opens a temporary file, has the job's kind write it (rows, bytes and hash in one pass),
/// and flushes it to disk. Publishing and the state change are <see cref="ExportCompletion"/>'s, under the lease.
/// </summary>
public sealed class ExportRunner(ExtractKinds kinds, ExportFileStore files)
{
    public async Task<(string TemporaryPath, ExportFileSummary Summary)> RunAsync(ExportJobRecord job, ExportLease lease, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        var kind = kinds.Get(job.Kind);
        var path = files.NewTemporaryPath(job.ExportId, lease.NodeId, lease.FencingToken);
        try
        {
            ExportFileSummary summary;
            await using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                summary = await kind.WriteFileAsync(job, stream, ct);
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
