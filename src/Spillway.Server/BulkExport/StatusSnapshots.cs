using System.Collections.Concurrent;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Realism: Marketo refreshes a job's status at most once a minute. With a refresh interval set
/// (<see cref="IExportInterventions.StatusRefreshSeconds"/>: per subscription, else the Realism settings), a status
/// poll sees the job as it was when it was last refreshed, until that many seconds have passed on the subscription's
/// clock. The calls that change a job (enqueue, cancel) always refresh it, so a client sees its own change at once.
/// </summary>
public sealed class StatusSnapshots(IExportInterventions interventions, ISubscriptionClock clock)
{
    private readonly ConcurrentDictionary<Guid, (ExportJobRecord Job, DateTimeOffset TakenAt)> _snapshots = new();

    public ExportJobRecord Show(ExportJobRecord current)
    {
        var refresh = interventions.StatusRefreshSeconds(current.SubscriptionId);
        if (refresh <= 0)
        {
            return current;
        }

        var now = clock.NowOf(current.SubscriptionId);
        if (_snapshots.TryGetValue(current.ExportId, out var shown) && now - shown.TakenAt < TimeSpan.FromSeconds(refresh))
        {
            return shown.Job;
        }

        if (_snapshots.Count > 100_000)
        {
            _snapshots.Clear();
        }

        _snapshots[current.ExportId] = (current, now);
        return current;
    }

    public void Refresh(ExportJobRecord current)
    {
        if (interventions.StatusRefreshSeconds(current.SubscriptionId) > 0)
        {
            _snapshots[current.ExportId] = (current, clock.NowOf(current.SubscriptionId));
        }
    }
}
