using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spillway.Testing;

/// <summary>How a subscription's export jobs move from Queued to Completed.</summary>
public enum JobProgression
{
    /// <summary>A job starts as soon as a processing slot is free; its status is always current (the default).</summary>
    Immediate,

    /// <summary>Marketo-like: a job waits a start latency, and its status refreshes at most once per refresh interval.</summary>
    Realistic,

    /// <summary>A job moves only when told: <see cref="SpillwayControls.StartJobAsync"/>, <see cref="SpillwayControls.CompleteJobAsync"/>,
    /// <see cref="SpillwayControls.FailJobAsync"/>.</summary>
    Manual,
}

/// <summary>
/// The test-rig controls of one subscription, over the server's admin API (the same calls <c>spillway control</c>
/// makes): its clock, how its jobs progress, fault rules, reset, and the request log. None of them changes what the
/// Marketo API answers; they change when and how often those answers happen.
/// </summary>
public sealed class SpillwayControls
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly HttpClient _admin;
    private readonly string _prefix;

    internal SpillwayControls(HttpClient admin, string munchkinId)
    {
        _admin = admin;
        _prefix = $"_spillway/admin/subscriptions/{munchkinId}";
    }

    /// <summary>The subscription's "now": the server clock plus the subscription's offset.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<DateTimeOffset> GetNowAsync(CancellationToken cancellationToken = default) =>
        (await SendAsync<ClockView>(HttpMethod.Get, "clock", null, cancellationToken).ConfigureAwait(false)).Now;

    /// <summary>Moves the subscription's clock forward (or back, with a negative span); returns its new "now".</summary>
    /// <param name="by">How far.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<DateTimeOffset> AdvanceClockAsync(TimeSpan by, CancellationToken cancellationToken = default) =>
        (await SendAsync<ClockView>(HttpMethod.Post, "clock", new { advanceSeconds = by.TotalSeconds }, cancellationToken).ConfigureAwait(false)).Now;

    /// <summary>Sets the subscription's "now" (it then runs on from there); returns it.</summary>
    /// <param name="now">The subscription's new "now".</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<DateTimeOffset> SetClockAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        (await SendAsync<ClockView>(HttpMethod.Post, "clock", new { now }, cancellationToken).ConfigureAwait(false)).Now;

    /// <summary>Puts the subscription back on the server clock.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task ResetClockAsync(CancellationToken cancellationToken = default) =>
        SendAsync<ClockView>(HttpMethod.Post, "clock", new { reset = true }, cancellationToken);

    /// <summary>Sets how the subscription's jobs progress.</summary>
    /// <param name="mode">Immediate, realistic or manual.</param>
    /// <param name="startLatency">Realistic: how long a Queued job waits before it may start (default 30 s).</param>
    /// <param name="statusRefresh">Realistic: how often its status refreshes (default 60 s).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task SetProgressionAsync(JobProgression mode, TimeSpan? startLatency = null, TimeSpan? statusRefresh = null,
        CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Put, "progression", new
        {
            mode = mode.ToString().ToLowerInvariant(),
            startLatencySeconds = startLatency?.TotalSeconds,
            statusRefreshSeconds = statusRefresh?.TotalSeconds,
        }, cancellationToken);

    /// <summary>Manual progression: moves a Queued job to Processing (within the two processing slots).</summary>
    /// <param name="exportId">The job's export id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task StartJobAsync(string exportId, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Post, $"/_spillway/admin/jobs/{Uri.EscapeDataString(exportId)}/start", null, cancellationToken);

    /// <summary>Manual progression: runs the job's export now and completes it (starting a Queued job first).</summary>
    /// <param name="exportId">The job's export id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task CompleteJobAsync(string exportId, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Post, $"/_spillway/admin/jobs/{Uri.EscapeDataString(exportId)}/complete", null, cancellationToken);

    /// <summary>Manual progression: fails the job with exactly <paramref name="errorMsg"/> (starting a Queued job first).</summary>
    /// <param name="exportId">The job's export id.</param>
    /// <param name="errorMsg">The errorMsg its status then shows.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task FailJobAsync(string exportId, string errorMsg, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Post, $"/_spillway/admin/jobs/{Uri.EscapeDataString(exportId)}/fail", new { errorMsg }, cancellationToken);

    /// <summary>Adds a fault rule; returns its id.</summary>
    /// <param name="rule">The rule (see <see cref="FaultRule"/>'s factories).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<string> AddFaultAsync(FaultRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var added = await SendAsync<JsonElement>(HttpMethod.Post, "faults", rule, cancellationToken).ConfigureAwait(false);
        return added.GetProperty("id").GetString()!;
    }

    /// <summary>Removes one fault rule.</summary>
    /// <param name="ruleId">The id <see cref="AddFaultAsync"/> returned.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task RemoveFaultAsync(string ruleId, CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Delete, $"faults/{Uri.EscapeDataString(ruleId)}", null, cancellationToken);

    /// <summary>Removes every fault rule of the subscription.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task ClearFaultsAsync(CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Delete, "faults", null, cancellationToken);

    /// <summary>Deletes the subscription's jobs and their files, its activities and leads, its API call counters and its
    /// controls. API users, credentials and limit overrides stay.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task ResetAsync(CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Post, "reset", null, cancellationToken);

    /// <summary>The subscription's API calls as the server logged them (the last 1,000), oldest first.</summary>
    /// <param name="after">Only calls with a greater sequence number.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<IReadOnlyList<LoggedCall>> GetRequestLogAsync(long after = 0, CancellationToken cancellationToken = default) =>
        await SendAsync<List<LoggedCall>>(HttpMethod.Get, $"requests?after={after.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Empties the subscription's request log.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task ClearRequestLogAsync(CancellationToken cancellationToken = default) =>
        SendAsync<JsonElement>(HttpMethod.Delete, "requests", null, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var uri = new Uri(path.StartsWith('/') ? path[1..] : $"{_prefix}/{path}", UriKind.Relative);
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var response = await _admin.SendAsync(request, ct).ConfigureAwait(false);
        await SpillwayServer.EnsureSuccessAsync(response, ct).ConfigureAwait(false);
        if (response.StatusCode == System.Net.HttpStatusCode.NoContent)
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(Json, ct).ConfigureAwait(false))!;
    }

    private sealed record ClockView(DateTimeOffset Now);
}

