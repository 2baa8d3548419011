using Spillway.Server.BulkExport;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Controls;

/// <summary>The outcome of a manual job control: the job as it is now, or why it did not move (HTTP status and reason).</summary>
public sealed record JobControlResult(ExportJobRecord? Job, int Status, string? Error)
{
    public static JobControlResult Fail(int status, string error) => new(null, status, error);
}

/// <summary>
/// Manual progression (start, complete, fail a job when told) and the admin reset of a subscription. Shared by the
/// admin HTTP API and the <c>spillway control</c> command, which calls that API.
/// </summary>
public sealed class JobControls(
    IJobControlStore control,
    IExportJobStore jobs,
    IActivityStore activities,
    ILeadStore leads,
    IListStore lists,
    IIdentityStore identity,
    SubscriptionDirectory directory,
    IApiCallLimiter limiter,
    SubscriptionControls controls,
    ExportCompletion completion,
    ExportSignal signal,
    RetentionSweeper sweeper,
    ILogger<JobControls> logger)
{
    /// <summary>Queued → Processing, held there until completed or failed by hand (within the 2-slot limit).</summary>
    public async Task<JobControlResult> StartAsync(Guid exportId, CancellationToken ct)
    {
        var (job, limits) = await FindAsync(exportId, ct);
        if (job is null || limits is null)
        {
            return JobControlResult.Fail(StatusCodes.Status404NotFound, $"No export job {exportId}.");
        }

        if (job.Status != ExportJobStatus.Queued)
        {
            return JobControlResult.Fail(StatusCodes.Status409Conflict, $"Export job is {ExportJobView.StatusName(job.Status)}; only a Queued job can be started.");
        }

        var lease = await control.StartManualAsync(exportId, limits.MaxProcessingJobs, controls.NowOf(job.SubscriptionId), ct);
        return lease is null
            ? JobControlResult.Fail(StatusCodes.Status409Conflict, $"No free processing slot ({limits.MaxProcessingJobs} jobs are Processing), or the job moved.")
            : new JobControlResult(await jobs.GetByIdAsync(exportId, ct), StatusCodes.Status200OK, null);
    }

    /// <summary>Runs the export now and completes the job (starting it first when it is Queued).</summary>
    public async Task<JobControlResult> CompleteAsync(Guid exportId, CancellationToken ct)
    {
        var (lease, refusal) = await ManualLeaseAsync(exportId, ct);
        if (lease is not { } held)
        {
            return refusal!;
        }

        var job = (await jobs.GetByIdAsync(exportId, ct))!;
        if (await completion.RunToCompletionAsync(job, held, ct) is not { } summary)
        {
            return JobControlResult.Fail(StatusCodes.Status409Conflict, "The job moved meanwhile (cancelled?); nothing completed.");
        }

        logger.LogInformation("Export {ExportId} completed by hand: {Rows} rows", exportId, summary.NumberOfRecords);
        return new JobControlResult(await jobs.GetByIdAsync(exportId, ct), StatusCodes.Status200OK, null);
    }

    /// <summary>Fails the job with <paramref name="errorMsg"/> (starting it first when it is Queued).</summary>
    public async Task<JobControlResult> FailAsync(Guid exportId, string errorMsg, CancellationToken ct)
    {
        var (lease, refusal) = await ManualLeaseAsync(exportId, ct);
        if (lease is not { } held)
        {
            return refusal!;
        }

        if (!await completion.FailAsync(held, errorMsg, ct))
        {
            return JobControlResult.Fail(StatusCodes.Status409Conflict, "The job moved meanwhile (cancelled?); nothing failed.");
        }

        return new JobControlResult(await jobs.GetByIdAsync(exportId, ct), StatusCodes.Status200OK, null);
    }

    /// <summary>
    /// Removes the subscription's jobs and their files, its activities, its lists, its leads, its call counters and its controls (clock,
    /// progression, fault rules, request log). Its API users, credentials and limit overrides stay.
    /// </summary>
    public async Task<ResetView?> ResetAsync(string munchkinId, CancellationToken ct)
    {
        var subscription = munchkinId.Any(char.IsControl) || munchkinId.Length > 64 ? null : await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return null;
        }

        var deletedJobs = await jobs.DeleteSubscriptionJobsAsync(subscription.Id, ct);
        var deletedActivities = await activities.DeleteSubscriptionAsync(subscription.Id, ct);
        await lists.DeleteSubscriptionAsync(subscription.Id, ct);
        await leads.DeleteSubscriptionAsync(subscription.Id, ct);
        limiter.Reset(subscription.Id);
        await controls.ResetAsync(subscription.Id, ct);
        directory.Invalidate(subscription.Id);
        // Files whose job is gone belong to nobody now; a run still writing for a deleted job loses its lease and stops.
        await sweeper.SweepAsync(ct);
        logger.LogInformation("Reset {MunchkinId}: {Jobs} job(s), {Activities} activities removed", subscription.MunchkinId, deletedJobs, deletedActivities);
        return new ResetView(subscription.MunchkinId, deletedJobs, deletedActivities);
    }

    /// <summary>Gives held jobs back to the workers once their subscription's progression lets them start.</summary>
    public async Task<int> ReleaseDueAsync(CancellationToken ct)
    {
        var released = 0;
        foreach (var held in await control.ListHeldAsync(500, ct))
        {
            var progression = controls.ProgressionOf(held.SubscriptionId);
            if (progression.Mode == ProgressionMode.Manual)
            {
                continue;
            }

            var latency = progression.Mode == ProgressionMode.Realistic ? progression.StartLatencySeconds : 0;
            if (held.QueuedAt is { } queuedAt && queuedAt + TimeSpan.FromSeconds(latency) > controls.NowOf(held.SubscriptionId))
            {
                continue;
            }

            var subscription = await directory.GetAsync(held.SubscriptionId, ct);
            var max = subscription is null ? 2 : directory.LimitsOf(subscription).MaxProcessingJobs;
            if (await control.ReleaseAsync(held.ExportId, max, ct))
            {
                released++;
            }
        }

        if (released > 0)
        {
            signal.JobEnqueued();
        }

        return released;
    }

    private async Task<(ExportLease? Lease, JobControlResult? Refusal)> ManualLeaseAsync(Guid exportId, CancellationToken ct)
    {
        var (job, limits) = await FindAsync(exportId, ct);
        if (job is null || limits is null)
        {
            return (null, JobControlResult.Fail(StatusCodes.Status404NotFound, $"No export job {exportId}."));
        }

        if (job.Status == ExportJobStatus.Queued)
        {
            var started = await control.StartManualAsync(exportId, limits.MaxProcessingJobs, controls.NowOf(job.SubscriptionId), ct);
            return started is null
                ? (null, JobControlResult.Fail(StatusCodes.Status409Conflict, $"No free processing slot ({limits.MaxProcessingJobs} jobs are Processing)."))
                : (started, null);
        }

        var lease = await control.LeaseOfAsync(exportId, ct);
        if (job.Status != ExportJobStatus.Processing || lease is not { LeaseNode: IJobControlStore.ManualNode } manual)
        {
            return (null, JobControlResult.Fail(StatusCodes.Status409Conflict,
                $"Export job is {ExportJobView.StatusName(job.Status)}{(job.Status == ExportJobStatus.Processing ? " on a worker" : "")}; only a Queued job or one started by hand can be moved."));
        }

        return (new ExportLease(exportId, job.SubscriptionId, IJobControlStore.ManualNode, manual.FencingToken, IJobControlStore.FarFuture), null);
    }

    private async Task<(ExportJobRecord? Job, EffectiveLimits? Limits)> FindAsync(Guid exportId, CancellationToken ct)
    {
        var job = await jobs.GetByIdAsync(exportId, ct);
        var subscription = job is null ? null : await directory.GetAsync(job.SubscriptionId, ct);
        return subscription is null ? (null, null) : (job, directory.LimitsOf(subscription));
    }
}

/// <summary>Releases held jobs (start latency elapsed, or their subscription left manual mode) a few times a second.</summary>
public sealed class ProgressionReleaser(JobControls controls, ILogger<ProgressionReleaser> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await controls.ReleaseDueAsync(stoppingToken);
                await Task.Delay(Interval, TimeProvider.System, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Releasing held export jobs failed; retrying");
                await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System, stoppingToken);
            }
        }
    }
}
