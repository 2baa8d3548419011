using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;

namespace Spillway.Server.Hosting;

/// <summary>Marketo's response conventions: the request id, the envelope, and the JSON content type.</summary>
internal static class MarketoHttp
{
    public const string JsonContentType = "application/json;charset=UTF-8";
    public const string CsvContentType = "text/csv;charset=UTF-8";
    private const string RequestIdKey = "Spillway.RequestId";
    private const string CodeKey = "Spillway.MarketoCode";

    /// <summary><c>&lt;1-5 lowercase hex&gt;#&lt;epoch ms in lowercase hex&gt;</c>.</summary>
    public static string NewRequestId(DateTimeOffset now)
    {
        var prefix = RandomNumberGenerator.GetInt32(0x1000, 0x10000);
        return string.Create(CultureInfo.InvariantCulture, $"{prefix:x}#{now.ToUnixTimeMilliseconds():x}");
    }

    /// <summary>Echoes at most a short prefix of user input in an error message.</summary>
    public static string Clip(string? text, int max = 64) => text is null ? "" : text.Length <= max ? text : text[..max] + "...";

    public static string RequestId(this HttpContext context) =>
        context.Items.TryGetValue(RequestIdKey, out var id) && id is string s ? s : "";

    public static void SetRequestId(this HttpContext context, string requestId) => context.Items[RequestIdKey] = requestId;

    /// <summary>Notes the Marketo error code a call is answered with, for the API call metrics.</summary>
    public static void NoteMarketoCode(this HttpContext context, string code) => context.Items[CodeKey] = code;

    /// <summary>The Marketo error code the call was answered with; null for a success.</summary>
    public static string? MarketoCode(this HttpContext context) => context.Items.TryGetValue(CodeKey, out var code) ? code as string : null;

    public static JsonHttpResult<MarketoResponse<T>> Success<T>(HttpContext context, IReadOnlyList<T> result,
        JsonTypeInfo<MarketoResponse<T>> typeInfo, string? nextPageToken = null, bool? moreResult = null) =>
        TypedResults.Json(new MarketoResponse<T>
        {
            RequestId = context.RequestId(),
            Result = result,
            Success = true,
            NextPageToken = nextPageToken,
            MoreResult = moreResult,
        }, typeInfo, JsonContentType);

    public static JsonHttpResult<MarketoResponse<T>> Failure<T>(HttpContext context, MarketoError error,
        JsonTypeInfo<MarketoResponse<T>> typeInfo)
    {
        context.NoteMarketoCode(error.Code);
        return TypedResults.Json(new MarketoResponse<T>
        {
            RequestId = context.RequestId(),
            Success = false,
            Errors = [error],
        }, typeInfo, JsonContentType);
    }

    /// <summary>Writes a failure envelope from middleware or a filter (HTTP 200, like every Marketo API error).</summary>
    public static Task WriteFailureAsync(HttpContext context, MarketoError error)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.NoteMarketoCode(error.Code);
        var body = new MarketoResponse<object> { RequestId = context.RequestId(), Success = false, Errors = [error] };
        return context.Response.WriteAsJsonAsync(body, MarketoJsonContext.Wire.MarketoResponseObject, JsonContentType,
            context.RequestAborted);
    }
}
