using Spillway.Server.Storage;

namespace Spillway.Server.Limits;

/// <summary>
/// The values a subscription limit may take. A limit is used in date and byte arithmetic (now minus ListWindowDays,
/// a quota in MB times 2^20), so a value past these bounds would overflow there; it is refused when it is set.
/// </summary>
public static class LimitRanges
{
    /// <summary>A day count: up to 100 years.</summary>
    public const int MaxDays = 36_500;

    /// <summary>A daily export quota in MB: 2^40 MB (its bytes still fit a long).</summary>
    public const long MaxQuotaMegabytes = 1L << 40;

    /// <summary>The first limit out of range, as a sentence, or null when all are in range.</summary>
    public static string? Check(SubscriptionLimitOverrides o)
    {
        (string Name, long? Value, long Min, long Max)[] limits =
        [
            ("maxProcessingJobs", o.MaxProcessingJobs, 0, int.MaxValue),
            ("maxQueuedJobs", o.MaxQueuedJobs, 0, int.MaxValue),
            ("dailyExportQuotaMegabytes", o.DailyExportQuotaMegabytes, 0, MaxQuotaMegabytes),
            ("fileRetentionDays", o.FileRetentionDays, 0, MaxDays),
            ("jobRetentionDays", o.JobRetentionDays, 0, MaxDays),
            ("listWindowDays", o.ListWindowDays, 0, MaxDays),
            ("maxWindowDays", o.MaxWindowDays, 1, MaxDays),
            ("rateLimitCalls", o.RateLimitCalls, 0, int.MaxValue),
            ("rateLimitWindowSeconds", o.RateLimitWindowSeconds, 1, MaxDays * 86_400L),
            ("concurrentCalls", o.ConcurrentCalls, 0, int.MaxValue),
            ("dailyCallQuota", o.DailyCallQuota, 0, int.MaxValue),
            ("tokenLifetimeSeconds", o.TokenLifetimeSeconds, 1, MaxDays * 86_400L),
        ];
        foreach (var (name, value, min, max) in limits)
        {
            if (value is { } v && (v < min || v > max))
            {
                return $"{name} is from {min} to {max}.";
            }
        }

        return null;
    }
}
