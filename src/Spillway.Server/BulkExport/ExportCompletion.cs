using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Runs a job to its end under a lease, for the worker and for any other holder of a lease: the export into a
/// temporary file, then publish, then Processing → Completed under the lease's fencing token. A run that lost its
/// lease meanwhile (cancelled, or taken over by another node) discards the file it published, since nobody owns it.
/// </summary>
public sealed class ExportCompletion(
    IExportJobStore jobs,
    ExportRunner runner,
    ExportFileStore files,
    ISubscriptionClock clock,
    SpillwayMetrics metrics,
    ILogger<ExportCompletion> logger)
{
    /// <summary>
    /// The summary of the completed file, or null when the lease was no longer held at the end (the file is gone).
    /// A failure of the export itself is thrown; the caller decides how the job fails.
    /// </summary>
    public async Task<ExportFileSummary?> RunToCompletionAsync(ExportJobRecord job, ExportLease lease, CancellationToken ct)
    {
        var (path, summary) = await runner.RunAsync(job, lease, ct);
        string published;
        try
        {
            ct.ThrowIfCancellationRequested();
            published = files.Publish(path, lease.ExportId, lease.FencingToken);
        }
        catch
        {
            ExportFileStore.TryDelete(path);
            throw;
        }

        // finishedAt on the subscription's own clock: its quota day and its retention follow it.
        var completed = await jobs.CompleteAsync(lease, new ExportFileInfo(summary.NumberOfRecords, summary.FileSize, summary.FileChecksum),
            clock.NowOf(lease.SubscriptionId), CancellationToken.None);
        if (!completed)
        {
            ExportFileStore.TryDelete(published);
            logger.LogInformation("Export {ExportId} finished writing but no longer holds its lease; file discarded", lease.ExportId);
            return null;
        }

        logger.LogInformation("Export {ExportId} completed: {Rows} rows, {Bytes} bytes", lease.ExportId, summary.NumberOfRecords, summary.FileSize);
        metrics.ExportCompleted(job.Kind, summary.NumberOfRecords, summary.FileSize);
        return summary;
    }

    /// <summary>
    /// Fails the job after an engine error. The client sees a short Marketo-like message with an incident id and no
    /// internals (paths, engine messages); the log has the details under the same incident id.
    /// </summary>
    public async Task<bool> FailWithIncidentAsync(ExportLease lease, Exception error, CancellationToken ct)
    {
        var incident = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        logger.LogError(error, "Export {ExportId} failed (incident {Incident})", lease.ExportId, incident);
        return await FailAsync(lease, DiskFull.Is(error)
            ? $"Export failed: the server ran out of disk space for the file (incident {incident})"
            : $"Export failed: internal error (incident {incident})", ct);
    }

    /// <summary>Processing → Failed under the lease with exactly <paramref name="errorMsg"/>; false when the lease is no longer held.</summary>
    public Task<bool> FailAsync(ExportLease lease, string errorMsg, CancellationToken ct) =>
        jobs.FailAsync(lease, errorMsg, clock.NowOf(lease.SubscriptionId), ct);
}
