namespace Spillway.Server.Storage;

/// <summary>Subscriptions, API users, their credentials and the tokens issued to them.</summary>
public interface IIdentityStore
{
    /// <summary>Creates a subscription; returns null when the munchkin id is taken.</summary>
    Task<Subscription?> CreateSubscriptionAsync(string munchkinId, string name, DateTimeOffset now, CancellationToken ct);
    Task<Subscription?> FindSubscriptionAsync(string munchkinId, CancellationToken ct);
    Task<Subscription?> GetSubscriptionAsync(int subscriptionId, CancellationToken ct);
    Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(CancellationToken ct);
    Task<bool> SetSubscriptionOverridesAsync(int subscriptionId, SubscriptionLimitOverrides overrides, CancellationToken ct);

    /// <summary>Creates an API user; returns null when the email is taken in that subscription.</summary>
    Task<ApiUser?> CreateApiUserAsync(int subscriptionId, string email, IReadOnlyList<string> permissions, DateTimeOffset now, CancellationToken ct);
    Task<ApiUser?> GetApiUserAsync(int apiUserId, CancellationToken ct);
    Task<ApiUser?> FindApiUserAsync(int subscriptionId, string email, CancellationToken ct);
    Task<IReadOnlyList<ApiUser>> ListApiUsersAsync(int subscriptionId, CancellationToken ct);
    Task<bool> SetPermissionsAsync(int apiUserId, IReadOnlyList<string> permissions, CancellationToken ct);

    Task AddCredentialAsync(ApiCredential credential, CancellationToken ct);
    Task<ApiCredential?> FindCredentialAsync(string clientId, CancellationToken ct);
    Task<IReadOnlyList<ApiCredential>> ListCredentialsAsync(int apiUserId, CancellationToken ct);

    /// <summary>Replaces a credential's secret and revokes its tokens.</summary>
    Task<bool> ReplaceSecretAsync(string clientId, string secretHash, CancellationToken ct);

    /// <summary>
    /// Returns the credential's token that is still valid at <paramref name="now"/>, or stores and returns
    /// <paramref name="candidate"/>. Atomic, so two concurrent calls agree on one token.
    /// </summary>
    Task<AccessToken> GetOrIssueTokenAsync(AccessToken candidate, DateTimeOffset now, CancellationToken ct);
    Task<AccessToken?> FindTokenAsync(string token, CancellationToken ct);

    /// <summary>Deletes tokens that expired before <paramref name="before"/>.</summary>
    Task<int> DeleteExpiredTokensAsync(DateTimeOffset before, CancellationToken ct);
}

/// <summary>
/// Export jobs and their lifecycle. Every state change is a compare-and-set on the stored status (and, for a
/// worker, on its lease's fencing token), so concurrent callers and nodes never both win.
/// </summary>
public interface IExportJobStore
{
    Task CreateAsync(ExportJobRecord job, CancellationToken ct);

    /// <summary>
    /// The job, if it exists, belongs to <paramref name="apiUserId"/> and is of <paramref name="kind"/>; another user's
    /// job, or a job of another kind, is invisible (the four calls that take a kind treat it as unknown).
    /// </summary>
    Task<ExportJobRecord?> GetAsync(Guid exportId, int apiUserId, string kind, CancellationToken ct);

    /// <summary>The user's jobs of <paramref name="kind"/> created at or after <paramref name="createdSince"/>, oldest first, with keyset paging.</summary>
    Task<JobPage> ListAsync(int apiUserId, string kind, DateTimeOffset createdSince, IReadOnlyCollection<ExportJobStatus>? statuses,
        int batchSize, JobListCursor? after, CancellationToken ct);

    /// <summary>
    /// Created → Queued, atomically checking the subscription's queue (Queued + Processing &lt; max) and its
    /// export quota for the day (bytes of jobs Completed since <see cref="QueuePolicy.QuotaDayStart"/>). Both count
    /// the jobs of every kind of the subscription.
    /// </summary>
    Task<EnqueueOutcome> EnqueueAsync(Guid exportId, int apiUserId, string kind, QueuePolicy policy, DateTimeOffset now, CancellationToken ct);

    /// <summary>Created, Queued or Processing → Cancelled; Cancelled stays Cancelled.</summary>
    Task<CancelOutcome> CancelAsync(Guid exportId, int apiUserId, string kind, DateTimeOffset now, CancellationToken ct);

