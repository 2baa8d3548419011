using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Realism: Marketo refreshes a job's status at most once a minute. With <see cref="RealismOptions.StatusRefreshSeconds"/>
/// set, a status poll sees the job as it was when it was last refreshed, until that many seconds have passed. The
/// calls that change a job (enqueue, cancel) always refresh it, so a client sees its own change at once.
/// </summary>
public sealed class StatusSnapshots(Controls.SubscriptionControls controls, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, (ExportJobRecord Job, DateTimeOffset TakenAt)> _snapshots = new();

    public ExportJobRecord Show(ExportJobRecord current)
    {
        var refresh = controls.StatusRefreshSeconds(current.SubscriptionId); // per subscription, else Realism settings
        if (refresh <= 0)
        {
            return current;
        }

        var now = clock.GetUtcNow();
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
        if (controls.StatusRefreshSeconds(current.SubscriptionId) > 0)
        {
            _snapshots[current.ExportId] = (current, clock.GetUtcNow());
        }
    }
}
