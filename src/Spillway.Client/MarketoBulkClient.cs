using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>
/// A client for the identity endpoint, <c>activities/types.json</c> and the six Bulk Activity Extract endpoints,
/// for Adobe Marketo Engage or a Spillway server. It caches and renews the access token, paces calls under the
/// rate and concurrency limits, retries transient failures with jittered exponential backoff, waits out a full
/// export queue, and turns the daily export quota into <see cref="ExportQuotaExceededException"/>.
/// </summary>
/// <remarks>The instance is thread-safe; share one per subscription so that pacing covers every call.</remarks>
public sealed class MarketoBulkClient : IDisposable
{
    private const string ExportBase = "bulk/v1/activities/export";
    private const string LeadExportBase = "bulk/v1/leads/export";

    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly RequestPacer _pacer;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private readonly Lock _tokenGate = new();
    private string? _token;
    private DateTimeOffset _tokenRenewAt;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">The HTTP client; its base address is not used. The caller owns it.</param>
    /// <param name="options">The base URL, credentials, limits and retry policy.</param>
    /// <param name="timeProvider">The clock for token expiry, pacing and delays; the system clock by default.</param>
    public MarketoBulkClient(HttpClient httpClient, MarketoClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        Options = options;
        _baseUrl = options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _pacer = new RequestPacer(options.MaxCallsPerWindow, options.RateLimitWindow, options.MaxConcurrentCalls, _time);
    }

    /// <summary>The options the client was created with.</summary>
    public MarketoClientOptions Options { get; }

    /// <summary>The normalised base URL (ending in <c>/</c>).</summary>
    public Uri BaseUrl => _baseUrl;

    /// <summary>Raised before the client waits to try a call again (rate limit, full queue, transient failure, dropped download).</summary>
    public event EventHandler<MarketoRetryEventArgs>? Retrying;

    /// <summary>Returns the cached access token, fetching a new one when there is none or it is about to expire.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The bearer token.</returns>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        var cached = CachedToken();
        if (cached is not null)
        {
            return cached;
        }

        await _tokenLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cached = CachedToken();
            if (cached is not null)
            {
                return cached;
            }

