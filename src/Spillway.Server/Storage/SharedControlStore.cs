namespace Spillway.Server.Storage;

/// <summary>A subscription's controls as the shared store holds them (the fault rules in the order they were added).</summary>
public sealed record SharedControlState(long ClockOffsetTicks, string? ProgressionJson, IReadOnlyList<SharedFaultRule> Rules);

/// <summary>A fault rule as stored: its id, its body as added (JSON), and its counters.</summary>
public sealed record SharedFaultRule(string RuleId, string BodyJson, int? Remaining, int Skip, long Matched, long Fired);

/// <summary>A change of a subscription's controls, announced to every node in commit order.</summary>
public readonly record struct ControlChange(long Version, int SubscriptionId);

/// <summary>The announcements of control changes, from the moment the feed was opened.</summary>
public interface IControlChangeFeed : IAsyncDisposable
{
    /// <summary>The changes announced since the last call, in commit order; empty when none came within <paramref name="timeout"/>.</summary>
    Task<IReadOnlyList<ControlChange>> WaitAsync(TimeSpan timeout, CancellationToken ct);
}

/// <summary>
/// The test-rig controls shared by the nodes of a cluster (PostgreSQL). An embedded store has one node, which keeps its
/// controls in memory and has no such store. Every change returns the control version it was given; a node that has
/// applied it says so with <see cref="AckAsync"/>, and the node that made it waits for the others with
/// <see cref="WaitAppliedAsync"/>.
/// </summary>
public interface ISharedControlStore
{
    /// <summary>The version of the last committed change.</summary>
    Task<long> CurrentVersionAsync(CancellationToken ct);

    /// <summary>Opens the feed of announced changes (before loading, so no change is missed in between).</summary>
    Task<IControlChangeFeed> OpenFeedAsync(CancellationToken ct);

    /// <summary>Every subscription that has controls set, with them.</summary>
    Task<IReadOnlyDictionary<int, SharedControlState>> LoadAllAsync(CancellationToken ct);

    /// <summary>The subscription's controls; null when it has none.</summary>
    Task<SharedControlState?> LoadAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Sets the clock offset (when <paramref name="setOffsetTicks"/> is given), then adds <paramref name="addTicks"/>.</summary>
    Task<long> ChangeClockAsync(int subscriptionId, long? setOffsetTicks, long addTicks, CancellationToken ct);

    /// <summary>Sets the progression (null: the server's default).</summary>
    Task<long> SetProgressionAsync(int subscriptionId, string? progressionJson, CancellationToken ct);

    /// <summary>Adds a rule last; null when the subscription already holds <paramref name="maxRules"/>.</summary>
    Task<long?> AddRuleAsync(int subscriptionId, string ruleId, string bodyJson, int? remaining, int skip, int maxRules, CancellationToken ct);

    /// <summary>Removes a rule; null when there was none of that id.</summary>
    Task<long?> RemoveRuleAsync(int subscriptionId, string ruleId, CancellationToken ct);

    Task<long> ClearRulesAsync(int subscriptionId, CancellationToken ct);

    /// <summary>
    /// Counts a match of the rule and decides, for the whole cluster at once, whether it fires: not once its count is
    /// spent, not while it skips, else when it has a count or <paramref name="chance"/> (the node's draw) says so.
    /// False when the rule is gone.
    /// </summary>
    Task<bool> FireAsync(int subscriptionId, string ruleId, bool chance, CancellationToken ct);

    /// <summary>The subscription's rules with their current counters.</summary>
    Task<IReadOnlyList<SharedFaultRule>> RulesAsync(int subscriptionId, CancellationToken ct);

    Task InjectFailureAsync(Guid exportId, string errorMsg, CancellationToken ct);

    /// <summary>Takes the failure injected into the job (it fires once).</summary>
    Task<string?> TakeInjectedFailureAsync(Guid exportId, CancellationToken ct);

    /// <summary>Appends entries (JSON) to their subscriptions' logs, numbering them, and keeps the last <paramref name="capacity"/> of each.</summary>
    Task AppendRequestsAsync(IReadOnlyList<(int SubscriptionId, Func<long, string> Entry)> entries, int capacity, CancellationToken ct);

    /// <summary>The last <paramref name="limit"/> entries after <paramref name="afterSequence"/>, oldest first, as JSON.</summary>
    Task<IReadOnlyList<string>> RequestsAsync(int subscriptionId, long afterSequence, int limit, CancellationToken ct);

    Task ClearRequestsAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Forgets the subscription's clock, progression, rules and log.</summary>
    Task<long> ResetAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Says that the node has applied every change up to <paramref name="version"/>, and that it is alive.</summary>
    Task AckAsync(string nodeId, long version, CancellationToken ct);

    /// <summary>The node stops: nobody waits for it any more.</summary>
    Task LeaveAsync(string nodeId, CancellationToken ct);

    /// <summary>Waits until every live node has applied <paramref name="version"/>; false when one had not within <paramref name="timeout"/>.</summary>
    Task<bool> WaitAppliedAsync(long version, TimeSpan timeout, CancellationToken ct);
}
