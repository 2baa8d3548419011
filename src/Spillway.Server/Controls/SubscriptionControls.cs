using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;

namespace Spillway.Server.Controls;

/// <summary>
/// The test-rig controls of each subscription, held in memory on this node (a restart clears them, and every node of
/// a cluster has its own): the subscription's clock offset, its job progression, its fault rules, the failures
/// injected into its jobs, and its request log. Nothing here changes the contract; it changes when and how often
/// the documented answers happen.
/// </summary>
public sealed class SubscriptionControls(SpillwayClock clock, IOptions<SpillwayOptions> options) : ISubscriptionClock, IExportInterventions
{
    /// <summary>Entries the request log keeps per subscription (the oldest are dropped beyond).</summary>
    public const int RequestLogCapacity = 1000;

    /// <summary>Rules a subscription may hold.</summary>
    public const int MaxRules = 100;

    private readonly ConcurrentDictionary<int, State> _states = new();
    private readonly ConcurrentDictionary<Guid, string> _injectedFailures = new();

    private State Of(int subscriptionId) => _states.GetOrAdd(subscriptionId, _ => new State());

    // ---- Clock -------------------------------------------------------------------------------------------------

    /// <summary>The subscription's offset over the server clock.</summary>
    public TimeSpan OffsetOf(int subscriptionId) =>
        _states.TryGetValue(subscriptionId, out var s) ? TimeSpan.FromTicks(Interlocked.Read(ref s.OffsetTicks)) : TimeSpan.Zero;

    /// <summary>"Now" for the subscription: the server clock plus the subscription's offset.</summary>
    public DateTimeOffset NowOf(int subscriptionId) => SpillwayClock.Clamp(clock.GetUtcNow().UtcTicks + OffsetOf(subscriptionId).Ticks);

    public void AdvanceClock(int subscriptionId, TimeSpan by) => Interlocked.Add(ref Of(subscriptionId).OffsetTicks, by.Ticks);

    /// <summary>Sets the subscription's "now" (the server clock's own offset stays as it is).</summary>
    public void SetClock(int subscriptionId, DateTimeOffset now)
    {
        Interlocked.Exchange(ref Of(subscriptionId).OffsetTicks, (now - clock.GetUtcNow()).Ticks);
    }

    public void ResetClock(int subscriptionId)
    {
        if (_states.TryGetValue(subscriptionId, out var s))
        {
            Interlocked.Exchange(ref s.OffsetTicks, 0);
        }
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

    public void SetProgression(int subscriptionId, ProgressionSettings? settings) => Of(subscriptionId).Progression = settings;

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

    internal bool AddRule(int subscriptionId, FaultRule rule)
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

    internal bool RemoveRule(int subscriptionId, string id)
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

    internal void ClearRules(int subscriptionId)
    {
        if (_states.TryGetValue(subscriptionId, out var s))
        {
            lock (s)
            {
                s.Rules.Clear();
            }
        }
    }

    /// <summary>The first rule that matches the call and fires (a matching rule that does not fire lets later rules try).</summary>
    internal FaultRule? Match(int subscriptionId, string path, string email)
    {
        if (!_states.TryGetValue(subscriptionId, out var s))
        {
            return null;
        }

        lock (s)
        {
            if (s.Rules.Count == 0)
            {
                return null;
            }

            foreach (var rule in s.Rules)
            {
                if (rule.Matches(path, email) && rule.TryFire())
                {
                    return rule;
                }
            }

            return null;
        }
    }

    /// <summary>Marks a job to fail with <paramref name="errorMsg"/> when a worker runs it.</summary>
    public void InjectFailure(Guid exportId, string errorMsg)
    {
        if (_injectedFailures.Count < 100_000)
        {
            _injectedFailures[exportId] = errorMsg;
        }
    }

    /// <summary>The failure injected into the job, if any (taken: it fires once).</summary>
    public string? TakeInjectedFailure(Guid exportId) => _injectedFailures.TryRemove(exportId, out var message) ? message : null;

    // ---- Request log -------------------------------------------------------------------------------------------

    public void Record(int subscriptionId, RequestLogEntry entry)
    {
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
    public IReadOnlyList<RequestLogEntry> RequestsOf(int subscriptionId, long afterSequence = 0, int limit = RequestLogCapacity)
    {
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

    public void ClearRequests(int subscriptionId)
    {
        if (_states.TryGetValue(subscriptionId, out var s))
        {
            lock (s.Log)
            {
                s.Log.Clear();
            }
        }
    }

    /// <summary>Forgets everything about the subscription (admin reset): clock, progression, rules, log.</summary>
    public void Reset(int subscriptionId) => _states.TryRemove(subscriptionId, out _);

    private sealed class State
    {
        public long OffsetTicks;
        public volatile ProgressionSettings? Progression;
        public readonly List<FaultRule> Rules = [];
        public readonly Queue<RequestLogEntry> Log = new();
        public long LogSequence;
    }
}
