using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// The background half of the export engine, kept thin: claim a job under a lease, renew the lease while
/// <see cref="ExportCompletion"/> runs it to its end, fail it when the run fails. The store is the source of truth;
/// <see cref="ExportSignal"/> only wakes the loop early.
/// </summary>
public sealed class ExportWorker(
    IExportJobStore jobs,
    ExportCompletion completion,
    IExportInterventions interventions,
    ExportFileStore files,
    ExportSignal signal,
    NodeIdentity node,
    TimeProvider clock,
    IOptions<SpillwayOptions> options,
    ILogger<ExportWorker> logger) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value.Worker;
    private readonly List<Task> _running = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (node.Solo)
        {
            // Only this process can own the data folder, so whatever it held when it died starts again now.
            var requeued = await jobs.RequeueLeasesOfNodeAsync(node.NodeId, stoppingToken);
            if (requeued > 0)
            {
                logger.LogWarning("Requeued {Count} export job(s) interrupted by the previous shutdown", requeued);
            }

            foreach (var (_, _, path) in files.TemporaryFiles())
            {
                ExportFileStore.TryDelete(path);
            }
        }

        if (!_options.Enabled)
        {
            logger.LogInformation("Export worker disabled (Spillway:Worker:Enabled=false): jobs stay Queued on this node");
            return;
        }

        var leaseDuration = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var pollInterval = TimeSpan.FromSeconds(_options.PollSeconds);
        // One wait on the signal at a time, kept across turns of the loop until it ends. A turn that ends because a
        // run finished must not start a second wait beside the first: the semaphore hands a release to its oldest
        // waiter, so the next enqueue would wake the abandoned wait and this loop would sleep out the poll interval
        // (1 s by default) before starting every job but the first.
        Task<bool>? wake = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _running.RemoveAll(t => t.IsCompleted);
                while (_running.Count < Math.Max(1, _options.Concurrency))
                {
                    var now = clock.GetUtcNow();
                    var lease = await jobs.TryClaimAbandonedAsync(node.NodeId, now, leaseDuration, stoppingToken)
                        ?? await jobs.TryClaimNextAsync(node.NodeId, now, leaseDuration, stoppingToken);
                    if (lease is not { } claimed)
                    {
                        break;
                    }

                    _running.Add(Task.Run(() => RunAsync(claimed, stoppingToken), CancellationToken.None));
                }

                wake ??= signal.WaitForWorkAsync(pollInterval, stoppingToken);
                if (_running.Count > 0)
                {
                    await Task.WhenAny(wake, Task.WhenAny(_running));
                }
                else
                {
                    await wake;
                }

                if (wake.IsCompleted)
                {
                    await wake; // observes a cancellation as the OperationCanceledException below
                    wake = null;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // A store hiccup must not stop the worker; back off to the poll interval instead of spinning.
                logger.LogError(ex, "Export worker loop failed; retrying");
                await Task.Delay(pollInterval, TimeProvider.System, CancellationToken.None);
            }
        }

        await Task.WhenAll(_running);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // A graceful stop hands this node's jobs back at once instead of waiting for their leases to expire.
        await jobs.RequeueLeasesOfNodeAsync(node.NodeId, cancellationToken);
    }

    private async Task RunAsync(ExportLease lease, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        signal.Register(lease.ExportId, cts);
        using var heartbeat = new CancellationTokenSource();
        var renewals = RenewAsync(lease, cts, heartbeat.Token);
        try
        {
            // A takeover: the temporary file of the run that held the job before (a dead node's) is nobody's now.
            foreach (var (exportId, token, stale) in files.TemporaryFiles())
            {
                if (exportId == lease.ExportId && token < lease.FencingToken)
                {
                    ExportFileStore.TryDelete(stale);
                }
            }

            var job = await jobs.GetByIdAsync(lease.ExportId, cts.Token)
                ?? throw new InvalidOperationException($"Claimed job {lease.ExportId} vanished.");
            if (await interventions.TakeInjectedFailureAsync(lease.ExportId, cts.Token) is { } injected)
            {
                // The job was doomed before it ran: it fails with exactly that errorMsg.
                await completion.FailAsync(lease, injected, CancellationToken.None);
                return;
            }

            await completion.RunToCompletionAsync(job, lease, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            logger.LogInformation(stoppingToken.IsCancellationRequested
                ? "Export {ExportId} interrupted by shutdown" : "Export {ExportId} stopped: cancelled or lease lost", lease.ExportId);
        }
        catch (Exception ex)
        {
            try
            {
                await completion.FailWithIncidentAsync(lease, ex, CancellationToken.None);
            }
            catch (Exception failEx)
            {
                logger.LogError(failEx, "Could not mark export {ExportId} failed; its lease will expire", lease.ExportId);
            }
        }
        finally
        {
            await heartbeat.CancelAsync();
            await renewals;
            signal.Unregister(lease.ExportId);
        }
    }

    private async Task RenewAsync(ExportLease lease, CancellationTokenSource run, CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(_options.RenewSeconds);
        var duration = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var sinceRenewed = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(interval, TimeProvider.System, stop);
                bool held;
                try
                {
                    held = await jobs.RenewLeaseAsync(lease, clock.GetUtcNow() + duration, stop);
                    sinceRenewed.Restart();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Cut off from the store past the lease's length, the lease has surely expired and another node
                    // may run the job: stop instead of writing a file nobody will own. The fencing token would refuse
                    // the completion anyway; this only saves the work and the disk.
                    if (sinceRenewed.Elapsed >= duration)
                    {
                        logger.LogWarning(ex, "Lease of {ExportId} expired while the store was unreachable; stopping the run", lease.ExportId);
                        await run.CancelAsync();
                        return;
                    }

                    logger.LogWarning(ex, "Lease renewal of {ExportId} failed; will retry", lease.ExportId);
                    continue;
                }

                if (!held)
                {
                    await run.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended.
        }
    }
}
