namespace Spillway.Contracts;

/// <summary>The Marketo error codes this API uses, with their documented messages.</summary>
public static class MarketoErrors
{
    /// <summary>601: the token is missing or unknown.</summary>
    public static readonly MarketoError AccessTokenInvalid = new("601", "Access token invalid");
    /// <summary>602: the token has expired.</summary>
    public static readonly MarketoError AccessTokenExpired = new("602", "Access token expired");
    /// <summary>603: the API user lacks the permission.</summary>
    public static readonly MarketoError AccessDenied = new("603", "Access denied");
    /// <summary>604: the request ran too long.</summary>
    public static readonly MarketoError RequestTimeout = new("604", "Request time-out");
    /// <summary>605: wrong HTTP method for the path.</summary>
    public static readonly MarketoError MethodNotSupported = new("605", "HTTP Method not supported");
    /// <summary>607: the daily call quota is used up.</summary>
    public static readonly MarketoError DailyQuotaReached = new("607", "Daily quota reached");
    /// <summary>608: temporarily unavailable.</summary>
    public static readonly MarketoError TemporarilyUnavailable = new("608", "API Temporarily Unavailable");
    /// <summary>609: the body is not valid JSON.</summary>
    public static readonly MarketoError InvalidJson = new("609", "Invalid JSON");
    /// <summary>610: no such resource (also: another API user's job).</summary>
    public static readonly MarketoError NotFound = new("610", "Requested resource not found");
    /// <summary>611: an unexpected failure; the incident is logged with the request id.</summary>
    public static readonly MarketoError SystemError = new("611", "System error");
    /// <summary>612: a create body without a JSON content type.</summary>
    public static readonly MarketoError InvalidContentType = new("612", "Invalid Content Type");
    /// <summary>1029: the queue of the subscription is full.</summary>
    public static readonly MarketoError TooManyJobsInQueue = new("1029", "Too many jobs in queue");
    /// <summary>1029: the job is already Queued or Processing.</summary>
    public static readonly MarketoError JobAlreadyQueued = new("1029", "Job already queued");

    /// <summary>606, with the configured limit in the message.</summary>
    /// <param name="calls">Calls allowed per window.</param>
    /// <param name="seconds">The window in seconds.</param>
    /// <returns>The error.</returns>
    public static MarketoError RateLimitExceeded(int calls, int seconds) =>
        new("606", $"Max rate limit '{calls}' exceeded with in '{seconds}' secs");

    /// <summary>615, with the configured limit in the message.</summary>
    /// <param name="calls">Concurrent calls allowed.</param>
    /// <returns>The error.</returns>
    public static MarketoError ConcurrentAccessLimit(int calls) => new("615", $"Concurrent access limit '{calls}' reached");

    /// <summary>1029, the daily export quota, with the configured quota in MB.</summary>
    /// <param name="quotaMegabytes">The quota in MB.</param>
    /// <returns>The error.</returns>
    public static MarketoError ExportDailyQuotaExceeded(long quotaMegabytes) =>
        new("1029", $"Export daily quota {quotaMegabytes}MB exceeded.");

    /// <summary>1003, invalid data, with a message that names the member and the rule.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The error.</returns>
    public static MarketoError InvalidData(string message) => new("1003", message);
}
