using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// The six endpoints of every bulk extract kind (create, enqueue, status, file, cancel, list), exactly as Marketo answers
/// them. Each handler serves the kind its route was mapped for (<see cref="KindOf"/>): a job of another kind is as
/// unknown to it as a job that does not exist.
/// </summary>
internal static class ExportEndpoints
{
    /// <summary>Maps the endpoints of every registered <see cref="IExtractKind"/>.</summary>
    public static void MapBulkExtracts(this IEndpointRouteBuilder app)
    {
        foreach (var kind in app.ServiceProvider.GetRequiredService<ExtractKinds>().All)
        {
            app.MapBulkExtract(kind);
        }
    }

    /// <summary>Maps one kind's six endpoints, named in the OpenAPI document as Marketo names them.</summary>
    public static RouteGroupBuilder MapBulkExtract(this IEndpointRouteBuilder app, IExtractKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var (plural, singular) = kind.OpenApi;
        var permission = new RequiresPermission(kind.Permission);

        var bulk = app.MapGroup(kind.RoutePrefix).WithTags(kind.OpenApi.Tag)
            .AddEndpointFilter<ApiAccessFilter>()
            .WithMetadata(permission, kind);
        bulk.MapPost("/create.json", CreateAsync).WithName($"createExport{plural}UsingPOST")
            .WithSummary($"Create Export {singular} Job");
        bulk.MapPost("/{exportId}/enqueue.json", EnqueueAsync).WithName($"enqueueExport{plural}UsingPOST")
            .WithSummary($"Enqueue Export {singular} Job");
        bulk.MapGet("/{exportId}/status.json", StatusAsync).WithName($"getExport{plural}StatusUsingGET")
            .WithSummary($"Get Export {singular} Job Status");
        bulk.MapGet("/{exportId}/file.json", FileAsync).WithName($"getExport{plural}FileUsingGET")
            .WithSummary($"Get Export {singular} File");
        bulk.MapPost("/{exportId}/cancel.json", CancelAsync).WithName($"cancelExport{plural}UsingPOST")
            .WithSummary($"Cancel Export {singular} Job");
        app.MapGet(kind.RoutePrefix + ".json", ListAsync).WithName($"getExport{plural}UsingGET")
            .WithSummary($"Get Export {singular} Jobs").WithTags(kind.OpenApi.Tag)
            .AddEndpointFilter<ApiAccessFilter>()
            .WithMetadata(permission, kind);
        return bulk;
    }

    /// <summary>The extract kind the endpoint was mapped for.</summary>
    internal static IExtractKind KindOf(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IExtractKind>()
        ?? throw new InvalidOperationException("The endpoint was not mapped by MapBulkExtract.");

    internal static async Task<JsonHttpResult<MarketoResponse<ExportJob>>> CreateAsync(HttpContext context,
        IExportJobStore jobs, ISubscriptionClock clock)
    {
        var kind = KindOf(context);
        var caller = ApiCaller.Of(context);
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Fail(context, MarketoErrors.InvalidContentType);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
        }
        catch (JsonException)
        {
            return Fail(context, MarketoErrors.InvalidJson);
        }

        using (document)
        {
            if (JsonText.ApiError(document.RootElement) is { } textError)
            {
                return Fail(context, textError);
            }

            var parsed = await kind.ParseCreateAsync(document.RootElement, caller, context.RequestAborted);
            if (!parsed.IsAccepted)
            {
                return Fail(context, parsed.Error);
            }

            var now = clock.NowOf(caller.Subscription.Id);
            if (await QuotaUsedUpAsync(jobs, caller, now, context.RequestAborted))
            {
                return Fail(context, MarketoErrors.ExportDailyQuotaExceeded(caller.Limits.DailyExportQuotaMegabytes));
            }

            var job = new ExportJobRecord
            {
                ExportId = Guid.NewGuid(),
                SubscriptionId = caller.Subscription.Id,
                ApiUserId = caller.User.Id,
                Kind = kind.Name,
                Format = parsed.Format,
                Status = ExportJobStatus.Created,
                SpecJson = parsed.SpecJson,
                CreatedAt = Truncate(now),
            };
            await jobs.CreateAsync(job, context.RequestAborted);
            return Ok(context, job);
        }
    }

