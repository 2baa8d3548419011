using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Controls;

/// <summary>
/// The test-rig controls of each subscription: its clock offset, its job progression, its fault rules, the failures
/// injected into its jobs, and its request log. Nothing here changes the contract; it changes when and how often the
/// documented answers happen.
/// <para>
/// On the embedded store (one node) they live in this process's memory and a restart clears them. On PostgreSQL they
/// live in the shared database (<see cref="ISharedControlStore"/>): each node keeps a copy of the clock, progression
/// and rules, reloaded by <see cref="ControlReplication"/> when a change is announced, and a change made through one
/// node returns once every live node has applied it. A rule's counters are decided in the database, so a rule that
/// fires twice fires twice across the cluster; the request log is written by each node in small batches.
/// </para>
/// </summary>
public sealed class SubscriptionControls(SpillwayClock clock, IOptions<SpillwayOptions> options, ISharedControlStore? shared = null)
    : ISubscriptionClock, IExportInterventions
{
    /// <summary>Entries the request log keeps per subscription (the oldest are dropped beyond).</summary>
    public const int RequestLogCapacity = 1000;

    /// <summary>Rules a subscription may hold.</summary>
    public const int MaxRules = 100;

    /// <summary>Logged calls a node holds while it cannot write them to the shared store.</summary>
    private const int UnwrittenCapacity = 10_000;

    /// <summary>How long a change through this node waits for the other live nodes to apply it.</summary>
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<int, State> _states = new();
    private readonly ConcurrentDictionary<Guid, string> _injectedFailures = new();
    private readonly ConcurrentQueue<(int SubscriptionId, RequestLogEntry Entry)> _unwritten = new();
    private readonly SemaphoreSlim _writing = new(1, 1);

    /// <summary>Whether the controls are kept in a database the nodes of a cluster share.</summary>
    public bool Shared => shared is not null;

    private State Of(int subscriptionId) => _states.GetOrAdd(subscriptionId, _ => new State());

    // ---- Clock -------------------------------------------------------------------------------------------------

    /// <summary>The subscription's offset over the server clock.</summary>
    public TimeSpan OffsetOf(int subscriptionId) =>
        _states.TryGetValue(subscriptionId, out var s) ? TimeSpan.FromTicks(Interlocked.Read(ref s.OffsetTicks)) : TimeSpan.Zero;

    /// <summary>"Now" for the subscription: the server clock plus the subscription's offset.</summary>
    public DateTimeOffset NowOf(int subscriptionId) => SpillwayClock.Clamp(clock.GetUtcNow().UtcTicks + OffsetOf(subscriptionId).Ticks);

    /// <summary>
    /// Changes the subscription's clock in one step: back to the server clock (<paramref name="reset"/>), then to
    /// <paramref name="now"/>, then forward by <paramref name="advance"/>; each part optional.
    /// </summary>
    public async Task ChangeClockAsync(int subscriptionId, bool reset, DateTimeOffset? now, TimeSpan? advance, CancellationToken ct)
    {
        long? set = now is { } wanted ? (wanted - clock.GetUtcNow()).Ticks : reset ? 0 : null;
        var add = advance?.Ticks ?? 0;
        if (shared is null)
        {
            var s = Of(subscriptionId);
            if (set is { } ticks)
            {
                Interlocked.Exchange(ref s.OffsetTicks, ticks);
            }

            Interlocked.Add(ref s.OffsetTicks, add);
            return;
        }

        await AppliedEverywhereAsync(subscriptionId, await shared.ChangeClockAsync(subscriptionId, set, add, ct), ct);
    }

    // ---- Progression -------------------------------------------------------------------------------------------

    /// <summary>The subscription's progression: what was set for it, else the server's Realism settings.</summary>
    public ProgressionSettings ProgressionOf(int subscriptionId)
    {
        if (_states.TryGetValue(subscriptionId, out var s) && s.Progression is { } set)
        {
            return set;
        }

        var realism = options.Value.Realism;
        return realism.StartLatencySeconds > 0 || realism.StatusRefreshSeconds > 0
            ? new ProgressionSettings(ProgressionMode.Realistic, Math.Max(0, realism.StartLatencySeconds), Math.Max(0, realism.StatusRefreshSeconds))
            : new ProgressionSettings(ProgressionMode.Immediate);
    }

    public async Task SetProgressionAsync(int subscriptionId, ProgressionSettings? settings, CancellationToken ct)
    {
        if (shared is null)
        {
            Of(subscriptionId).Progression = settings;
            return;
        }

        var json = settings is null ? null : JsonSerializer.Serialize(settings, ControlJson.Default.ProgressionSettings);
        await AppliedEverywhereAsync(subscriptionId, await shared.SetProgressionAsync(subscriptionId, json, ct), ct);
    }

    /// <summary>Whether a job enqueued now must wait to be released (manual, or a start latency) instead of starting at once.</summary>
    public bool HoldsAtEnqueue(int subscriptionId) => ProgressionOf(subscriptionId) is
    { Mode: ProgressionMode.Manual } or { Mode: ProgressionMode.Realistic, StartLatencySeconds: > 0 };

    /// <summary>The status refresh interval of a subscription (0 = always current).</summary>
    public double StatusRefreshSeconds(int subscriptionId) => ProgressionOf(subscriptionId) is { Mode: ProgressionMode.Realistic } p
        ? p.StatusRefreshSeconds
        : 0;

    // ---- Faults ------------------------------------------------------------------------------------------------

    internal IReadOnlyList<FaultRule> RulesOf(int subscriptionId)
    {
        if (!_states.TryGetValue(subscriptionId, out var s))
        {
            return [];
        }

        lock (s)
        {
            return [.. s.Rules];
        }
    }

    /// <summary>The subscription's rules as listed, with the counters of the whole cluster.</summary>
    internal async Task<IReadOnlyList<FaultRuleView>> RuleViewsAsync(int subscriptionId, CancellationToken ct)
    {
        if (shared is null)
        {
            return [.. RulesOf(subscriptionId).Select(r => r.View())];
        }

        var views = new List<FaultRuleView>();
        foreach (var stored in await shared.RulesAsync(subscriptionId, ct))
        {
            if (Rebuild(stored) is { } rule)
            {
                views.Add(rule.View(stored.Remaining, stored.Matched, stored.Fired));
            }
        }

        return views;
    }

    /// <summary>Adds the rule last; false when the subscription already holds <see cref="MaxRules"/>.</summary>
    internal async Task<bool> AddRuleAsync(int subscriptionId, FaultRule rule, CancellationToken ct)
    {
        if (shared is null)
        {
            var s = Of(subscriptionId);
            lock (s)
            {
                if (s.Rules.Count >= MaxRules)
                {
                    return false;
                }

                s.Rules.Add(rule);
                return true;
            }
        }

        var body = JsonSerializer.Serialize(rule.Body, ControlJson.Default.FaultRuleBody);
        if (await shared.AddRuleAsync(subscriptionId, rule.Id, body, rule.InitialCount, rule.InitialSkip, MaxRules, ct) is not { } version)
        {
            return false;
        }

        await AppliedEverywhereAsync(subscriptionId, version, ct);
        return true;
    }

    internal async Task<bool> RemoveRuleAsync(int subscriptionId, string id, CancellationToken ct)
    {
        if (shared is null)
        {
            if (!_states.TryGetValue(subscriptionId, out var s))
            {
                return false;
            }

            lock (s)
            {
                return s.Rules.RemoveAll(r => r.Id == id) > 0;
            }
        }

        if (id.Length > 64 || await shared.RemoveRuleAsync(subscriptionId, id, ct) is not { } version)
        {
            return false;
        }

        await AppliedEverywhereAsync(subscriptionId, version, ct);
        return true;
    }

    internal async Task ClearRulesAsync(int subscriptionId, CancellationToken ct)
    {
        if (shared is null)
        {
            if (_states.TryGetValue(subscriptionId, out var s))
            {
                lock (s)
                {
                    s.Rules.Clear();
                }
            }

            return;
        }

        await AppliedEverywhereAsync(subscriptionId, await shared.ClearRulesAsync(subscriptionId, ct), ct);
    }

    /// <summary>The first rule that matches the call and fires (a matching rule that does not fire lets later rules try).</summary>
    internal async ValueTask<FaultRule?> MatchAsync(int subscriptionId, string path, string email, CancellationToken ct)
    {
        if (!_states.TryGetValue(subscriptionId, out var s))
        {
            return null;
        }

        if (shared is null)
        {
            lock (s)
            {
                return s.Rules.FirstOrDefault(rule => rule.Matches(path, email) && rule.TryFire());
            }
        }

        foreach (var rule in RulesOf(subscriptionId))
        {
            if (rule.Matches(path, email))
            {
                bool chance;
                lock (rule)
                {
                    chance = rule.Chance();
                }

                if (await shared.FireAsync(subscriptionId, rule.Id, chance, ct))
                {
                    return rule;
                }
            }
        }

        return null;
    }

    /// <summary>Marks a job to fail with <paramref name="errorMsg"/> when a worker runs it.</summary>
    public async Task InjectFailureAsync(Guid exportId, string errorMsg, CancellationToken ct)
    {
        if (shared is not null)
        {
            await shared.InjectFailureAsync(exportId, errorMsg, ct);
        }
        else if (_injectedFailures.Count < 100_000)
        {
            _injectedFailures[exportId] = errorMsg;
        }
    }

    /// <summary>The failure injected into the job, if any (taken: it fires once).</summary>
    public async ValueTask<string?> TakeInjectedFailureAsync(Guid exportId, CancellationToken ct) =>
        shared is not null
            ? await shared.TakeInjectedFailureAsync(exportId, ct)
            : _injectedFailures.TryRemove(exportId, out var message) ? message : null;

    // ---- Request log -------------------------------------------------------------------------------------------

    public void Record(int subscriptionId, RequestLogEntry entry)
    {
        if (shared is not null)
        {
            // Written by the replication loop within a quarter second, and before any read of the log on this node. While
            // the database cannot be reached the oldest unwritten calls go first, as the log drops its oldest anyway.
            _unwritten.Enqueue((subscriptionId, entry));
            while (_unwritten.Count > UnwrittenCapacity && _unwritten.TryDequeue(out _))
            {
            }

            return;
        }

        var s = Of(subscriptionId);
        lock (s.Log)
        {
            s.Log.Enqueue(entry with { Sequence = ++s.LogSequence });
            while (s.Log.Count > RequestLogCapacity)
            {
                s.Log.Dequeue();
            }
        }
    }

    /// <summary>The subscription's logged calls, oldest first; the last <paramref name="limit"/> after <paramref name="afterSequence"/>.</summary>
    public async Task<IReadOnlyList<RequestLogEntry>> RequestsOfAsync(int subscriptionId, long afterSequence, int limit, CancellationToken ct)
    {
        if (shared is not null)
        {
            await WriteRequestsAsync(ct);
            var stored = await shared.RequestsAsync(subscriptionId, afterSequence, limit, ct);
            return [.. stored.Select(json => JsonSerializer.Deserialize(json, ControlJson.Default.RequestLogEntry)!)];
        }

        if (!_states.TryGetValue(subscriptionId, out var s))
        {
            return [];
        }

        lock (s.Log)
        {
            var entries = s.Log.Where(e => e.Sequence > afterSequence).ToList();
            return entries.Count <= limit ? entries : entries[^limit..];
        }
    }

    public async Task ClearRequestsAsync(int subscriptionId, CancellationToken ct)
    {
        if (shared is not null)
        {
            await WriteRequestsAsync(ct);
            await shared.ClearRequestsAsync(subscriptionId, ct);
        }
        else if (_states.TryGetValue(subscriptionId, out var s))
        {
            lock (s.Log)
            {
                s.Log.Clear();
            }
        }
    }

    /// <summary>Writes the calls this node logged and has not written yet to the shared store.</summary>
    internal async Task WriteRequestsAsync(CancellationToken ct)
    {
        if (shared is null)
        {
            return;
        }

        // Wait for a write in flight even when nothing is left to take: its calls are out of the queue but not yet in
        // the database, and a read of the log on this node must see them.
        await _writing.WaitAsync(ct);
        try
        {
            if (_unwritten.IsEmpty)
            {
                return;
            }

            var taken = new List<(int SubscriptionId, RequestLogEntry Entry)>();
            while (taken.Count < 5000 && _unwritten.TryDequeue(out var item))
            {
                taken.Add(item);
            }

            try
            {
                await shared.AppendRequestsAsync([.. taken.Select(t => (t.SubscriptionId, Entry: (Func<long, string>)(sequence =>
                    JsonSerializer.Serialize(t.Entry with { Sequence = sequence }, ControlJson.Default.RequestLogEntry))))], RequestLogCapacity, ct);
            }
            catch
            {
                // Nothing was written (one transaction): the calls wait for the next attempt, behind any logged since.
                foreach (var item in taken)
                {
                    _unwritten.Enqueue(item);
                }

                throw;
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Forgets everything about the subscription (admin reset): clock, progression, rules, log.</summary>
    public async Task ResetAsync(int subscriptionId, CancellationToken ct)
    {
        if (shared is null)
        {
            _states.TryRemove(subscriptionId, out _);
            return;
        }

        await WriteRequestsAsync(ct);
        await AppliedEverywhereAsync(subscriptionId, await shared.ResetAsync(subscriptionId, ct), ct);
    }

    // ---- Replication (shared store only) -----------------------------------------------------------------------

    /// <summary>Replaces this node's copy of every subscription's controls with the shared store's.</summary>
    internal async Task ReloadAllAsync(CancellationToken ct)
    {
        var all = await shared!.LoadAllAsync(ct);
        foreach (var id in _states.Keys.Where(id => !all.ContainsKey(id)))
        {
            _states.TryRemove(id, out _);
        }

        foreach (var (id, state) in all)
        {
            Apply(id, state);
        }
    }

    /// <summary>Replaces this node's copy of one subscription's controls with the shared store's.</summary>
    internal async Task ReloadAsync(int subscriptionId, CancellationToken ct)
    {
        if (await shared!.LoadAsync(subscriptionId, ct) is { } state)
        {
            Apply(subscriptionId, state);
        }
        else
        {
            _states.TryRemove(subscriptionId, out _);
        }
    }

    private void Apply(int subscriptionId, SharedControlState state)
    {
        var s = Of(subscriptionId);
        Interlocked.Exchange(ref s.OffsetTicks, state.ClockOffsetTicks);
        s.Progression = state.ProgressionJson is null ? null : JsonSerializer.Deserialize(state.ProgressionJson, ControlJson.Default.ProgressionSettings);
        lock (s)
        {
            // A rule this node already holds keeps its generator, so its draws go on where they were.
            var held = s.Rules.ToDictionary(r => r.Id);
            var rules = state.Rules.Select(r => held.GetValueOrDefault(r.RuleId) ?? Rebuild(r)).OfType<FaultRule>().ToList();
            s.Rules.Clear();
            s.Rules.AddRange(rules);
        }
    }

    private static FaultRule? Rebuild(SharedFaultRule stored) =>
        JsonSerializer.Deserialize(stored.BodyJson, ControlJson.Default.FaultRuleBody) is { } body ? FaultRule.Create(body, stored.RuleId).Rule : null;

    /// <summary>This node applies the change now; the others are waited for (a node that does not answer is not waited for long).</summary>
    private async Task AppliedEverywhereAsync(int subscriptionId, long version, CancellationToken ct)
    {
        await ReloadAsync(subscriptionId, ct);
        await shared!.WaitAppliedAsync(version, ApplyTimeout, ct);
    }

    private sealed class State
    {
        public long OffsetTicks;
        public volatile ProgressionSettings? Progression;
        public readonly List<FaultRule> Rules = [];
        public readonly Queue<RequestLogEntry> Log = new();
        public long LogSequence;
    }
}

/// <summary>JSON of the controls kept in the shared store.</summary>
[JsonSerializable(typeof(ProgressionSettings))]
[JsonSerializable(typeof(FaultRuleBody))]
[JsonSerializable(typeof(RequestLogEntry))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class ControlJson : JsonSerializerContext;
