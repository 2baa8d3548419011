using Spillway.Server.Storage;

namespace Spillway.Server.Controls;

/// <summary>
/// Keeps this node's copy of the shared controls current (PostgreSQL only): loads them all before the node serves,
/// reloads a subscription's when a change is announced, says which version it has applied (once a second at least,
/// which is also how the other nodes know it is alive), and writes the calls this node logged every quarter second.
/// </summary>
internal sealed class ControlReplication(SubscriptionControls controls, NodeIdentity node, ILogger<ControlReplication> logger,
    ISharedControlStore? shared = null) : BackgroundService
{
    // Not used on a store without shared controls (embedded): then nothing here runs.
    private ISharedControlStore store => shared!;

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan WriteInterval = TimeSpan.FromMilliseconds(250);

    private IControlChangeFeed? _feed;
    private long _applied;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (shared is null)
        {
            return;
        }

        // Before the node takes calls: a restarted node answers with the clock and rules the cluster has set.
        await ConnectAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (shared is null)
        {
            return;
        }

        await base.StopAsync(cancellationToken);
        try
        {
            await controls.WriteRequestsAsync(cancellationToken);
            await store.LeaveAsync(node.NodeId, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Could not write the last logged calls or leave the controls of the cluster");
        }

        if (_feed is not null)
        {
            await _feed.DisposeAsync();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(FollowAsync(stoppingToken), WriteLogAsync(stoppingToken));

    private async Task ConnectAsync(CancellationToken ct)
    {
        if (_feed is not null)
        {
            await _feed.DisposeAsync();
            _feed = null;
        }

        // The feed first: a change committed while loading is then both loaded and announced, never missed.
        _feed = await store.OpenFeedAsync(ct);
        var version = await store.CurrentVersionAsync(ct);
        await controls.ReloadAllAsync(ct);
        _applied = Math.Max(_applied, version);
        await store.AckAsync(node.NodeId, _applied, ct);
    }

    private async Task FollowAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_feed is null)
                {
                    await ConnectAsync(ct);
                }

                foreach (var change in await _feed!.WaitAsync(Heartbeat, ct))
                {
                    await controls.ReloadAsync(change.SubscriptionId, ct);
                    _applied = Math.Max(_applied, change.Version);
                }

                await store.AckAsync(node.NodeId, _applied, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Cut off from the database: the others stop waiting for this node after a few seconds; it reloads
                // everything when it is back.
                logger.LogWarning("Lost the controls of the cluster ({Error}); reconnecting", e.Message);
                if (_feed is not null)
                {
                    await _feed.DisposeAsync();
                    _feed = null;
                }

                await Task.Delay(Heartbeat, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task WriteLogAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(WriteInterval, ct);
                await controls.WriteRequestsAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Could not write logged calls to the request log ({Error}); retrying", e.Message);
            }
        }
    }
}