            var response = await RequestTokenAsync(cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            var expiresAt = now + TimeSpan.FromSeconds(Math.Max(0, response.ExpiresIn));
            var renewAt = expiresAt - Options.TokenRenewBefore;
            // Marketo hands out the same token until it expires, so a token already inside the renewal window is
            // used until its expiry (a 602 after that triggers a fresh one) rather than fetched again on every call.
            if (renewAt <= now)
            {
                renewAt = expiresAt;
            }

            lock (_tokenGate)
            {
                _token = response.AccessToken;
                _tokenRenewAt = renewAt;
            }

            return response.AccessToken;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    /// <summary><c>GET /rest/v1/activities/types.json</c>: the activity types of the subscription.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The types.</returns>
    public async Task<IReadOnlyList<ActivityType>> GetActivityTypesAsync(CancellationToken cancellationToken = default)
    {
        var response = await SendAsync("activity types", HttpMethod.Get, "rest/v1/activities/types.json", null,
            MarketoJsonContext.Default.MarketoResponseActivityType, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return response.Result ?? [];
    }

    /// <summary><c>POST /bulk/v1/activities/export/create.json</c>: creates an export job (status Created).</summary>
    /// <param name="request">The format, fields, headers and filter.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The created job.</returns>
    /// <exception cref="ExportQuotaExceededException">The daily export quota is used up.</exception>
    /// <exception cref="MarketoApiException">The API refused the request.</exception>
    public async Task<ExportJob> CreateExportAsync(ExportActivityRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, MarketoJsonContext.Default.ExportActivityRequest);
        var response = await SendAsync("create", HttpMethod.Post, $"{ExportBase}/create.json", () =>
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return content;
        }, MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: true, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary>
    /// <c>POST /bulk/v1/activities/export/{exportId}/enqueue.json</c>: puts a Created job in the queue.
    /// A full queue (1029 "Too many jobs in queue") is waited out; "Job already queued" (for instance after a retry
    /// whose first answer was lost) returns the job's current status.
    /// </summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call, including the waits.</param>
    /// <returns>The job, normally Queued.</returns>
    /// <exception cref="ExportQuotaExceededException">The daily export quota is used up.</exception>
    /// <exception cref="MarketoApiException">The API refused the request.</exception>
    public async Task<ExportJob> EnqueueExportAsync(string exportId, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await SendAsync("enqueue", HttpMethod.Post, JobPath(exportId, "enqueue"), null,
                MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: true, cancellationToken).ConfigureAwait(false);
            return Single(response);
        }
        catch (MarketoApiException ex) when (ex.Code == "1029" && ex.ApiMessage.Contains("already queued", StringComparison.OrdinalIgnoreCase))
        {
            return await GetExportStatusAsync(exportId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>GET /bulk/v1/activities/export/{exportId}/status.json</c>: the job's status.</summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job.</returns>
    public async Task<ExportJob> GetExportStatusAsync(string exportId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync("status", HttpMethod.Get, JobPath(exportId, "status"), null,
            MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary><c>POST /bulk/v1/activities/export/{exportId}/cancel.json</c>: cancels a Created, Queued or Processing job.</summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, Cancelled.</returns>
    public async Task<ExportJob> CancelExportAsync(string exportId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync("cancel", HttpMethod.Post, JobPath(exportId, "cancel"), null,
            MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary><c>GET /bulk/v1/activities/export.json</c>: one page of the caller's jobs created in the last 7 days.</summary>
    /// <param name="statuses">Only jobs in these statuses (any case); null for all.</param>
    /// <param name="batchSize">The page size (at most 300); null for the server's default.</param>
    /// <param name="nextPageToken">The token of the page to read; null for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public async Task<ExportJobPage> ListExportsAsync(IEnumerable<string>? statuses = null, int? batchSize = null,
        string? nextPageToken = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        var statusList = statuses?.Where(s => !string.IsNullOrWhiteSpace(s)).ToList();
        if (statusList is { Count: > 0 })
        {
            query.Add("status=" + Uri.EscapeDataString(string.Join(',', statusList)));
        }

        if (batchSize is { } size)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, nameof(batchSize));
            query.Add("batchSize=" + size.ToString(CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrEmpty(nextPageToken))
        {
            query.Add("nextPageToken=" + Uri.EscapeDataString(nextPageToken));
        }

        var path = $"{ExportBase}.json" + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        var response = await SendAsync("list", HttpMethod.Get, path, null,
            MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return new ExportJobPage(response.Result ?? [], string.IsNullOrEmpty(response.NextPageToken) ? null : response.NextPageToken);
    }

    /// <summary>Every job of <see cref="ListExportsAsync"/>, following <c>nextPageToken</c> until the last page.</summary>
    /// <param name="statuses">Only jobs in these statuses; null for all.</param>
    /// <param name="batchSize">The page size; null for the server's default.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The jobs.</returns>
    public async IAsyncEnumerable<ExportJob> ListAllExportsAsync(IEnumerable<string>? statuses = null, int? batchSize = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var statusList = statuses?.ToList();
        string? token = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var page = await ListExportsAsync(statusList, batchSize, token, cancellationToken).ConfigureAwait(false);
            foreach (var job in page.Jobs)
            {
                yield return job;
            }

            token = page.NextPageToken;
            if (token is not null && !seen.Add(token))
            {
                throw new MarketoApiException("paging", $"The server returned the paging token '{token}' twice; stopping instead of looping.");
            }
        }
        while (token is not null);
    }

    /// <summary>Downloads the file of a Completed job and verifies it against the job's <c>fileSize</c> and <c>fileChecksum</c>.</summary>
    /// <param name="job">The Completed job.</param>
    /// <param name="destinationPath">Where the verified file goes.</param>
    /// <param name="progress">Receives the number of bytes on disk so far.</param>
    /// <param name="cancellationToken">Cancels the download; the partial file is kept for a later resume.</param>
    /// <returns>The verified file.</returns>
    public Task<DownloadedFile> DownloadFileAsync(ExportJob job, string destinationPath, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.FileSize is not { } size || string.IsNullOrEmpty(job.FileChecksum))
        {
            throw new ArgumentException($"Export {job.ExportId} is {job.Status} and reports no fileSize and fileChecksum to verify against.", nameof(job));
        }

        return DownloadFileAsync(job.ExportId, destinationPath, size, job.FileChecksum, progress, cancellationToken);
    }

    /// <summary>
    /// <c>GET /bulk/v1/activities/export/{exportId}/file.json</c>: streams the file to <c>destinationPath + ".part"</c>,
    /// resuming with <c>Range: bytes=N-</c> after a dropped or stalled connection (a 200 answer restarts from 0),
    /// then verifies the size and the <c>sha256:</c> checksum and renames the file into place.
    /// A partial file left by an earlier, interrupted call is resumed too.
    /// </summary>
    /// <param name="exportId">The Completed job.</param>
    /// <param name="destinationPath">Where the verified file goes (replaced if it exists).</param>
    /// <param name="expectedSize">The job's <c>fileSize</c>.</param>
    /// <param name="expectedChecksum">The job's <c>fileChecksum</c>, <c>sha256:</c> and hex.</param>
    /// <param name="progress">Receives the number of bytes on disk so far.</param>
    /// <param name="cancellationToken">Cancels the download; the partial file is kept for a later resume.</param>
    /// <returns>The verified file.</returns>
    /// <exception cref="ExportFileVerificationException">The bytes received do not match the size or checksum; nothing is kept.</exception>
    /// <exception cref="ExportFileNotAvailableException">The server answered 404 (not Completed, unknown, or expired).</exception>
    public Task<DownloadedFile> DownloadFileAsync(string exportId, string destinationPath, long expectedSize, string expectedChecksum,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        DownloadAsync(ExportBase, exportId, destinationPath, expectedSize, expectedChecksum, progress, cancellationToken);

    private async Task<DownloadedFile> DownloadAsync(string exportBase, string exportId, string destinationPath, long expectedSize,
        string expectedChecksum, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(exportId);
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedSize);
        ArgumentException.ThrowIfNullOrEmpty(expectedChecksum);
        if (!expectedChecksum.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Unsupported checksum '{expectedChecksum}'; expected 'sha256:<hex>'.", nameof(expectedChecksum));
        }

        var fullPath = Path.GetFullPath(destinationPath);
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var download = new FileDownload(this, exportBase, exportId, fullPath, expectedSize, expectedChecksum, progress);
        try
        {
            return await download.RunAsync(useExistingPart: true, cancellationToken).ConfigureAwait(false);
        }
        catch (ExportFileVerificationException) when (download.ResumedFromExistingPart)
        {
            // The partial file of an earlier run may belong to another file; fetch the whole file once more.
            return await new FileDownload(this, exportBase, exportId, fullPath, expectedSize, expectedChecksum, progress)
                .RunAsync(useExistingPart: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>POST /bulk/v1/leads/export/create.json</c>: creates a lead export job (status Created).</summary>
    /// <param name="request">The fields (required), format, headers and exactly one filter.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The created job.</returns>
    /// <exception cref="ExportQuotaExceededException">The daily export quota (shared with activity exports) is used up.</exception>
    /// <exception cref="MarketoApiException">The API refused the request (1003 for a bad body, 1035 for a filter the subscription lacks).</exception>
    public async Task<ExportJob> CreateLeadExportAsync(ExportLeadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, MarketoJsonContext.Default.ExportLeadRequest);
        var response = await SendAsync("create", HttpMethod.Post, $"{LeadExportBase}/create.json", () =>
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return content;
        }, MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: true, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary>
    /// <c>POST /bulk/v1/leads/export/{exportId}/enqueue.json</c>: puts a Created lead job in the queue it shares with
    /// activity jobs. A full queue is waited out; "Job already queued" returns the job's current status.
    /// </summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call, including the waits.</param>
    /// <returns>The job, normally Queued.</returns>
    /// <exception cref="ExportQuotaExceededException">The daily export quota is used up.</exception>
    /// <exception cref="MarketoApiException">The API refused the request.</exception>
    public async Task<ExportJob> EnqueueLeadExportAsync(string exportId, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await SendAsync("enqueue", HttpMethod.Post, JobPath(LeadExportBase, exportId, "enqueue"), null,
                MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: true, cancellationToken).ConfigureAwait(false);
            return Single(response);
        }
        catch (MarketoApiException ex) when (ex.Code == "1029" && ex.ApiMessage.Contains("already queued", StringComparison.OrdinalIgnoreCase))
        {
            return await GetLeadExportStatusAsync(exportId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>GET /bulk/v1/leads/export/{exportId}/status.json</c>: the lead job's status.</summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job.</returns>
    public async Task<ExportJob> GetLeadExportStatusAsync(string exportId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync("status", HttpMethod.Get, JobPath(LeadExportBase, exportId, "status"), null,
            MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary><c>POST /bulk/v1/leads/export/{exportId}/cancel.json</c>: cancels a Created, Queued or Processing lead job.</summary>
    /// <param name="exportId">The job.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The job, Cancelled.</returns>
    public async Task<ExportJob> CancelLeadExportAsync(string exportId, CancellationToken cancellationToken = default)
    {
        var response = await SendAsync("cancel", HttpMethod.Post, JobPath(LeadExportBase, exportId, "cancel"), null,
            MarketoJsonContext.Default.MarketoResponseExportJob, waitOnQueueFull: false, cancellationToken).ConfigureAwait(false);
        return Single(response);
    }

    /// <summary>
    /// <c>GET /bulk/v1/leads/export/{exportId}/file.json</c>: downloads a Completed lead job's file as
    /// <see cref="DownloadFileAsync(ExportJob, string, IProgress{long}?, CancellationToken)"/> does (resume with Range,
    /// size and <c>sha256:</c> checksum verified before the file is renamed into place).
    /// </summary>
    /// <param name="job">The Completed lead job.</param>
    /// <param name="destinationPath">Where the verified file goes (replaced if it exists).</param>
    /// <param name="progress">Receives the number of bytes on disk so far.</param>
    /// <param name="cancellationToken">Cancels the download; the partial file is kept for a later resume.</param>
    /// <returns>The verified file.</returns>
    /// <exception cref="ExportFileVerificationException">The bytes received do not match the size or checksum; nothing is kept.</exception>
    /// <exception cref="ExportFileNotAvailableException">The server answered 404 (not Completed, unknown, or expired).</exception>
    public Task<DownloadedFile> DownloadLeadFileAsync(ExportJob job, string destinationPath, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.FileSize is not { } size || string.IsNullOrEmpty(job.FileChecksum))
        {
            throw new ArgumentException($"Export {job.ExportId} is {job.Status} and reports no fileSize and fileChecksum to verify against.", nameof(job));
        }

        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        return DownloadAsync(LeadExportBase, job.ExportId, destinationPath, size, job.FileChecksum, progress, cancellationToken);
    }

    /// <summary>Releases the pacer. The <see cref="HttpClient"/> belongs to the caller and is not disposed.</summary>
    public void Dispose()
    {
        _pacer.Dispose();
        _tokenLock.Dispose();
    }

    private string? CachedToken()
    {
        lock (_tokenGate)
        {
            return _token is not null && _time.GetUtcNow() < _tokenRenewAt ? _token : null;
        }
    }

    private void InvalidateToken(string used)
    {
        lock (_tokenGate)
        {
            if (_token == used)
            {
                _token = null;
            }
        }
    }

    private async Task<AccessTokenResponse> RequestTokenAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(_baseUrl, "identity/oauth/token?grant_type=client_credentials&client_id="
            + Uri.EscapeDataString(Options.ClientId) + "&client_secret=" + Uri.EscapeDataString(Options.ClientSecret));
        var attempt = 0;
        while (true)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                    AccessTokenResponse? token;
                    try
                    {
                        token = await JsonSerializer.DeserializeAsync(stream, MarketoJsonContext.Default.AccessTokenResponse, cancellationToken).ConfigureAwait(false);
                    }
                    catch (JsonException ex)
                    {
                        throw new MarketoApiException($"The identity endpoint answered with a body that is not an OAuth token: {ex.Message}", ex);
                    }

                    if (token is null || string.IsNullOrEmpty(token.AccessToken))
                    {
                        throw new MarketoApiException("identity", "The identity endpoint answered without an access_token.");
                    }

                    return token;
                }

                if (!IsTransientStatus(response.StatusCode))
                {
                    var text = await ReadTextAsync(response, cancellationToken).ConfigureAwait(false);
                    var (code, message) = ParseOAuthError(text, response.StatusCode);
                    throw new MarketoApiException(code, message, null, response.StatusCode);
                }

                failure = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                failure = ex.Message;
            }

            attempt++;
            if (attempt > Options.MaxTransientRetries)
            {
                throw new MarketoApiException("identity", $"The identity endpoint failed {attempt} times; last: {failure}");
            }

            await WaitAsync("token", "transient", failure, attempt, Backoff(Options.InitialRetryDelay, attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    private static (string Code, string Message) ParseOAuthError(string text, HttpStatusCode status)
    {
        try
        {
            var error = JsonSerializer.Deserialize(text, MarketoJsonContext.Default.OAuthErrorResponse);
            if (error is not null && !string.IsNullOrEmpty(error.Error))
            {
                return (error.Error, string.IsNullOrEmpty(error.ErrorDescription) ? error.Error : error.ErrorDescription);
            }
        }
        catch (JsonException)
        {
        }

        return (((int)status).ToString(CultureInfo.InvariantCulture), string.IsNullOrWhiteSpace(text) ? status.ToString() : text);
    }

    private async Task<MarketoResponse<T>> SendAsync<T>(string operation, HttpMethod method, string relativePath,
        Func<HttpContent>? content, JsonTypeInfo<MarketoResponse<T>> typeInfo, bool waitOnQueueFull, CancellationToken cancellationToken)
    {
        var uri = new Uri(_baseUrl, relativePath);
        var transient = 0;
        var rateLimited = 0;
        var queueWaits = 0;
        var reauthenticated = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = await GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
            MarketoResponse<T>? envelope = null;
            string? failure = null;
            try
            {
                using var lease = await _pacer.AcquireAsync(cancellationToken).ConfigureAwait(false);
                using var request = new HttpRequestMessage(method, uri) { Content = content?.Invoke() };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                if (IsTransientStatus(response.StatusCode))
                {
                    failure = $"HTTP {(int)response.StatusCode}";
                }
                else if (!response.IsSuccessStatusCode)
                {
                    var text = await ReadTextAsync(response, cancellationToken).ConfigureAwait(false);
                    throw new MarketoApiException(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
                        $"{operation} answered HTTP {(int)response.StatusCode}: {Truncate(text)}", null, response.StatusCode);
                }
                else
                {
                    envelope = await ReadEnvelopeAsync(response, typeInfo, operation, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
            {
                failure = ex.Message;
            }

            if (failure is not null)
            {
                transient++;
                if (transient > Options.MaxTransientRetries)
                {
                    throw new MarketoApiException("transient", $"{operation} failed {transient} times; last: {failure}");
                }

                await WaitAsync(operation, "transient", failure, transient, Backoff(Options.InitialRetryDelay, transient), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (envelope!.Success)
            {
                return envelope;
            }

            var error = envelope.Errors is { Count: > 0 } errors ? errors[0] : new MarketoError("", "success:false without errors");
            switch (Classify(error))
            {
                case ErrorKind.Authentication when !reauthenticated:
                    reauthenticated = true;
                    InvalidateToken(token);
                    continue;
                case ErrorKind.RateLimited:
                    rateLimited++;
                    if (rateLimited > Options.MaxRateLimitRetries)
                    {
                        break;
                    }

                    await WaitAsync(operation, error.Code, error.Message, rateLimited, Backoff(Options.RateLimitDelay, rateLimited), cancellationToken).ConfigureAwait(false);
                    continue;
                case ErrorKind.Transient:
                    transient++;
                    if (transient > Options.MaxTransientRetries)
                    {
                        break;
                    }

                    await WaitAsync(operation, error.Code, error.Message, transient, Backoff(Options.InitialRetryDelay, transient), cancellationToken).ConfigureAwait(false);
                    continue;
                case ErrorKind.QuotaExceeded:
                    throw new ExportQuotaExceededException(error.Message, envelope.RequestId, MarketoQuotaDay.NextReset(_time.GetUtcNow()));
                case ErrorKind.QueueFull when waitOnQueueFull:
                    queueWaits++;
                    if (Options.MaxQueueFullWaits is { } max && queueWaits > max)
                    {
                        break;
                    }

                    await WaitAsync(operation, error.Code, error.Message, queueWaits, Jitter(Options.QueueFullDelay), cancellationToken).ConfigureAwait(false);
                    continue;
            }

            throw new MarketoApiException(error.Code, error.Message, envelope.RequestId);
        }
    }

    private enum ErrorKind
    {
        Other,
        Authentication,
        RateLimited,
        Transient,
        QuotaExceeded,
        QueueFull,
    }

    private static ErrorKind Classify(MarketoError error) => error.Code switch
    {
        "601" or "602" => ErrorKind.Authentication,
        "606" or "615" => ErrorKind.RateLimited,
        "604" or "608" or "611" or "713" => ErrorKind.Transient,
        "1029" when error.Message.Contains("quota", StringComparison.OrdinalIgnoreCase) => ErrorKind.QuotaExceeded,
        "1029" when error.Message.Contains("too many jobs", StringComparison.OrdinalIgnoreCase) => ErrorKind.QueueFull,
        _ => ErrorKind.Other,
    };

    private static async Task<MarketoResponse<T>> ReadEnvelopeAsync<T>(HttpResponseMessage response, JsonTypeInfo<MarketoResponse<T>> typeInfo,
        string operation, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await JsonSerializer.DeserializeAsync(stream, typeInfo, cancellationToken).ConfigureAwait(false)
                ?? throw new MarketoApiException("response", $"{operation} answered with an empty body.");
        }
        catch (JsonException ex)
        {
            throw new MarketoApiException($"{operation} answered with a body that is not a Marketo response: {ex.Message}", ex);
        }
    }

    private static ExportJob Single(MarketoResponse<ExportJob> response) =>
        response.Result is { Count: > 0 } result
            ? result[0]
            : throw new MarketoApiException("response", "The server reported success without a job in result.", response.RequestId);

    private static string JobPath(string exportId, string action) => JobPath(ExportBase, exportId, action);

    private static string JobPath(string exportBase, string exportId, string action)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(exportId);
        return $"{exportBase}/{Uri.EscapeDataString(exportId)}/{action}.json";
    }

    private static bool IsTransientStatus(HttpStatusCode status) => status is HttpStatusCode.BadGateway
        or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout
        or HttpStatusCode.TooManyRequests;

    private static bool IsConnectionFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static async Task<string> ReadTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private async Task WaitAsync(string operation, string reason, string message, int attempt, TimeSpan delay, CancellationToken cancellationToken)
    {
        Retrying?.Invoke(this, new MarketoRetryEventArgs(operation, reason, message, attempt, delay));
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Exponential backoff: <paramref name="initial"/> doubled per attempt, capped, with jitter in [50 %, 100 %].</summary>
    private TimeSpan Backoff(TimeSpan initial, int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 20));
        var ticks = Math.Min(initial.Ticks * factor, Math.Max(Options.MaxRetryDelay.Ticks, initial.Ticks));
        return Jitter(TimeSpan.FromTicks((long)ticks));
    }

#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
    private static TimeSpan Jitter(TimeSpan delay) => TimeSpan.FromTicks((long)(delay.Ticks * (0.5 + (Random.Shared.NextDouble() * 0.5))));
#pragma warning restore CA5394

    /// <summary>One download with resume; a class so that the retry loop stays readable.</summary>
    private sealed class FileDownload(MarketoBulkClient client, string exportBase, string exportId, string fullPath, long expectedSize, string expectedChecksum,
        IProgress<long>? progress)
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public bool ResumedFromExistingPart { get; private set; }

        public async Task<DownloadedFile> RunAsync(bool useExistingPart, CancellationToken cancellationToken)
        {
            var partPath = fullPath + ".part";
            var uri = new Uri(client._baseUrl, JobPath(exportBase, exportId, "file"));
            long offset;
            try
            {
                await using (var file = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true))
                {
                    offset = await PrepareAsync(file, useExistingPart, cancellationToken).ConfigureAwait(false);
                    offset = await FetchAsync(file, uri, offset, cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (ExportFileNotAvailableException)
            {
                File.Delete(partPath);
                throw;
            }

            var actual = "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset());
            if (offset != expectedSize || !string.Equals(actual, expectedChecksum, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partPath);
                throw new ExportFileVerificationException(exportId, expectedSize, offset, expectedChecksum, actual);
            }

            File.Move(partPath, fullPath, overwrite: true);
            return new DownloadedFile(fullPath, offset, actual);
        }

        private async Task<long> PrepareAsync(FileStream file, bool useExistingPart, CancellationToken cancellationToken)
        {
            if (!useExistingPart || file.Length == 0 || file.Length > expectedSize)
            {
                file.SetLength(0);
                return 0;
            }

            // Resume a partial file from an earlier run: hash what is already there.
            var buffer = new byte[1 << 16];
            file.Position = 0;
            int read;
            while ((read = await file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                _hash.AppendData(buffer, 0, read);
            }

            ResumedFromExistingPart = true;
            progress?.Report(file.Length);
            return file.Length;
        }

        private void Restart(FileStream file)
        {
            file.SetLength(0);
            file.Position = 0;
            _hash.GetHashAndReset();
        }

        private async Task<long> FetchAsync(FileStream file, Uri uri, long offset, CancellationToken cancellationToken)
        {
            var options = client.Options;
            var buffer = new byte[1 << 16];
            var failuresWithoutProgress = 0;
            var totalFailures = 0;
            var reauthenticated = false;
            while (offset < expectedSize)
            {
                var before = offset;
                string? failure = null;
                var token = await client.GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    using var lease = await client._pacer.AcquireAsync(cancellationToken).ConfigureAwait(false);
                    using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    if (offset > 0)
                    {
                        request.Headers.Range = new RangeHeaderValue(offset, null);
                    }

                    using var response = await client._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType is { } media
                        && media.Contains("json", StringComparison.OrdinalIgnoreCase))
                    {
                        // An API error (601/602, rate limit, ...) comes as the JSON envelope instead of the file;
                        // the bytes already on disk stay valid.
                        var envelope = await ReadEnvelopeAsync(response, MarketoJsonContext.Default.MarketoResponseJsonElement, "file", cancellationToken).ConfigureAwait(false);
                        var error = envelope.Errors is { Count: > 0 } errors ? errors[0] : new MarketoError("", "a JSON answer instead of the file");
                        var kind = Classify(error);
                        if (kind == ErrorKind.Authentication && !reauthenticated)
                        {
                            reauthenticated = true;
                            client.InvalidateToken(token);
                            continue;
                        }

                        if (kind is not (ErrorKind.RateLimited or ErrorKind.Transient))
                        {
                            throw new MarketoApiException(error.Code, error.Message, envelope.RequestId);
                        }

                        failure = $"{error.Code} {error.Message}";
                    }
                    else
                    {
                        switch (response.StatusCode)
                        {
                            case HttpStatusCode.NotFound:
                                throw new ExportFileNotAvailableException(
                                    $"Export {exportId}: the file endpoint answered 404 (job not Completed, unknown, or its file expired).");
                            case HttpStatusCode.RequestedRangeNotSatisfiable:
                                Restart(file);
                                offset = 0;
                                failure = "HTTP 416 for a resume; restarting from byte 0";
                                break;
                            case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange?.From != offset:
                                Restart(file);
                                offset = 0;
                                failure = "HTTP 206 for another range than asked; restarting from byte 0";
                                break;
                            case HttpStatusCode.OK when offset > 0:
                                // The server ignored the Range header: take the whole file from the start.
                                Restart(file);
                                offset = 0;
                                break;
                        }

                        if (failure is null && IsTransientStatus(response.StatusCode))
                        {
                            failure = $"HTTP {(int)response.StatusCode}";
                        }
                        else if (failure is null && !response.IsSuccessStatusCode)
                        {
                            var text = await ReadTextAsync(response, cancellationToken).ConfigureAwait(false);
                            throw new MarketoApiException(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
                                $"Export {exportId}: the file endpoint answered HTTP {(int)response.StatusCode}: {Truncate(text)}", null, response.StatusCode);
                        }
                        else if (failure is null)
                        {
                            (offset, failure) = await CopyAsync(response, file, buffer, offset, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
                catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
                {
                    failure = ex.Message;
                }

                if (failure is null)
                {
                    if (offset < expectedSize)
                    {
                        failure = $"the connection closed after {offset} of {expectedSize} bytes";
                    }
                    else
                    {
                        break;
                    }
                }

                totalFailures++;
                failuresWithoutProgress = offset > before ? 0 : failuresWithoutProgress + 1;
                if (offset > before)
                {
                    reauthenticated = false; // a long download may outlive more than one token
                }

                if (failuresWithoutProgress > options.MaxDownloadResumes || totalFailures > options.MaxDownloadResumes * 10)
                {
                    throw new MarketoApiException("download", $"Export {exportId}: the download failed after {totalFailures} attempts at byte {offset} of {expectedSize}; last: {failure}");
                }

                var delay = failuresWithoutProgress == 0 ? TimeSpan.Zero : client.Backoff(options.InitialRetryDelay, failuresWithoutProgress);
                await client.WaitAsync("download", "resume", $"{failure}; resuming at byte {offset}", totalFailures, delay, cancellationToken).ConfigureAwait(false);
            }

            return offset;
        }

        private async Task<(long Offset, string? Failure)> CopyAsync(HttpResponseMessage response, FileStream file, byte[] buffer, long offset,
            CancellationToken cancellationToken)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            while (true)
            {
                int read;
                try
                {
                    stall.CancelAfter(client.Options.DownloadStallTimeout);
                    read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsConnectionFailure(ex, cancellationToken))
                {
                    return (offset, ex is OperationCanceledException ? "no data for " + client.Options.DownloadStallTimeout : ex.Message);
                }

                if (read == 0)
                {
                    return (offset, null);
                }

                // More bytes than announced: stop reading; verification reports the mismatch.
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                _hash.AppendData(buffer, 0, read);
                offset += read;
                progress?.Report(offset);
                if (offset > expectedSize)
                {
                    return (offset, null);
                }
            }
        }
    }
}