    internal static async Task<JsonHttpResult<MarketoResponse<ExportJob>>> EnqueueAsync(HttpContext context, string exportId,
        IExportJobStore jobs, ExportSignal signal, StatusSnapshots snapshots, ISubscriptionClock clock, IExportInterventions interventions)
    {
        var kind = KindOf(context);
        var caller = ApiCaller.Of(context);
        if (!TryParseId(exportId, out var id))
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        var now = clock.NowOf(caller.Subscription.Id);
        var limits = caller.Limits;
        // A held job is Queued like any other, but no worker claims it until it is released.
        var policy = new QueuePolicy(limits.MaxQueuedJobs, limits.MaxProcessingJobs, limits.DailyExportQuotaBytes, SpillwayClock.QuotaDayStart(now),
            Hold: interventions.HoldsAtEnqueue(caller.Subscription.Id));
        var outcome = await jobs.EnqueueAsync(id, caller.User.Id, kind.Name, policy, Truncate(now), context.RequestAborted);
        switch (outcome)
        {
            case EnqueueOutcome.Enqueued:
                signal.JobEnqueued();
                break;
            case EnqueueOutcome.NotFound:
                return Fail(context, MarketoErrors.NotFound);
            case EnqueueOutcome.AlreadyQueued:
                return Fail(context, MarketoErrors.JobAlreadyQueued);
            case EnqueueOutcome.QueueFull:
                return Fail(context, MarketoErrors.TooManyJobsInQueue);
            case EnqueueOutcome.QuotaExceeded:
                return Fail(context, MarketoErrors.ExportDailyQuotaExceeded(limits.DailyExportQuotaMegabytes));
        }

        var job = await jobs.GetAsync(id, caller.User.Id, kind.Name, context.RequestAborted);
        if (job is null)
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        if (outcome == EnqueueOutcome.Finished)
        {
            return Fail(context, MarketoErrors.InvalidData($"Export job is {ExportJobView.StatusName(job.Status)} and cannot be enqueued"));
        }

        // A worker may already have started (or finished) it; the answer shows the state this call produced.
        var queued = job with { Status = ExportJobStatus.Queued, StartedAt = null };
        snapshots.Refresh(queued);
        return Ok(context, queued);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<ExportJob>>> StatusAsync(HttpContext context, string exportId,
        IExportJobStore jobs, StatusSnapshots snapshots, ISubscriptionClock clock)
    {
        var caller = ApiCaller.Of(context);
        var job = await FindAsync(jobs, KindOf(context), caller, exportId, clock.NowOf(caller.Subscription.Id), context.RequestAborted);
        return job is null ? Fail(context, MarketoErrors.NotFound) : Ok(context, snapshots.Show(job));
    }

    /// <summary>
    /// The caller's job of the kind, unless unknown, another user's, another kind's, or past its record retention (the
    /// subscription's job retention days after it finished, or after it was created when it never finished): those are
    /// indistinguishable. Retention is decided here, by time, not by when the sweeper last ran.
    /// </summary>
    private static async Task<ExportJobRecord?> FindAsync(IExportJobStore jobs, IExtractKind kind, ApiCaller caller, string exportId,
        DateTimeOffset now, CancellationToken ct)
    {
        if (!TryParseId(exportId, out var id))
        {
            return null;
        }

        var job = await jobs.GetAsync(id, caller.User.Id, kind.Name, ct);
        var retainedFrom = job?.FinishedAt ?? job?.CreatedAt;
        return job is not null && job.Status is not (ExportJobStatus.Queued or ExportJobStatus.Processing)
            && retainedFrom + TimeSpan.FromDays(caller.Limits.JobRetentionDays) <= now
            ? null
            : job;
    }

    internal static async Task<JsonHttpResult<MarketoResponse<ExportJob>>> CancelAsync(HttpContext context, string exportId,
        IExportJobStore jobs, ExportSignal signal, StatusSnapshots snapshots, ISubscriptionClock clock)
    {
        var kind = KindOf(context);
        var caller = ApiCaller.Of(context);
        if (!TryParseId(exportId, out var id))
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        var outcome = await jobs.CancelAsync(id, caller.User.Id, kind.Name, Truncate(clock.NowOf(caller.Subscription.Id)), context.RequestAborted);
        if (outcome == CancelOutcome.NotFound)
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        if (outcome == CancelOutcome.Cancelled)
        {
            signal.JobCancelled(id);
        }

        var job = await jobs.GetAsync(id, caller.User.Id, kind.Name, context.RequestAborted);
        if (job is null)
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        if (outcome == CancelOutcome.Finished)
        {
            return Fail(context, MarketoErrors.InvalidData($"Export job is {ExportJobView.StatusName(job.Status)} and cannot be cancelled"));
        }

        snapshots.Refresh(job);
        return Ok(context, job);
    }

    internal static async Task<Results<PhysicalFileHttpResult, ContentHttpResult>> FileAsync(HttpContext context, string exportId,
        IExportJobStore jobs, ExportFileStore files, ISubscriptionClock clock)
    {
        var caller = ApiCaller.Of(context);
        var now = clock.NowOf(caller.Subscription.Id);
        var job = await FindAsync(jobs, KindOf(context), caller, exportId, now, context.RequestAborted);
        if (job is not { Status: ExportJobStatus.Completed, FileChecksum: not null } || job.FileExpired
            || job.FinishedAt + TimeSpan.FromDays(caller.Limits.FileRetentionDays) <= now
            || !files.TryGetPublished(job.ExportId, job.FencingToken, out var path, out var length)
            || length != job.FileSize)
        {
            return TypedResults.Text("Not Found", "text/plain; charset=utf-8", Encoding.UTF8, StatusCodes.Status404NotFound);
        }

        // Only the bytes unit selects a range (RFC 9110 §14.1); ASP.NET's range processing ignores the unit and would serve
        // "items=0-1" as bytes 0-1. Any other unit is not understood, so the whole file is the answer.
        if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range)
            && !range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase))
        {
            context.Request.Headers.Remove(HeaderNames.Range);
        }

        var etag = new EntityTagHeaderValue($"\"{job.FileChecksum["sha256:".Length..]}\"");
        IfRangeCheck.Apply(context.Request, etag, job.FinishedAt);
        StalledDownloadGuard.Attach(context);
        return TypedResults.PhysicalFile(path, MarketoHttp.CsvContentType, fileDownloadName: null,
            lastModified: job.FinishedAt, entityTag: etag, enableRangeProcessing: true);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<ExportJob>>> ListAsync(HttpContext context, IExportJobStore jobs,
        ISubscriptionClock clock)
    {
        var caller = ApiCaller.Of(context);
        var query = context.Request.Query;

        HashSet<ExportJobStatus>? statuses = null;
        foreach (var raw in query["status"])
        {
            foreach (var part in (raw ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!ExportJobView.TryParseStatus(part, out var status))
                {
                    return Fail(context, MarketoErrors.InvalidData($"Invalid value specified for attribute 'status': '{MarketoHttp.Clip(part, 32)}' is not a job status"));
                }

                (statuses ??= []).Add(status);
            }
        }

        var batchSize = 300;
        var batchText = query["batchSize"].ToString();
        if (batchText.Length > 0 && (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out batchSize) || batchSize < 1))
        {
            return Fail(context, MarketoErrors.InvalidData("Invalid value specified for attribute 'batchSize': must be a positive integer (at most 300 are returned)"));
        }

        batchSize = Math.Min(batchSize, 300);
        JobListCursor? after = null;
        var tokenText = query["nextPageToken"].ToString();
        if (tokenText.Length > 0 && !PageTokens.TryDecode(tokenText, out after))
        {
            return Fail(context, MarketoErrors.InvalidData("Invalid value specified for attribute 'nextPageToken'"));
        }

        var since = clock.NowOf(caller.Subscription.Id) - TimeSpan.FromDays(caller.Limits.ListWindowDays);
        var page = await jobs.ListAsync(caller.User.Id, KindOf(context).Name, since, statuses, batchSize, after, context.RequestAborted);
        return MarketoHttp.Success(context, page.Jobs.Select(ExportJobView.From).ToList(), MarketoJsonContext.Wire.MarketoResponseExportJob,
            nextPageToken: page.Next is null ? null : PageTokens.Encode(page.Next));
    }

    internal static async Task<bool> QuotaUsedUpAsync(IExportJobStore jobs, ApiCaller caller, DateTimeOffset now, CancellationToken ct)
    {
        var used = await jobs.ExportedBytesSinceAsync(caller.Subscription.Id, SpillwayClock.QuotaDayStart(now), ct);
        return used >= caller.Limits.DailyExportQuotaBytes;
    }

    private static bool TryParseId(string text, out Guid id) => ExportIds.TryParse(text, out id);

    private static DateTimeOffset Truncate(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    private static JsonHttpResult<MarketoResponse<ExportJob>> Ok(HttpContext context, ExportJobRecord job) =>
        MarketoHttp.Success(context, [ExportJobView.From(job)], MarketoJsonContext.Wire.MarketoResponseExportJob);

    private static JsonHttpResult<MarketoResponse<ExportJob>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, MarketoJsonContext.Wire.MarketoResponseExportJob);
}

