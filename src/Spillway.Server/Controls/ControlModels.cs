using System.Text.Json.Serialization;

namespace Spillway.Server.Controls;

/// <summary>How a subscription's jobs move from Queued to Completed.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProgressionMode>))]
public enum ProgressionMode
{
    /// <summary>A job starts as soon as a processing slot is free and its status is always current (default).</summary>
    Immediate,

    /// <summary>Marketo-like: a job waits a start latency, and its status refreshes at most once per refresh interval.</summary>
    Realistic,

    /// <summary>A job moves only when told (admin start, complete, fail).</summary>
    Manual,
}

/// <summary>A subscription's progression. Realistic defaults: 30 s start latency, status refresh every 60 s.</summary>
public sealed record ProgressionSettings(ProgressionMode Mode, double StartLatencySeconds = 0, double StatusRefreshSeconds = 0);

/// <summary>The body of <c>PUT .../progression</c>.</summary>
public sealed record ProgressionBody(string? Mode, double? StartLatencySeconds, double? StatusRefreshSeconds);

/// <summary>The body of <c>POST .../clock</c> of a subscription.</summary>
public sealed record SubscriptionClockBody(DateTimeOffset? Now, double? AdvanceSeconds, bool Reset = false);

/// <summary>A subscription's clock: its "now" and its offset over the server clock.</summary>
public sealed record SubscriptionClockView(string MunchkinId, DateTimeOffset Now, double OffsetSeconds, double ServerOffsetSeconds);

/// <summary>What a reset removed.</summary>
public sealed record ResetView(string MunchkinId, int Jobs, long Activities);

/// <summary>The body of the manual job controls.</summary>
public sealed record JobControlBody(string? ErrorMsg);

/// <summary>The kinds of fault a rule injects.</summary>
public static class FaultKinds
{
    /// <summary>A Marketo error in the envelope (HTTP 200): <c>code</c>, optional <c>variant</c> or <c>message</c>.</summary>
    public const string Error = "error";

    /// <summary>A bare HTTP status (500, 502, 503, 504 ...), as a proxy or load balancer would answer.</summary>
    public const string Http = "http";

    /// <summary>Added latency (<c>latencyMs</c>), then the call proceeds.</summary>
    public const string Latency = "latency";

    /// <summary>The connection is cut after <c>afterBytes</c> bytes of a file download.</summary>
    public const string Cut = "cut";

    /// <summary>The job named in the call (enqueue by default) fails with <c>errorMsg</c> when the worker runs it.</summary>
    public const string FailJob = "failJob";

    /// <summary>The file of the Completed job named in the call (file by default) is deleted: status says Completed, file 404.</summary>
    public const string FileGone = "fileGone";

    public static readonly string[] All = [Error, Http, Latency, Cut, FailJob, FileGone];
}

/// <summary>
/// A fault rule as added through the admin API. <c>Endpoint</c> is a path pattern (<c>*</c> = any characters but
/// <c>/</c>, <c>**</c> = anything) or a short name (<c>create, enqueue, status, file, cancel, list, activities</c>);
/// null matches every endpoint. <c>ApiUser</c> is an email, or null/<c>*</c> for any. <c>Count</c> makes the rule
/// fire on the next N matching calls (after skipping <c>Skip</c>), deterministically; otherwise it fires with
/// <c>Probability</c> (default 1) from a generator seeded by <c>Seed</c>.
/// </summary>
public sealed record FaultRuleBody(
    string? Kind,
    string? Endpoint = null,
    string? ApiUser = null,
    double? Probability = null,
    int? Count = null,
    int? Skip = null,
    int? Seed = null,
    string? Code = null,
    string? Variant = null,
    string? Message = null,
    int? Status = null,
    int? LatencyMs = null,
    long? AfterBytes = null,
    string? ErrorMsg = null);

/// <summary>A fault rule as listed: its settings and how often it matched and fired.</summary>
public sealed record FaultRuleView(string Id, string Kind, string? Endpoint, string? ApiUser, double Probability, int? Remaining,
    int Skip, string? Code, string? Message, int? Status, int? LatencyMs, long? AfterBytes, string? ErrorMsg, long Matched, long Fired);

/// <summary>One API call of a subscription, as the request log keeps it.</summary>
public sealed record RequestLogEntry(
    long Sequence,
    DateTimeOffset Time,
    string Method,
    string Path,
    string? ApiUser,
    int HttpStatus,
    string? Code,
    string RequestId,
    string? Fault,
    double DurationMs,
    string? RequestBody = null,
    string? ResponseBody = null);
