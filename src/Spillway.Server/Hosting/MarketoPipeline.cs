using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Spillway.Contracts;

namespace Spillway.Server.Hosting;

/// <summary>
/// The outermost middleware: gives every request its Marketo request id (in the log scope too), and turns anything
/// unexpected into Marketo's 611 "System error" instead of a 500, logging the incident with the request id.
/// </summary>
internal sealed class MarketoPipelineMiddleware(RequestDelegate next, TimeProvider clock, SpillwayMetrics metrics, ILogger<MarketoPipelineMiddleware> logger)
{
    /// <summary>A request URI (path and query) over 8 KB is answered 414.</summary>
    public const int MaxUriLength = 8 * 1024;

    /// <summary>Bodies up to this size are read and discarded before a 413, so the client can finish sending and read it.</summary>
    private const long MaxDrainBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Reads and discards a refused body: a client still sending it when the connection closed would see a broken pipe
    /// (which clients retry) instead of the 413 (which they treat as final).
    /// </summary>
    private static async Task DrainAsync(HttpContext context, IHttpMaxRequestBodySizeFeature? bodyLimit, long length)
    {
        if (length > MaxDrainBytes || bodyLimit is null || bodyLimit.IsReadOnly)
        {
            return;
        }

        bodyLimit.MaxRequestBodySize = MaxDrainBytes;
        try
        {
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException or OperationCanceledException)
        {
            // The client gave up; nothing to answer.
        }
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await AnswerAsync(context);
        }
        finally
        {
            if (IsMarketoApi(context.Request.Path))
            {
                var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                metrics.ApiCall(endpoint, context.Response.StatusCode, context.MarketoCode(), System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
        }
    }

    /// <summary>Marketo's own APIs, the calls the metrics count (not the admin API, the console or /metrics itself).</summary>
    private static bool IsMarketoApi(PathString path) =>
        path.StartsWithSegments("/rest", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/bulk", StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments("/identity", StringComparison.OrdinalIgnoreCase);

    private async Task AnswerAsync(HttpContext context)
    {
        var requestId = MarketoHttp.NewRequestId(clock.GetUtcNow());
        context.SetRequestId(requestId);
        if (context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > MaxUriLength })
        {
            // Kestrel's request-line limit counts the method and version too; the URI itself is the contract.
            context.Response.StatusCode = StatusCodes.Status414RequestUriTooLong;
            return;
        }

        var bodyLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodyLimit is { IsReadOnly: false } && AdminBodyChecks.IsImport(context))
        {
            bodyLimit.MaxRequestBodySize = null;
        }

        if (context.Request.ContentLength is { } length && length > bodyLimit?.MaxRequestBodySize)
        {
            // A body over 1 MB is 413 on every endpoint, before the token or the route looks at it (a
            // chunked body over the limit is still refused by Kestrel as soon as an endpoint reads it).
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            context.Response.Headers.Connection = "close";
            await DrainAsync(context, bodyLimit, length);
            return;
        }

        // A message-template scope: the simple console shows "MarketoRequestId:1a2b#18c...", JSON logs carry it as a property.
        using var scope = logger.BeginScope("MarketoRequestId:{MarketoRequestId}", requestId);
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            context.Request.Body = new BadFramingGuardStream(context.Request.Body);
        }

        var admin = AdminBodyChecks.Applies(context);
        try
        {
            if (admin && await AdminBodyChecks.RefuseNotTextAsync(context))
            {
                return;
            }

            await next(context);
            if (admin)
            {
                await AdminBodyChecks.ExplainBareBadRequestAsync(context);
            }
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits (413 body too large, 414 is answered before we run) and malformed framing.
            logger.LogInformation("Rejected request {Method} {Path}: {Status} {Reason}", context.Request.Method,
                context.Request.Path, ex.StatusCode, ex.Message);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = ex.StatusCode;
                if (admin)
                {
                    await AdminBodyChecks.ExplainBareBadRequestAsync(context);
                }
            }
        }
        catch (DownloadStalledException ex)
        {
            logger.LogInformation("Cut {Method} {Path}: {Reason}", context.Request.Method, context.Request.Path, ex.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex) when (DiskFull.Is(ex) && !context.Response.HasStarted)
        {
            // An operator's problem, not a defect: one line that says what to do, no stack trace. Every store write is
            // one transaction, so the call stored nothing and the client may send it again once there is room.
            logger.LogError("The disk is full: {Method} {Path} answered 611 System error and stored nothing; free space under the data folder ({Reason})",
                context.Request.Method, context.Request.Path, ex.GetBaseException().Message);
            context.Response.Clear();
            await MarketoHttp.WriteFailureAsync(context, MarketoErrors.SystemError);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Unhandled error in {Method} {Path}; answered 611 System error", context.Request.Method,
                context.Request.Path);
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await MarketoHttp.WriteFailureAsync(context, MarketoErrors.SystemError);
            }
            else
            {
                context.Features.Get<IHttpResponseBodyFeature>()?.Stream.Close();
                context.Abort();
            }
        }
    }
}

/// <summary>
/// Marketo's method override: <c>POST ...?_method=GET</c> or a form body with <c>_method=GET</c> runs as a GET with the
/// form fields as query parameters (for long query strings); <c>_method=POST</c> in a form runs as a POST.
/// </summary>
internal sealed class MethodOverrideMiddleware(RequestDelegate next)
{

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        string? method = request.Query["_method"];
        IFormCollection? form = null;
        if (method is null && request.HasFormContentType
            && (HttpMethods.IsPost(request.Method) || HttpMethods.IsGet(request.Method)))
        {
            try
            {
                form = await request.ReadFormAsync(context.RequestAborted);
                method = form["_method"];
            }
            catch (Exception ex) when (ex is InvalidDataException || ex is IOException and not BadHttpRequestException) // a malformed multipart body: no form
            {
                // A form beyond the form limits: leave it unread; the endpoint answers as for no form.
            }
        }

        if (method is not null)
        {
            if (string.Equals(method, "GET", StringComparison.OrdinalIgnoreCase))
            {
                request.Method = HttpMethods.Get;
                if (form is { Count: > 0 })
                {
                    var query = new QueryBuilder(request.Query.SelectMany(q => q.Value.Select(v => KeyValuePair.Create(q.Key, v ?? ""))));
                    foreach (var field in form)
                    {
                        if (string.Equals(field.Key, "access_token", StringComparison.Ordinal))
                        {
                            // A token sent as a form field stays a form field (it is read from the form), so that
                            // RejectQueryStringToken does not mistake it for the query form.
                            continue;
                        }

                        foreach (var value in field.Value)
                        {
                            query.Add(field.Key, value ?? "");
                        }
                    }

                    request.QueryString = query.ToQueryString();
                }
            }
            else if (string.Equals(method, "POST", StringComparison.OrdinalIgnoreCase))
            {
                request.Method = HttpMethods.Post;
            }
        }

        await next(context);
    }
}
