using System.Text.Json.Serialization;

namespace Spillway.Server.Storage;

/// <summary>A Marketo instance: its munchkin id, and the limits its API users share.</summary>
public sealed record Subscription(int Id, string MunchkinId, string Name, SubscriptionLimitOverrides Overrides, DateTimeOffset CreatedAt);

/// <summary>An API-only user of a subscription. Jobs belong to API users.</summary>
public sealed record ApiUser(int Id, int SubscriptionId, string Email, IReadOnlyList<string> Permissions, DateTimeOffset CreatedAt);

/// <summary>A client id/secret pair ("custom service") of an API user; the secret is stored hashed.</summary>
public sealed record ApiCredential(string ClientId, int ApiUserId, string SecretHash, DateTimeOffset CreatedAt);

/// <summary>An issued access token. Tokens belong to the credential (client id) that asked for them.</summary>
public sealed record AccessToken(string Token, string ClientId, int ApiUserId, int SubscriptionId, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Per-subscription overrides of the server's default limits (every limit is a default,
/// configurable per subscription). A null member means "use the server default".
/// </summary>
public sealed record SubscriptionLimitOverrides
{
    public int? MaxProcessingJobs { get; init; }
    public int? MaxQueuedJobs { get; init; }
    public long? DailyExportQuotaMegabytes { get; init; }
    public int? FileRetentionDays { get; init; }
    public int? JobRetentionDays { get; init; }
    public int? ListWindowDays { get; init; }
    public int? MaxWindowDays { get; init; }
    public int? RateLimitCalls { get; init; }
    public int? RateLimitWindowSeconds { get; init; }
    public int? ConcurrentCalls { get; init; }
    public int? DailyCallQuota { get; init; }
    public int? TokenLifetimeSeconds { get; init; }
    public bool? AdvancedLeadExtractFilters { get; init; }

    public static SubscriptionLimitOverrides None { get; } = new();
}

/// <summary>The status of an export job. Stored by name; the names are frozen by a test.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ExportJobStatus>))]
public enum ExportJobStatus
{
    Created = 0,
    Queued = 1,
    Processing = 2,
    Completed = 3,
    Failed = 4,
    Cancelled = 5,
}

/// <summary>An export job as stored.</summary>
public sealed record ExportJobRecord
{
    /// <summary>The kind of the jobs stored before extract kinds existed, and of every job that names none.</summary>
    public const string DefaultKind = "activities";

    public required Guid ExportId { get; init; }
    public required int SubscriptionId { get; init; }
    public required int ApiUserId { get; init; }
    public required ExportFormat Format { get; init; }
    public required ExportJobStatus Status { get; init; }
    /// <summary>
    /// The extract kind (activities, leads, ...): the job is seen only through its kind's endpoints, and its kind
    /// writes its file. Queue, processing slots and daily quota count the jobs of every kind of the subscription.
    /// </summary>
    public string Kind { get; init; } = DefaultKind;
    /// <summary>The validated request, as its kind stored it (JSON).</summary>
    public required string SpecJson { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? QueuedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public long? NumberOfRecords { get; init; }
    public long? FileSize { get; init; }
    public string? FileChecksum { get; init; }
    public string? ErrorMsg { get; init; }
    /// <summary>The fencing token of the job's latest lease; a Completed job's file is named by it.</summary>
    public long FencingToken { get; init; }
    /// <summary>Set once the retention sweeper removed the file of a Completed job.</summary>
    public bool FileExpired { get; init; }
}

/// <summary>
/// The right to run one export job until <see cref="ExpiresAt"/>. <see cref="FencingToken"/> grows with every
/// claim of the job, and every state change a worker makes carries it, so a worker that lost its lease
/// (paused, partitioned, presumed dead) can no longer change the job.
/// </summary>
public readonly record struct ExportLease(Guid ExportId, int SubscriptionId, string NodeId, long FencingToken, DateTimeOffset ExpiresAt);

/// <summary>What a finished export wrote.</summary>
public sealed record ExportFileInfo(long NumberOfRecords, long FileSize, string FileChecksum);

public enum EnqueueOutcome
{
    Enqueued,
    NotFound,
    AlreadyQueued,
    QueueFull,
    QuotaExceeded,
    /// <summary>Completed, Failed or Cancelled: cannot be enqueued.</summary>
    Finished,
}

public enum CancelOutcome
{
    Cancelled,
    AlreadyCancelled,
    NotFound,
    /// <summary>Completed or Failed: cannot be cancelled.</summary>
    Finished,
}

/// <summary>The limits an enqueue is checked against, resolved for the job's subscription.</summary>
/// <param name="MaxQueuedJobs">Queued + Processing allowed.</param>
/// <param name="MaxProcessingJobs">Processing allowed; stored with the job so the claim can honour it.</param>
/// <param name="DailyQuotaBytes">The daily export quota.</param>
/// <param name="QuotaDayStart">The start of the current quota day (midnight America/Chicago) as an instant.</param>
public sealed record QueuePolicy(int MaxQueuedJobs, int MaxProcessingJobs, long DailyQuotaBytes, DateTimeOffset QuotaDayStart, bool Hold = false);

/// <summary>A keyset position in the job list.</summary>
public sealed record JobListCursor(DateTimeOffset CreatedAt, Guid ExportId);

/// <summary>One page of a job list.</summary>
public sealed record JobPage(IReadOnlyList<ExportJobRecord> Jobs, JobListCursor? Next);

/// <summary>
/// One activity as a store streams it for an export: numbers, and text as UTF-8 bytes borrowed from the store's buffers
/// (valid only while the sink handles the row). A missing text value has its <c>Has...</c> flag false; an empty one is
/// an empty span with the flag true.
/// </summary>
public readonly ref struct Utf8ActivityRow
{
    public required long MarketoGuid { get; init; }

    public required long LeadId { get; init; }

    /// <summary>The activity date as Unix seconds, UTC.</summary>
    public required long ActivityDateUnixSeconds { get; init; }

    public required int ActivityTypeId { get; init; }

    public long? CampaignId { get; init; }

    public long? PrimaryAttributeValueId { get; init; }

    public bool HasPrimaryAttributeValue { get; init; }

    public ReadOnlySpan<byte> PrimaryAttributeValue { get; init; }

    /// <summary>The compact JSON object, never missing.</summary>
    public ReadOnlySpan<byte> Attributes { get; init; }

    public bool HasActionResult { get; init; }

    public ReadOnlySpan<byte> ActionResult { get; init; }
}

/// <summary>Which activities an export reads: one subscription, an inclusive date range, optional type and asset filters.</summary>
public sealed record ActivityQuery(
    int SubscriptionId,
    DateTimeOffset StartAt,
    DateTimeOffset EndAt,
    IReadOnlyList<int>? ActivityTypeIds,
    IReadOnlyList<long>? PrimaryAttributeValueIds);
