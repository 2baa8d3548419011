using System.Text.Json.Serialization;

namespace Spillway.Contracts;

/// <summary>
/// The envelope every Marketo REST and bulk response uses. Members that would be empty are left out,
/// in the order real responses use: <c>requestId, result, success[, nextPageToken, moreResult]</c>, then <c>errors</c>.
/// </summary>
/// <typeparam name="T">The type of the items in <see cref="Result"/>.</typeparam>
public sealed class MarketoResponse<T>
{
    /// <summary>The request id, <c>&lt;hex&gt;#&lt;epoch ms in hex&gt;</c>.</summary>
    [JsonPropertyOrder(0)]
    public string RequestId { get; set; } = "";

    /// <summary>The result items; absent on failure.</summary>
    [JsonPropertyOrder(1)]
    public IReadOnlyList<T>? Result { get; set; }

    /// <summary>Whether the call succeeded. API errors still come with HTTP 200.</summary>
    [JsonPropertyOrder(2)]
    public bool Success { get; set; }

    /// <summary>The paging token of the next page, when there is one (list jobs) or always (activity paging).</summary>
    [JsonPropertyOrder(3)]
    public string? NextPageToken { get; set; }

    /// <summary>Whether more results remain (activity paging endpoints only).</summary>
    [JsonPropertyOrder(4)]
    public bool? MoreResult { get; set; }

    /// <summary>The errors, on failure.</summary>
    [JsonPropertyOrder(5)]
    public IReadOnlyList<MarketoError>? Errors { get; set; }

    /// <summary>Warnings, when there are any.</summary>
    [JsonPropertyOrder(6)]
    public IReadOnlyList<MarketoWarning>? Warnings { get; set; }
}

/// <summary>One error of a failed call. The code is a string on the wire, such as <c>"601"</c>.</summary>
/// <param name="Code">The Marketo error code.</param>
/// <param name="Message">The error message.</param>
public sealed record MarketoError(string Code, string Message);

/// <summary>A warning on a successful call.</summary>
/// <param name="Code">The warning code.</param>
/// <param name="Message">The warning message.</param>
public sealed record MarketoWarning(int Code, string Message);
