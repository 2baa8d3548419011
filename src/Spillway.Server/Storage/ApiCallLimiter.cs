using System.Collections.Concurrent;
using Spillway.Contracts;
using Spillway.Server.Hosting;

namespace Spillway.Server.Storage;

/// <summary>
/// Marketo's API call limits per subscription, shared by all its API users: calls per rolling window
/// (606), calls in flight (615) and calls per quota day (607). Calls it refuses are not counted.
/// </summary>
public interface IApiCallLimiter
{
    // The caller as the counters need it (its subscription, its email for the daily per-user figures, its limits): the
    // access filter passes its ApiCaller through the extension methods in Identity/ApiCallerLimits.cs.

    /// <summary>Admits a call, or returns the error. An admitted call must be released when it ends.</summary>
    ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct);

    /// <summary>The calls of the quota day that contains <paramref name="now"/>.</summary>
    ValueTask<UsageDay> UsageAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct);

    /// <summary>The admitted calls of the rate window that ends at <paramref name="now"/> (what the 606 check counts).</summary>
    ValueTask<long> CallsInWindowAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct);

    /// <summary>Forgets a subscription's counters (admin reset).</summary>
    void Reset(int subscriptionId);
}

/// <summary>Who calls, for the call counters: the subscription, the API user's email and the subscription's call limits.</summary>
public sealed record CallerCallLimits(int SubscriptionId, string Email, CallLimits Limits);

/// <summary>The call limits of a subscription: calls per rolling window (606), calls in flight (615), calls per quota day (607).</summary>
public sealed record CallLimits(int RateLimitCalls, int RateLimitWindowSeconds, int ConcurrentCalls, int DailyCallQuota);

/// <summary>
/// An admitted call; disposing it frees its concurrency slot. The gate awaits the release before the response is
/// finished, so a client's next call never finds its own previous call still counted as in flight.
/// </summary>
public sealed class CallPermit(Func<ValueTask> release) : IAsyncDisposable
{
    private Func<ValueTask>? _release = release;

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _release, null)?.Invoke() ?? ValueTask.CompletedTask;
}

/// <summary>
/// The limiter of a single-node server: exact, in memory. (A cluster needs the counters in the shared database.)
/// </summary>
public sealed class InMemoryApiCallLimiter : IApiCallLimiter
{
    private readonly ConcurrentDictionary<int, Counters> _bySubscription = new();

    public ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        var limits = caller.Limits;
        var counters = _bySubscription.GetOrAdd(caller.SubscriptionId, _ => new Counters());
        lock (counters)
        {
            var day = SpillwayClock.QuotaDay(now);
            if (counters.Day != day)
            {
                counters.Day = day;
                counters.ByUser.Clear();
                counters.DayTotal = 0;
            }

            var windowStart = now.UtcTicks - TimeSpan.FromSeconds(limits.RateLimitWindowSeconds).Ticks;
            while (counters.Recent.Count > 0 && (counters.Recent.Peek() <= windowStart || counters.Recent.Peek() > now.UtcTicks))
            {
                // Entries "from the future" exist only after the clock was set back; they no longer count.
                counters.Recent.Dequeue();
            }

            if (counters.DayTotal >= limits.DailyCallQuota)
            {
                return ValueTask.FromResult<(CallPermit?, MarketoError?)>((null, MarketoErrors.DailyQuotaReached));
            }

            if (counters.Recent.Count >= limits.RateLimitCalls)
            {
                return ValueTask.FromResult<(CallPermit?, MarketoError?)>((null,
                    MarketoErrors.RateLimitExceeded(limits.RateLimitCalls, limits.RateLimitWindowSeconds)));
            }

            if (counters.InFlight >= limits.ConcurrentCalls)
            {
                return ValueTask.FromResult<(CallPermit?, MarketoError?)>((null, MarketoErrors.ConcurrentAccessLimit(limits.ConcurrentCalls)));
            }

            counters.Recent.Enqueue(now.UtcTicks);
            counters.InFlight++;
            counters.DayTotal++;
            counters.ByUser[caller.Email] = counters.ByUser.GetValueOrDefault(caller.Email) + 1;
        }

        return ValueTask.FromResult<(CallPermit?, MarketoError?)>((new CallPermit(() =>
        {
            lock (counters)
            {
                counters.InFlight--;
            }

            return ValueTask.CompletedTask;
        }), null));
    }

    public ValueTask<UsageDay> UsageAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        var day = SpillwayClock.QuotaDay(now);
        var usage = new UsageDay { Date = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
        if (_bySubscription.TryGetValue(caller.SubscriptionId, out var counters))
        {
            lock (counters)
            {
                if (counters.Day == day)
                {
                    usage = usage with
                    {
                        Total = counters.DayTotal,
                        Users = [.. counters.ByUser.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new UsageByUser(u.Key, u.Value))],
                    };
                }
            }
        }

        return ValueTask.FromResult(usage);
    }

    public ValueTask<long> CallsInWindowAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        if (!_bySubscription.TryGetValue(caller.SubscriptionId, out var counters))
        {
            return ValueTask.FromResult(0L);
        }

        var windowStart = now.UtcTicks - TimeSpan.FromSeconds(caller.Limits.RateLimitWindowSeconds).Ticks;
        lock (counters)
        {
            return ValueTask.FromResult((long)counters.Recent.Count(at => at > windowStart && at <= now.UtcTicks));
        }
    }

    public void Reset(int subscriptionId) => _bySubscription.TryRemove(subscriptionId, out _);

    private sealed class Counters
    {
        public DateOnly Day;
        public long DayTotal;
        public int InFlight;
        public readonly Queue<long> Recent = new();
        public readonly Dictionary<string, long> ByUser = new(StringComparer.Ordinal);
    }
}
