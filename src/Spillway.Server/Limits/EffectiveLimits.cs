using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Limits;

/// <summary>A subscription's limits: its overrides over the server defaults.</summary>
public sealed record EffectiveLimits(
    int MaxProcessingJobs,
    int MaxQueuedJobs,
    long DailyExportQuotaMegabytes,
    int FileRetentionDays,
    int JobRetentionDays,
    int ListWindowDays,
    int MaxWindowDays,
    int RateLimitCalls,
    int RateLimitWindowSeconds,
    int ConcurrentCalls,
    int DailyCallQuota,
    int TokenLifetimeSeconds,
    bool AdvancedLeadExtractFilters = true)
{
    /// <summary>The quota in bytes; an MB of quota is 2^20 bytes (documented in docs/http-api.md).</summary>
    public long DailyExportQuotaBytes => DailyExportQuotaMegabytes * 1024 * 1024;

    /// <summary>The limits the API call counters enforce.</summary>
    public CallLimits Calls => new(RateLimitCalls, RateLimitWindowSeconds, ConcurrentCalls, DailyCallQuota);

    public static EffectiveLimits Resolve(LimitDefaults d, SubscriptionLimitOverrides o) => new(
        o.MaxProcessingJobs ?? d.MaxProcessingJobs,
        o.MaxQueuedJobs ?? d.MaxQueuedJobs,
        o.DailyExportQuotaMegabytes ?? d.DailyExportQuotaMegabytes,
        o.FileRetentionDays ?? d.FileRetentionDays,
        o.JobRetentionDays ?? d.JobRetentionDays,
        o.ListWindowDays ?? d.ListWindowDays,
        o.MaxWindowDays ?? d.MaxWindowDays,
        o.RateLimitCalls ?? d.RateLimitCalls,
        o.RateLimitWindowSeconds ?? d.RateLimitWindowSeconds,
        o.ConcurrentCalls ?? d.ConcurrentCalls,
        o.DailyCallQuota ?? d.DailyCallQuota,
        o.TokenLifetimeSeconds ?? d.TokenLifetimeSeconds,
        o.AdvancedLeadExtractFilters ?? d.AdvancedLeadExtractFilters);
}

/// <summary>
/// Subscriptions and API users by id with a short cache: every API call needs its subscription's limits, and they change rarely
/// (an admin call invalidates this node's entry at once; other nodes see it within <see cref="Ttl"/>).
/// </summary>
public sealed class SubscriptionDirectory(IIdentityStore store, IOptions<SpillwayOptions> options)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<int, (Subscription Subscription, DateTimeOffset CachedAt)> _cache = new();
    private readonly ConcurrentDictionary<int, (ApiUser User, DateTimeOffset CachedAt)> _users = new();

    // Bumped by every invalidation. A read that started before an invalidation must not put what it read into the
    // cache afterwards: it may be the value from before the change, which would then be served for a whole TTL.
    private long _generation;

    public ValueTask<Subscription?> GetAsync(int subscriptionId, CancellationToken ct) =>
        GetCachedAsync(_cache, subscriptionId, store.GetSubscriptionAsync, ct);

    public ValueTask<ApiUser?> GetUserAsync(int apiUserId, CancellationToken ct) =>
        GetCachedAsync(_users, apiUserId, store.GetApiUserAsync, ct);

    private async ValueTask<T?> GetCachedAsync<T>(ConcurrentDictionary<int, (T Value, DateTimeOffset CachedAt)> cache, int id,
        Func<int, CancellationToken, Task<T?>> load, CancellationToken ct)
        where T : class
    {
        var now = TimeProvider.System.GetUtcNow();
        if (cache.TryGetValue(id, out var hit) && now - hit.CachedAt < Ttl)
        {
            return hit.Value;
        }

        var generation = Interlocked.Read(ref _generation);
        var value = await load(id, ct);
        if (value is not null)
        {
            cache[id] = (value, now);
            if (Interlocked.Read(ref _generation) != generation)
            {
                cache.TryRemove(id, out _);
            }
        }

        return value;
    }

    public void InvalidateUser(int apiUserId)
    {
        Interlocked.Increment(ref _generation);
        _users.TryRemove(apiUserId, out _);
    }

    public EffectiveLimits LimitsOf(Subscription subscription) => EffectiveLimits.Resolve(options.Value.Limits, subscription.Overrides);

    public void Invalidate(int subscriptionId)
    {
        Interlocked.Increment(ref _generation);
        _cache.TryRemove(subscriptionId, out _);
    }
}
