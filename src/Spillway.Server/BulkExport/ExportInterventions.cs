using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;

namespace Spillway.Server.BulkExport;

/// <summary>
/// What may bend a job's progress without changing the contract: whether a job is held at enqueue (something else
/// releases it later), a failure injected into a job, and how stale a status poll may be. The engine asks only
/// this; by default nothing is held or injected and status refreshes follow the Realism settings.
/// </summary>
public interface IExportInterventions
{
    /// <summary>Whether a job of the subscription enqueued now waits to be released instead of being claimable at once.</summary>
    bool HoldsAtEnqueue(int subscriptionId);

    /// <summary>The errorMsg the job must fail with instead of running, if any; taken, so it fires once.</summary>
    ValueTask<string?> TakeInjectedFailureAsync(Guid exportId, CancellationToken ct);

    /// <summary>How often a status poll of the subscription's jobs sees a fresh state, in seconds (0 = always current).</summary>
    double StatusRefreshSeconds(int subscriptionId);
}

/// <summary>No holds and no injected failures; status refreshes at the server's Realism interval.</summary>
public sealed class DefaultExportInterventions(IOptions<SpillwayOptions> options) : IExportInterventions
{
    public bool HoldsAtEnqueue(int subscriptionId) => false;

    public ValueTask<string?> TakeInjectedFailureAsync(Guid exportId, CancellationToken ct) => ValueTask.FromResult<string?>(null);

    public double StatusRefreshSeconds(int subscriptionId) => Math.Max(0, options.Value.Realism.StatusRefreshSeconds);
}
