namespace Spillway.Server.Storage;

/// <summary>A Queued job held back from the workers: manual progression or a start latency.</summary>
public sealed record HeldJob(Guid ExportId, int SubscriptionId, DateTimeOffset? QueuedAt);

/// <summary>
/// The few job changes made beside the lifecycle. A job is held by enqueuing it with <see cref="QueuePolicy.Hold"/>
/// (Queued like any other, but no claim takes it), released by clearing the mark, and started by hand under a lease of
/// <see cref="ManualNode"/> that never expires (no worker takes it over).
/// </summary>
public interface IJobControlStore
{
    /// <summary>The lease node of jobs started by hand.</summary>
    public const string ManualNode = "spillway-manual";

    /// <summary>When a manual lease expires: never, in practice.</summary>
    public static readonly DateTimeOffset FarFuture = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Held Queued jobs, oldest queued first.</summary>
    Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct);

    /// <summary>
    /// Lets the workers claim a held job, under the processing limit <paramref name="maxProcessing"/>; false when it is
    /// no longer held (released already, started by hand, cancelled).
    /// </summary>
    Task<bool> ReleaseAsync(Guid exportId, int maxProcessing, CancellationToken ct);

    /// <summary>Queued (held or not) → Processing under a manual lease when the subscription has a free slot; null otherwise.</summary>
    Task<ExportLease?> StartManualAsync(Guid exportId, int maxProcessing, DateTimeOffset now, CancellationToken ct);

    /// <summary>The node holding the job's lease and its fencing token.</summary>
    Task<(string? LeaseNode, long FencingToken)?> LeaseOfAsync(Guid exportId, CancellationToken ct);
}
