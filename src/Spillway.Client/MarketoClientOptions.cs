namespace Spillway.Client;

/// <summary>
/// Where and how <see cref="MarketoBulkClient"/> talks to a Marketo instance or a Spillway server:
/// the base URL, the API credentials, the pacing limits and the retry policy.
/// </summary>
public sealed class MarketoClientOptions
{
    /// <summary>
    /// The base URL of the instance, for example <c>https://123-ABC-456.mktorest.com</c> or a Spillway server.
    /// A trailing <c>/rest</c> or <c>/identity</c> (as Marketo's admin page shows the endpoints) is ignored.
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The client id of the custom service.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The client secret of the custom service.</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>At most this many calls start within <see cref="RateLimitWindow"/> (Marketo: 100 per 20 s).</summary>
    public int MaxCallsPerWindow { get; set; } = 100;

    /// <summary>The sliding window of the rate limit (Marketo: 20 s).</summary>
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>At most this many calls in flight at once (Marketo: 10), downloads included.</summary>
    public int MaxConcurrentCalls { get; set; } = 10;

    /// <summary>The token is renewed this long before it expires.</summary>
    public TimeSpan TokenRenewBefore { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries of a transient failure (HTTP 502/503/504, 604, 608, 611, connection errors, timeouts).</summary>
    public int MaxTransientRetries { get; set; } = 5;

    /// <summary>Retries after a rate-limit answer (606, 615).</summary>
    public int MaxRateLimitRetries { get; set; } = 10;

    /// <summary>The first retry delay; each further retry doubles it, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two retries of a transient failure.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The delay after 606 or 615 before the call is tried again (jittered, doubled per repeat).</summary>
    public TimeSpan RateLimitDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The delay before a create or enqueue answered with 1029 "Too many jobs in queue" is tried again.</summary>
    public TimeSpan QueueFullDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a queue-full answer is waited out before it is thrown; null waits until cancelled.</summary>
    public int? MaxQueueFullWaits { get; set; } = 120;

    /// <summary>A file download that receives no byte for this long is treated as a dropped connection.</summary>
    public TimeSpan DownloadStallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a download may be resumed after dropped connections that made no progress.</summary>
    public int MaxDownloadResumes { get; set; } = 10;

    /// <summary>The Marketo host of a munchkin id: <c>https://{munchkinId}.mktorest.com</c>.</summary>
    /// <param name="munchkinId">The munchkin id, such as <c>123-ABC-456</c>.</param>
    /// <returns>The base URL.</returns>
    public static Uri BaseUrlFromMunchkinId(string munchkinId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(munchkinId);
        var id = munchkinId.Trim();
        if (!id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException($"'{munchkinId}' is not a munchkin id (expected something like 123-ABC-456).", nameof(munchkinId));
        }

        return new Uri($"https://{id}.mktorest.com/");
    }

    /// <summary>Options for a Marketo instance given by its munchkin id.</summary>
    /// <param name="munchkinId">The munchkin id, such as <c>123-ABC-456</c>.</param>
    /// <param name="clientId">The client id.</param>
    /// <param name="clientSecret">The client secret.</param>
    /// <returns>The options, with default limits.</returns>
    public static MarketoClientOptions ForMunchkinId(string munchkinId, string clientId, string clientSecret) => new()
    {
        BaseUrl = BaseUrlFromMunchkinId(munchkinId),
        ClientId = clientId,
        ClientSecret = clientSecret,
    };

    /// <summary>Checks the options and returns the normalised base URL (ending in <c>/</c>, without <c>/rest</c>).</summary>
    /// <returns>The base URL.</returns>
    /// <exception cref="InvalidOperationException">A setting is missing or out of range.</exception>
    internal Uri Validate()
    {
        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri)
        {
            throw new InvalidOperationException("MarketoClientOptions.BaseUrl must be an absolute URL.");
        }

        if (string.IsNullOrEmpty(ClientId) || string.IsNullOrEmpty(ClientSecret))
        {
            throw new InvalidOperationException("MarketoClientOptions.ClientId and ClientSecret are required.");
        }

        if (MaxCallsPerWindow < 1 || MaxConcurrentCalls < 1 || RateLimitWindow <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("The pacing limits must be positive.");
        }

        var path = BaseUrl.AbsolutePath.TrimEnd('/');
        foreach (var suffix in new[] { "/rest", "/identity", "/bulk" })
        {
            if (path.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                path = path[..^suffix.Length];
                break;
            }
        }

        return new UriBuilder(BaseUrl) { Path = path + "/", Query = "", Fragment = "" }.Uri;
    }
}
