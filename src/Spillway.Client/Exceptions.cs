using System.Net;

namespace Spillway.Client;

/// <summary>A call failed with a Marketo error (an envelope with <c>success:false</c>) or an unexpected HTTP status.</summary>
public class MarketoApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MarketoApiException() : this("", "Marketo API error")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MarketoApiException(string message) : this("", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MarketoApiException(string message, Exception innerException) : base(message, innerException)
    {
        Code = "";
        ApiMessage = message;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="code">The Marketo error code, such as <c>1003</c>; for an HTTP failure the HTTP status.</param>
    /// <param name="apiMessage">The message the API sent.</param>
    /// <param name="requestId">The request id of the failed call, if any.</param>
    /// <param name="httpStatus">The HTTP status of the answer, if any.</param>
    public MarketoApiException(string code, string apiMessage, string? requestId = null, HttpStatusCode? httpStatus = null)
        : base(FormatMessage(code, apiMessage, requestId))
    {
        Code = code;
        ApiMessage = apiMessage;
        RequestId = requestId;
        HttpStatus = httpStatus;
    }

    /// <summary>The Marketo error code (a string on the wire, such as <c>"1003"</c>), or the HTTP status for HTTP failures.</summary>
    public string Code { get; }

    /// <summary>The message as the API sent it.</summary>
    public string ApiMessage { get; }

    /// <summary>The request id of the failed call, when the answer had one.</summary>
    public string? RequestId { get; }

    /// <summary>The HTTP status of the answer, when it was not a 200 envelope.</summary>
    public HttpStatusCode? HttpStatus { get; }

    private static string FormatMessage(string code, string message, string? requestId) =>
        requestId is null ? $"Marketo error {code}: {message}" : $"Marketo error {code}: {message} (requestId {requestId})";
}

/// <summary>
/// The subscription's daily export quota is used up (1029 "Export daily quota NNNMB exceeded.").
/// Retrying before <see cref="ResetsAt"/> cannot succeed.
/// </summary>
public sealed class ExportQuotaExceededException : MarketoApiException
{
    /// <summary>Creates the exception.</summary>
    public ExportQuotaExceededException() : this("Export daily quota exceeded.", null, DateTimeOffset.MinValue)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ExportQuotaExceededException(string message) : this(message, null, DateTimeOffset.MinValue)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ExportQuotaExceededException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="apiMessage">The message the API sent.</param>
    /// <param name="requestId">The request id.</param>
    /// <param name="resetsAt">When the quota resets: the next midnight in America/Chicago.</param>
    public ExportQuotaExceededException(string apiMessage, string? requestId, DateTimeOffset resetsAt)
        : base("1029", apiMessage, requestId)
    {
        ResetsAt = resetsAt;
        QuotaMegabytes = ParseQuota(apiMessage);
    }

    /// <summary>When the quota resets: the next midnight in America/Chicago (Marketo's "12:00 AM CST").</summary>
    public DateTimeOffset ResetsAt { get; }

    /// <summary>The quota in MB, as the message states it, if it does.</summary>
    public long? QuotaMegabytes { get; }

    /// <inheritdoc />
    public override string Message =>
        $"{base.Message}. The export quota resets at {ResetsAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC (midnight America/Chicago); " +
        "jobs already queued still run, and a rerun after the reset resumes where this one stopped.";

    private static long? ParseQuota(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"quota\s+(\d+)\s*MB", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success && long.TryParse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out var mb) ? mb : null;
    }
}

/// <summary>The export file is not available (HTTP 404): the job is not Completed, unknown, someone else's, or the file expired.</summary>
public sealed class ExportFileNotAvailableException : MarketoApiException
{
    /// <summary>Creates the exception.</summary>
    public ExportFileNotAvailableException() : this("The export file is not available.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ExportFileNotAvailableException(string message) : base("404", message, null, HttpStatusCode.NotFound)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ExportFileNotAvailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>A downloaded export file does not match the <c>fileSize</c> or <c>fileChecksum</c> the job reported.</summary>
public sealed class ExportFileVerificationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExportFileVerificationException() : this("The export file failed verification.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ExportFileVerificationException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ExportFileVerificationException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="exportId">The export job.</param>
    /// <param name="expectedSize">The size the job reported.</param>
    /// <param name="actualSize">The size received.</param>
    /// <param name="expectedChecksum">The checksum the job reported.</param>
    /// <param name="actualChecksum">The checksum of the bytes received.</param>
    public ExportFileVerificationException(string exportId, long expectedSize, long actualSize, string expectedChecksum, string actualChecksum)
        : base($"Export {exportId}: the file received has {actualSize} bytes and checksum {actualChecksum}; " +
               $"the job reported {expectedSize} bytes and {expectedChecksum}. The file was not kept.")
    {
        ExportId = exportId;
        ExpectedSize = expectedSize;
        ActualSize = actualSize;
        ExpectedChecksum = expectedChecksum;
        ActualChecksum = actualChecksum;
    }

    /// <summary>The export job.</summary>
    public string ExportId { get; } = "";

    /// <summary>The size the job reported.</summary>
    public long ExpectedSize { get; }

    /// <summary>The size received.</summary>
    public long ActualSize { get; }

    /// <summary>The checksum the job reported.</summary>
    public string ExpectedChecksum { get; } = "";

    /// <summary>The checksum of the bytes received.</summary>
    public string ActualChecksum { get; } = "";
}