    /// <summary>Bytes of the subscription's jobs (of every kind) that completed at or after <paramref name="since"/>.</summary>
    Task<long> ExportedBytesSinceAsync(int subscriptionId, DateTimeOffset since, CancellationToken ct);

    /// <summary>How many jobs (of every kind and subscription) are in each status; a status without jobs is absent.</summary>
    Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(CancellationToken ct);

    /// <summary>
    /// Claims the oldest Queued job whose subscription has a free processing slot (jobs of every kind take slots),
    /// across all nodes, moving it to Processing with a new lease. Returns null when nothing can start.
    /// </summary>
    Task<ExportLease?> TryClaimNextAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct);

    /// <summary>Claims Processing jobs whose lease expired (their node died) and hands them to this node.</summary>
    Task<ExportLease?> TryClaimAbandonedAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct);

    /// <summary>Extends the lease; false when the job was cancelled or the lease was lost.</summary>
    Task<bool> RenewLeaseAsync(ExportLease lease, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Processing → Completed under the lease; false if the lease is no longer held.</summary>
    Task<bool> CompleteAsync(ExportLease lease, ExportFileInfo file, DateTimeOffset now, CancellationToken ct);

    /// <summary>Processing → Failed under the lease; false if the lease is no longer held.</summary>
    Task<bool> FailAsync(ExportLease lease, string errorMsg, DateTimeOffset now, CancellationToken ct);

    /// <summary>Ends every lease held by <paramref name="nodeId"/> (a restart of a single-node server) so the jobs start again.</summary>
    Task<int> RequeueLeasesOfNodeAsync(string nodeId, CancellationToken ct);

    Task<ExportJobRecord?> GetByIdAsync(Guid exportId, CancellationToken ct);

    /// <summary>The subscription's Completed jobs that finished before <paramref name="finishedBefore"/> and whose file is not yet expired.</summary>
    Task<IReadOnlyList<ExportJobRecord>> ListFilesToExpireAsync(int subscriptionId, DateTimeOffset finishedBefore, int limit, CancellationToken ct);
    Task MarkFileExpiredAsync(Guid exportId, CancellationToken ct);

    /// <summary>
    /// Deletes the subscription's job records that are not Queued or Processing and whose finishedAt (or createdAt, when
    /// they never finished) is before <paramref name="before"/>.
    /// </summary>
    Task<int> DeleteJobsBeforeAsync(int subscriptionId, DateTimeOffset before, CancellationToken ct);

    /// <summary>Deletes every job of a subscription (admin reset).</summary>
    Task<int> DeleteSubscriptionJobsAsync(int subscriptionId, CancellationToken ct);
}

/// <summary>The activity store: append activities, count and delete them. A window is read by <see cref="IActivityWindowStreamer"/>.</summary>
public interface IActivityStore
{
    /// <summary>
    /// Appends activities to a subscription. Idempotent by marketoGUID: an activity whose marketoGUID the subscription
    /// already has is skipped. Returns how many were added.
    /// </summary>
    Task<long> AppendAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct);

    Task<long> CountAsync(int subscriptionId, CancellationToken ct);

    /// <summary>The highest marketoGUID stored for any subscription (new activities get ids above it).</summary>
    Task<long> MaxMarketoGuidAsync(CancellationToken ct);

    Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct);
}

/// <summary>Receives a window's rows, in export order, on one thread.</summary>
public interface IActivityRowSink
{
    /// <summary>Takes one row. The row's text is borrowed from the store's buffers and is only valid during the call.</summary>
    void WriteRow(in Utf8ActivityRow row);
}

/// <summary>
/// The export's read path, a role every store provides: the window's text goes to the file as the UTF-8 bytes the store
/// keeps, with no string per value and no UTF-16 round trip between the engine and the file.
/// </summary>
public interface IActivityWindowStreamer
{
    /// <summary>
    /// Streams the window ordered by activityDate, then marketoGUID, into <paramref name="sink"/> with bounded memory.
    /// The store chooses the threads (the sink is called from one thread at a time, never concurrently); the task ends
    /// when the last row was written, faults with the first error, and is cancelled promptly with <paramref name="ct"/>.
    /// </summary>
    Task StreamWindowAsync(ActivityQuery query, IActivityRowSink sink, CancellationToken ct);
}
