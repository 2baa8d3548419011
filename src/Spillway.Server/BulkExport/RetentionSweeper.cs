using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Enforces retention and removes files nobody owns: every minute, per subscription, deletes the files
/// of jobs finished more than FileRetentionDays ago (the status still says Completed; the file answers 404), deletes
/// job records older than JobRetentionDays, and removes published or temporary files whose run does not own its job.
/// </summary>
public sealed class RetentionSweeper(
    IExportJobStore jobs,
    IIdentityStore identity,
    SubscriptionDirectory subscriptions,
    ExportFileStore files,
    ISubscriptionClock clock,
    ILogger<RetentionSweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
                await Task.Delay(Interval, TimeProvider.System, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Retention sweep failed; retrying in {Interval}", Interval);
                await Task.Delay(Interval, TimeProvider.System, stoppingToken);
            }
        }
    }

    public async Task SweepAsync(CancellationToken ct)
    {
        foreach (var subscription in await identity.ListSubscriptionsAsync(ct))
        {
            // Each subscription's own clock, so moving it on expires its files and jobs.
            var now = clock.NowOf(subscription.Id);
            var limits = subscriptions.LimitsOf(subscription);
            while (true)
            {
                var expired = await jobs.ListFilesToExpireAsync(subscription.Id, now - TimeSpan.FromDays(limits.FileRetentionDays), 500, ct);
                foreach (var job in expired)
                {
                    files.Delete(job.ExportId, job.FencingToken);
                    await jobs.MarkFileExpiredAsync(job.ExportId, ct);
                }

                if (expired.Count < 500)
                {
                    break;
                }
            }

            var deleted = await jobs.DeleteJobsBeforeAsync(subscription.Id, now - TimeSpan.FromDays(limits.JobRetentionDays), ct);
            if (deleted > 0)
            {
                logger.LogInformation("Deleted {Count} expired job record(s) of {MunchkinId}", deleted, subscription.MunchkinId);
            }
        }

        foreach (var (exportId, token, path) in files.PublishedFiles())
        {
            var job = await jobs.GetByIdAsync(exportId, ct);
            var owned = job is { Status: ExportJobStatus.Completed, FileExpired: false } && job.FencingToken == token
                || job is { Status: ExportJobStatus.Processing } && job.FencingToken == token;
            if (!owned)
            {
                ExportFileStore.TryDelete(path);
            }
        }

        foreach (var (exportId, token, path) in files.TemporaryFiles())
        {
            var job = await jobs.GetByIdAsync(exportId, ct);
            if (job is not { Status: ExportJobStatus.Processing } || job.FencingToken != token)
            {
                ExportFileStore.TryDelete(path);
            }
        }
    }
}
