using System.Globalization;

namespace Spillway.Server.Hosting;

/// <summary>
/// The rules every <see cref="SpillwayOptions"/> must meet whatever the store, one line per broken rule naming the
/// setting, so a bad setting stops the server at start instead of misbehaving later (a zero poll interval spins, a
/// lease shorter than its renewal is lost while the job runs, a negative processing limit reads as a held queue).
/// </summary>
public static class SpillwayOptionsRules
{
    private const string Worker = "Spillway:Worker:";
    private const string Limits = "Spillway:Limits:";
    private const string Realism = "Spillway:Realism:";

    public static IEnumerable<string> Problems(SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            problems.Add("Spillway:DataPath must not be empty.");
        }

        if (options.InMemory && !string.Equals(options.Provider, "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add("Spillway:InMemory keeps the embedded store in memory; it cannot be combined with Spillway:Provider=" + options.Provider + ".");
        }

        if (options.NodeId is not null && string.IsNullOrWhiteSpace(options.NodeId))
        {
            problems.Add("Spillway:NodeId must not be empty when it is set.");
        }

        var worker = options.Worker;
        Positive(problems, Worker + "LeaseSeconds", worker.LeaseSeconds);
        Positive(problems, Worker + "RenewSeconds", worker.RenewSeconds);
        Positive(problems, Worker + "PollSeconds", worker.PollSeconds);
        if (worker.LeaseSeconds > 0 && worker.RenewSeconds > 0 && worker.RenewSeconds >= worker.LeaseSeconds)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"{Worker}LeaseSeconds must be greater than {Worker}RenewSeconds (got {worker.LeaseSeconds} and {worker.RenewSeconds})."));
        }

        AtLeast(problems, Worker + "Concurrency", worker.Concurrency, 1);
        AtLeast(problems, Worker + "ChunkHours", worker.ChunkHours, 1);

        // Zero is a usable rehearsal for the job limits and the export quota (every enqueue or create is refused);
        // below zero is not, and a negative processing limit would read as a held queue.
        var limits = options.Limits;
        AtLeast(problems, Limits + "MaxProcessingJobs", limits.MaxProcessingJobs, 0);
        AtLeast(problems, Limits + "MaxQueuedJobs", limits.MaxQueuedJobs, 0);
        AtLeast(problems, Limits + "DailyExportQuotaMegabytes", limits.DailyExportQuotaMegabytes, 0);
        AtLeast(problems, Limits + "FileRetentionDays", limits.FileRetentionDays, 1);
        AtLeast(problems, Limits + "JobRetentionDays", limits.JobRetentionDays, 1);
        AtLeast(problems, Limits + "ListWindowDays", limits.ListWindowDays, 1);
        AtLeast(problems, Limits + "MaxWindowDays", limits.MaxWindowDays, 1);
        AtLeast(problems, Limits + "RateLimitCalls", limits.RateLimitCalls, 1);
        AtLeast(problems, Limits + "RateLimitWindowSeconds", limits.RateLimitWindowSeconds, 1);
        AtLeast(problems, Limits + "ConcurrentCalls", limits.ConcurrentCalls, 1);
        AtLeast(problems, Limits + "DailyCallQuota", limits.DailyCallQuota, 1);
        AtLeast(problems, Limits + "TokenLifetimeSeconds", limits.TokenLifetimeSeconds, 1);

        NotNegative(problems, Realism + "StatusRefreshSeconds", options.Realism.StatusRefreshSeconds);
        NotNegative(problems, Realism + "StartLatencySeconds", options.Realism.StartLatencySeconds);
        return problems;
    }

    private static void Positive(List<string> problems, string setting, double value)
    {
        if (!(double.IsFinite(value) && value > 0))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} must be greater than 0 (got {value})."));
        }
    }

    private static void NotNegative(List<string> problems, string setting, double value)
    {
        if (!(double.IsFinite(value) && value >= 0))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} must be 0 or more (got {value})."));
        }
    }

    private static void AtLeast(List<string> problems, string setting, long value, long minimum)
    {
        if (value < minimum)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{setting} must be at least {minimum} (got {value})."));
        }
    }
}
