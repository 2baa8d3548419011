using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Controls;

/// <summary>
/// What the API access filter asks of the controls on every REST and bulk call: the fault rules (which may answer instead of the endpoint, delay it, or cut its download), and the request log.
/// </summary>
public sealed class ControlledCalls(SubscriptionControls controls, IExportJobStore jobs, ExportFileStore files, ILogger<ControlledCalls> logger)
    : IApiCallInterventions
{
    private const string CallKey = "Spillway.Controls.Call";
    private static readonly ConcurrentDictionary<Type, PropertyInfo?> ErrorsProperty = new();

    /// <summary>How much of a request or response body the log keeps.</summary>
    public const int BodyBytesKept = 4096;

    /// <summary>Bodies up to this size are buffered so the log can read them back; a larger one is only counted.</summary>
    private const long BufferedBodyLimit = 64 * 1024;

    /// <summary>Names the call's subscription and API user, for the request log.</summary>
    public void Identify(HttpContext http, int subscriptionId, string email)
    {
        http.Items[CallKey] = new CallNote(subscriptionId, email);

        // The endpoint reads the body after this; buffered, the log can read its start again once the call is answered.
        // Only small bodies: an ingest call of a megabyte is not copied for the log.
        if (http.Request.ContentLength is > 0 and <= BufferedBodyLimit && !http.Request.HasFormContentType)
        {
            http.Request.EnableBuffering();
        }
    }

    /// <summary>Applies the first fault rule that fires: an answer instead of the endpoint's, or null to go on.</summary>
    public async ValueTask<IResult?> ApplyFaultsAsync(HttpContext http, int subscriptionId, int apiUserId, string email)
    {
        var path = http.Request.Path.Value ?? "";
        var rule = await controls.MatchAsync(subscriptionId, path, email, http.RequestAborted);
        if (rule is null)
        {
            return null;
        }

        if (http.Items[CallKey] is CallNote note)
        {
            note.Fault = rule.Id;
        }

        switch (rule.Kind)
        {
            case FaultKinds.Error:
                http.NoteMarketoCode(rule.Error!.Code);
                return TypedResults.Json(new MarketoResponse<object> { RequestId = http.RequestId(), Success = false, Errors = [rule.Error!] },
                    MarketoJsonContext.Wire.MarketoResponseObject, MarketoHttp.JsonContentType);
            case FaultKinds.Http:
                var status = rule.Status!.Value;
                return TypedResults.Content($"<html><body><h1>{status} {ReasonPhrase(status)}</h1></body></html>", "text/html", statusCode: status);
            case FaultKinds.Latency:
                await Task.Delay(rule.LatencyMs!.Value, http.RequestAborted);
                return null;
            case FaultKinds.Cut:
                var body = http.Features.Get<IHttpResponseBodyFeature>()!;
                http.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new CuttingStream(body.Stream, rule.AfterBytes!.Value, http), body));
                return null;
            case FaultKinds.FailJob:
                if (ExportIdOf(http) is { } doomed)
                {
                    await controls.InjectFailureAsync(doomed, rule.ErrorMsg!, http.RequestAborted);
                }

                return null;
            case FaultKinds.FileGone:
                if (ExportIdOf(http) is { } id && http.GetEndpoint()?.Metadata.GetMetadata<IExtractKind>() is { } kind
                    && await jobs.GetAsync(id, apiUserId, kind.Name, http.RequestAborted) is { Status: ExportJobStatus.Completed } job)
                {
                    files.Delete(job.ExportId, job.FencingToken);
                    logger.LogInformation("Fault rule {Rule}: deleted the file of export {ExportId}", rule.Id, id);
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>Adds the call to its subscription's request log, once the answer is known.</summary>
    public async ValueTask RecordAsync(HttpContext http, object? returned, long startedTimestamp)
    {
        if (http.Items[CallKey] is not CallNote note)
        {
            return;
        }

        // The answer the filter executed itself (a download), else the one it returned.
        var outcome = note.Result ?? returned;

        var status = outcome is IStatusCodeHttpResult { StatusCode: { } s } ? s : http.Response.StatusCode;
        var duration = Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds;
        controls.Record(note.SubscriptionId, new RequestLogEntry(0, controls.NowOf(note.SubscriptionId), http.Request.Method,
            http.Request.Path.Value ?? "", note.Email, status, CodeOf(outcome), http.RequestId(), note.Fault, duration,
            await RequestBodyAsync(http.Request), ResponseBody(http, outcome)));
    }

    /// <summary>The start of the request body as text, an access token in it masked; or what it was when it is not kept.</summary>
    private static async ValueTask<string?> RequestBodyAsync(HttpRequest request)
    {
        if (request.ContentLength is null or 0)
        {
            return null;
        }

        if (request.HasFormContentType)
        {
            return $"(form, {request.ContentLength:N0} bytes, not kept)";
        }

        if (!request.Body.CanSeek)
        {
            return $"({request.ContentLength:N0} bytes, not kept: the log keeps bodies of up to {BufferedBodyLimit / 1024} KB)";
        }

        try
        {
            request.Body.Position = 0;
            var buffer = new byte[BodyBytesKept];
            var read = await request.Body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false);
            return Mask(Clip(System.Text.Encoding.UTF8.GetString(buffer, 0, read), request.ContentLength.Value - read));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            return null; // the client went away; the log keeps the rest of the call
        }
    }

    /// <summary>The answer as JSON (its start), or what it was when it is a file.</summary>
    private static string? ResponseBody(HttpContext http, object? outcome)
    {
        while (outcome is INestedHttpResult nested)
        {
            outcome = nested.Result;
        }

        if (outcome is not IValueHttpResult { Value: { } value })
        {
            return http.Response.ContentLength is { } length && !(http.Response.ContentType ?? "").Contains("json", StringComparison.OrdinalIgnoreCase)
                ? $"({http.Response.ContentType ?? "body"}, {length:N0} bytes)"
                : null;
        }

        try
        {
            // The wire's own contract first (the Marketo envelopes), then whatever the app's JSON options resolve.
            var info = MarketoJsonContext.Wire.GetTypeInfo(value.GetType())
                ?? http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value
                    .SerializerOptions.GetTypeInfo(value.GetType());
            // Bytes, as the request body is kept: the answer's UTF-8 once, its head decoded, the rest only counted.
            var utf8 = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, info);
            var kept = Math.Min(utf8.Length, BodyBytesKept);
            return Clip(System.Text.Encoding.UTF8.GetString(utf8, 0, kept), utf8.Length - kept);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Clip(string text, long more) => more > 0 ? $"{text}… ({more:N0} more bytes)" : text;

    /// <summary>A token never lands in the log, in a form or a JSON body.</summary>
    private static string Mask(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, "(access_token\"?\\s*[=:]\\s*\"?)[^&\"\\s]+", "$1***", System.Text.RegularExpressions.RegexOptions.None,
            TimeSpan.FromMilliseconds(50));

    /// <summary>Remembers the answer an endpoint produced (executed inside the filter), for the log.</summary>
    public void NoteResult(HttpContext http, IResult result)
    {
        if (http.Items[CallKey] is CallNote note)
        {
            note.Result = result;
        }
    }

    private static string? CodeOf(object? outcome)
    {
        var value = (outcome as IValueHttpResult)?.Value;
        if (value is null)
        {
            return null;
        }

        var property = ErrorsProperty.GetOrAdd(value.GetType(), static t =>
            t.IsGenericType && t.GetGenericTypeDefinition() == typeof(MarketoResponse<>) ? t.GetProperty(nameof(MarketoResponse<object>.Errors)) : null);
        return property?.GetValue(value) is IReadOnlyList<MarketoError> { Count: > 0 } errors ? errors[0].Code : null;
    }

    private static Guid? ExportIdOf(HttpContext http) =>
        http.Request.RouteValues.TryGetValue("exportId", out var raw) && ExportIds.TryParse(raw as string, out var id) ? id : null;

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    private sealed class CallNote(int subscriptionId, string email)
    {
        public int SubscriptionId { get; } = subscriptionId;

        public string Email { get; } = email;

        public string? Fault { get; set; }

        public IResult? Result { get; set; }
    }
}

/// <summary>Passes the first <c>limit</c> bytes of a response, then cuts the connection (a download that drops mid-way).</summary>
internal sealed class CuttingStream(Stream inner, long limit, HttpContext http) : Stream
{
    private long _written;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _written; set => throw new NotSupportedException(); }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var room = limit - _written;
        if (buffer.Length <= room)
        {
            _written += buffer.Length;
            await inner.WriteAsync(buffer, cancellationToken);
            return;
        }

        if (room > 0)
        {
            await inner.WriteAsync(buffer[..(int)room], cancellationToken);
            _written = limit;
        }

        await inner.FlushAsync(cancellationToken);
        // Let the bytes reach the client before the reset (a reset can make the peer drop what it has not read yet).
        await Task.Delay(200, CancellationToken.None);
        http.Abort();
        throw new OperationCanceledException("Connection cut by a fault rule.", http.RequestAborted);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