/// <summary>The wire view of a stored job.</summary>
internal static class ExportJobView
{
    public static ExportJob From(ExportJobRecord job) => new()
    {
        ExportId = job.ExportId.ToString("D"),
        Format = ExportFileFormats.ToWireName(job.Format),
        Status = StatusName(job.Status),
        CreatedAt = job.CreatedAt,
        QueuedAt = job.QueuedAt,
        StartedAt = job.StartedAt,
        FinishedAt = job.Status is ExportJobStatus.Completed or ExportJobStatus.Failed ? job.FinishedAt : null,
        NumberOfRecords = job.Status == ExportJobStatus.Completed ? job.NumberOfRecords : null,
        FileSize = job.Status == ExportJobStatus.Completed ? job.FileSize : null,
        FileChecksum = job.Status == ExportJobStatus.Completed ? job.FileChecksum : null,
        ErrorMsg = job.Status == ExportJobStatus.Failed ? job.ErrorMsg : null,
    };

    public static string StatusName(ExportJobStatus status) => status switch
    {
        ExportJobStatus.Created => ExportJobStatuses.Created,
        ExportJobStatus.Queued => ExportJobStatuses.Queued,
        ExportJobStatus.Processing => ExportJobStatuses.Processing,
        ExportJobStatus.Completed => ExportJobStatuses.Completed,
        ExportJobStatus.Failed => ExportJobStatuses.Failed,
        _ => ExportJobStatuses.Cancelled,
    };

    /// <summary>Any case; <c>canceled</c> and <c>cancelled</c>.</summary>
    public static bool TryParseStatus(string text, out ExportJobStatus status)
    {
        status = default;
        return ExportJobStatuses.TryParse(text, out var name) && Enum.TryParse(name, ignoreCase: false, out status);
    }
}

/// <summary>Opaque keyset tokens for the job list: base64url of the last job's creation time and id.</summary>
internal static class PageTokens
{
    public static string Encode(JobListCursor cursor) =>
        Base64Url.EncodeToString(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{cursor.CreatedAt.ToUnixTimeMilliseconds()}:{cursor.ExportId:N}")));

    public static bool TryDecode(string token, out JobListCursor? cursor)
    {
        cursor = null;
        if (token.Length > 100)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(token);
        }
        catch (FormatException)
        {
            return false;
        }

        var parts = Encoding.ASCII.GetString(bytes).Split(':');
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() || !Guid.TryParseExact(parts[1], "N", out var id))
        {
            return false;
        }

        cursor = new JobListCursor(DateTimeOffset.FromUnixTimeMilliseconds(ms), id);
        return true;
    }
}