/// <summary>One API call as the server's request log keeps it.</summary>
/// <param name="Sequence">Its place in the subscription's log (increasing).</param>
/// <param name="Time">When it arrived, on the subscription's clock.</param>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path.</param>
/// <param name="ApiUser">The API user's email.</param>
/// <param name="HttpStatus">The HTTP status answered.</param>
/// <param name="Code">The Marketo error code answered; null on success.</param>
/// <param name="RequestId">Marketo's requestId of the answer.</param>
/// <param name="Fault">The id of the fault rule that fired on it, if any.</param>
/// <param name="DurationMs">How long the server took.</param>
public sealed record LoggedCall(long Sequence, DateTimeOffset Time, string Method, string Path, string? ApiUser, int HttpStatus,
    string? Code, string RequestId, string? Fault, double DurationMs)
{
    /// <summary>The start of the request body (4 KB, an access token masked), what it was when not kept, or null for none.</summary>
    public string? RequestBody { get; init; }

    /// <summary>The start of the JSON answer (4 KB), or the type and size of a file answer.</summary>
    public string? ResponseBody { get; init; }
}

/// <summary>
/// A fault rule: which calls it matches (endpoint, API user) and how often it fires (the next <see cref="Count"/>
/// calls after <see cref="Skip"/>, or with <see cref="Probability"/> from a seeded generator). Build one with the
/// factories, then set the matching with <c>with</c>: <c>FaultRule.Error("1029") with { Endpoint = "enqueue", Count = 1 }</c>.
/// </summary>
public sealed record FaultRule
{
    private FaultRule(string kind) => Kind = kind;

    /// <summary>What the rule injects: error, http, latency, cut, failJob or fileGone.</summary>
    public string Kind { get; }

    /// <summary>A path pattern (<c>*</c> within a segment, <c>**</c> anything) or a short name: create, enqueue, status,
    /// file, cancel, list, activities, bulk, rest. Null: every REST and bulk call (or the kind's default).</summary>
    public string? Endpoint { get; init; }

    /// <summary>Only calls of this API user (email); null for any.</summary>
    public string? ApiUser { get; init; }

    /// <summary>Fire on the next N matching calls, then never.</summary>
    public int? Count { get; init; }

    /// <summary>With <see cref="Count"/>: let this many matching calls through first.</summary>
    public int? Skip { get; init; }

    /// <summary>Without <see cref="Count"/>: the chance (0-1, default 1) that a matching call fires.</summary>
    public double? Probability { get; init; }

    /// <summary>The seed of the probability draw (default 1): the same calls fire the same way on every run.</summary>
    public int? Seed { get; init; }

    /// <summary>Error: the Marketo code.</summary>
    public string? Code { get; init; }

    /// <summary>Error 1029: queueFull (default), alreadyQueued or quota.</summary>
    public string? Variant { get; init; }

    /// <summary>Error: your own message instead of Marketo's.</summary>
    public string? Message { get; init; }

    /// <summary>Http: the HTTP status.</summary>
    public int? Status { get; init; }

    /// <summary>Latency: the delay in milliseconds.</summary>
    public int? LatencyMs { get; init; }

    /// <summary>Cut: the bytes of the file sent before the connection drops.</summary>
    public long? AfterBytes { get; init; }

    /// <summary>FailJob: the errorMsg the job fails with.</summary>
    public string? ErrorMsg { get; init; }

    /// <summary>Answers with Marketo's error <paramref name="code"/> in its envelope (HTTP 200).</summary>
    /// <param name="code">601, 602, 603, 604, 606, 607, 608, 611, 615, 1029, or any code with a <see cref="Message"/>.</param>
    public static FaultRule Error(string code) => new("error") { Code = code };

    /// <summary>Answers with a bare HTTP status, as a proxy would.</summary>
    /// <param name="status">500, 502, 503, 504 ...</param>
    public static FaultRule Http(int status) => new("http") { Status = status };

    /// <summary>Waits, then lets the call proceed.</summary>
    /// <param name="delay">How long.</param>
    public static FaultRule Latency(TimeSpan delay) => new("latency") { LatencyMs = (int)delay.TotalMilliseconds };

    /// <summary>A file download sends <paramref name="afterBytes"/> bytes, then the connection drops.</summary>
    /// <param name="afterBytes">Bytes sent before the cut.</param>
    public static FaultRule Cut(long afterBytes) => new("cut") { AfterBytes = afterBytes };

    /// <summary>The job named by the call (enqueue by default) fails with <paramref name="errorMsg"/> when it runs.</summary>
    /// <param name="errorMsg">The errorMsg its status then shows.</param>
    public static FaultRule FailJob(string errorMsg) => new("failJob") { ErrorMsg = errorMsg };

    /// <summary>The file of the Completed job named by the call (file by default) is deleted: status says Completed, the file 404.</summary>
    public static FaultRule FileGone() => new("fileGone");
}
