using Spillway.Server.Storage;
using Spillway.Server.Tests.BulkExport;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// The storage contract (Interfaces.cs, Model.cs), tested only through the three interfaces, so
/// every provider runs the same facts. A subclass supplies a fresh, isolated set of stores for each test.
/// </summary>
public abstract class StoreComplianceTests : IAsyncLifetime
{
    /// <summary>A fixed instant with whole seconds (providers may store microseconds only).</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly CancellationToken None = CancellationToken.None;
    private const string Kind = ExportJobRecord.DefaultKind;
    private const string OtherKind = "test-kind";

    private StoreSet? _stores;
    private readonly List<StoreSet> _otherNodes = [];
    private int _munchkins;

    /// <summary>Creates a fresh, isolated set of the three stores (an empty database) for one test.</summary>
    protected abstract Task<StoreSet> CreateStoresAsync();

    /// <summary>
    /// Further store sets over the same data, as other server nodes would open them (their own connection pools and
    /// caches). A single-process provider returns the same set; the returned sets are disposed after the test.
    /// </summary>
    protected virtual Task<IReadOnlyList<StoreSet>> OpenOtherNodesAsync(int count) =>
        Task.FromResult<IReadOnlyList<StoreSet>>([.. Enumerable.Repeat(Stores, count)]);

    protected IIdentityStore Identity => Stores.Identity;
    protected IExportJobStore Jobs => Stores.Jobs;
    protected IActivityStore Activities => Stores.Activities;
    protected StoreSet Stores => _stores ?? throw new InvalidOperationException("stores not created");

    public async Task InitializeAsync() => _stores = await CreateStoresAsync();

    public async Task DisposeAsync()
    {
        foreach (var node in _otherNodes)
        {
            await node.DisposeAsync();
        }

        if (_stores is not null)
        {
            await _stores.DisposeAsync();
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Helpers

    /// <summary>This test's stores first, then <paramref name="count"/> - 1 other nodes over the same data.</summary>
    protected async Task<IReadOnlyList<StoreSet>> NodesAsync(int count)
    {
        var others = await OpenOtherNodesAsync(count - 1);
        _otherNodes.AddRange(others.Where(o => !ReferenceEquals(o, Stores)));
        return [Stores, .. others];
    }

    private static QueuePolicy Policy(int maxQueued = 10, int maxProcessing = 2, long quota = long.MaxValue, DateTimeOffset? dayStart = null) =>
        new(maxQueued, maxProcessing, quota, dayStart ?? T0.AddHours(-6));

    private async Task<(Subscription Sub, ApiUser User)> NewSubscriptionAsync()
    {
        var n = Interlocked.Increment(ref _munchkins);
        var sub = await Identity.CreateSubscriptionAsync($"{n:D3}-TST-{n:D3}", $"Test {n}", T0, None);
        Assert.NotNull(sub);
        var user = await Identity.CreateApiUserAsync(sub.Id, $"api{n}@example.com", ["Read-Only Activity"], T0, None);
        Assert.NotNull(user);
        return (sub, user);
    }

    private async Task<ApiUser> NewUserAsync(Subscription sub, string email)
    {
        var user = await Identity.CreateApiUserAsync(sub.Id, email, ["Read-Write Activity"], T0, None);
        Assert.NotNull(user);
        return user;
    }

    private async Task<ExportJobRecord> NewJobAsync(ApiUser user, DateTimeOffset? createdAt = null, ExportFormat format = ExportFormat.Csv,
        string kind = Kind)
    {
        var job = new ExportJobRecord
        {
            ExportId = Guid.NewGuid(),
            SubscriptionId = user.SubscriptionId,
            ApiUserId = user.Id,
            Format = format,
            Status = ExportJobStatus.Created,
            Kind = kind,
            SpecJson = """{"filter":{"createdAt":{"startAt":"2026-01-01T00:00:00Z","endAt":"2026-01-31T00:00:00Z"}}}""",
            CreatedAt = createdAt ?? T0,
        };
        await Jobs.CreateAsync(job, None);
        return job;
    }

    private async Task<ExportJobRecord> Job(Guid exportId) =>
        await Jobs.GetByIdAsync(exportId, None) ?? throw new InvalidOperationException($"job {exportId} is gone");

    private async Task<ExportJobRecord> QueuedJobAsync(ApiUser user, DateTimeOffset queuedAt, QueuePolicy? policy = null)
    {
        var job = await NewJobAsync(user, queuedAt.AddSeconds(-1));
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, policy ?? Policy(), queuedAt, None));
        return job;
    }

    /// <summary>Claims exactly this job (it must be the only startable one) and completes it.</summary>
    private async Task<ExportLease> CompleteJobAsync(ApiUser user, DateTimeOffset at, long fileSize, QueuePolicy? policy = null)
    {
        var job = await QueuedJobAsync(user, at.AddSeconds(-2), policy);
        var lease = await Jobs.TryClaimNextAsync("node-a", at.AddSeconds(-1), Lease, None);
        Assert.NotNull(lease);
        Assert.Equal(job.ExportId, lease.Value.ExportId);
        Assert.True(await Jobs.CompleteAsync(lease.Value, new ExportFileInfo(10, fileSize, "sha256:00"), at, None));
        return lease.Value;
    }

    private static ActivityRecord Activity(long guid, DateTimeOffset date, int type = 1, long? asset = null, string? attributes = null) =>
        new(guid, 1000 + guid, date, type, guid % 3 == 0 ? null : 50 + guid, asset, asset is null ? null : $"Asset {asset}",
            attributes ?? $$"""{"n":{{guid}}}""", guid % 2 == 0 ? "ok" : null);

    private Task<List<ActivityRecord>> ReadAsync(ActivityQuery query) => Stores.Streamer.ReadWindowAsync(query, None);

    // ---------------------------------------------------------------------------------------------------------
    // Identity

    [Fact]
    public async Task Subscription_create_find_get_list_and_duplicate_munchkin()
    {
        var a = await Identity.CreateSubscriptionAsync("111-AAA-111", "Alpha", T0, None);
        var b = await Identity.CreateSubscriptionAsync("222-BBB-222", "Beta", T0.AddSeconds(1), None);
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal("111-AAA-111", a.MunchkinId);
        Assert.Equal("Alpha", a.Name);
        Assert.Equal(T0, a.CreatedAt);
        Assert.Equal(TimeSpan.Zero, a.CreatedAt.Offset);
        Assert.Equal(SubscriptionLimitOverrides.None, a.Overrides);

        Assert.Null(await Identity.CreateSubscriptionAsync("111-AAA-111", "Again", T0, None));
        Assert.Null(await Identity.CreateSubscriptionAsync("111-aaa-111", "Again", T0, None)); // case-insensitive
        Assert.Equal(a.Id, (await Identity.FindSubscriptionAsync("111-aaa-111", None))?.Id);
        Assert.Equal(a, await Identity.FindSubscriptionAsync("111-AAA-111", None));
        Assert.Equal(b, await Identity.GetSubscriptionAsync(b.Id, None));
        Assert.Null(await Identity.FindSubscriptionAsync("999-ZZZ-999", None));
        Assert.Null(await Identity.GetSubscriptionAsync(b.Id + 1000, None));
        Assert.Equal([a.Id, b.Id], (await Identity.ListSubscriptionsAsync(None)).Select(s => s.Id).Order());
    }

    [Fact]
    public async Task Subscription_overrides_round_trip()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var overrides = new SubscriptionLimitOverrides
        {
            MaxProcessingJobs = 3,
            MaxQueuedJobs = 20,
            DailyExportQuotaMegabytes = 5000,
            FileRetentionDays = 1,
            TokenLifetimeSeconds = 60,
        };
        Assert.True(await Identity.SetSubscriptionOverridesAsync(sub.Id, overrides, None));
        Assert.Equal(overrides, (await Identity.GetSubscriptionAsync(sub.Id, None))!.Overrides);
        Assert.True(await Identity.SetSubscriptionOverridesAsync(sub.Id, SubscriptionLimitOverrides.None, None));
        Assert.Equal(SubscriptionLimitOverrides.None, (await Identity.GetSubscriptionAsync(sub.Id, None))!.Overrides);
        Assert.False(await Identity.SetSubscriptionOverridesAsync(sub.Id + 1000, overrides, None));
    }

    [Fact]
    public async Task Api_users_per_subscription_and_permissions()
    {
        var (sub, first) = await NewSubscriptionAsync();
        var (other, _) = await NewSubscriptionAsync();
        var second = await Identity.CreateApiUserAsync(sub.Id, "second@example.com", ["Read-Only Activity", "Read-Write Activity"], T0, None);
        Assert.NotNull(second);
        Assert.Equal(sub.Id, second.SubscriptionId);
        Assert.Equal(["Read-Only Activity", "Read-Write Activity"], second.Permissions);

        Assert.Null(await Identity.CreateApiUserAsync(sub.Id, "second@example.com", [], T0, None));
        Assert.Null(await Identity.CreateApiUserAsync(sub.Id, "Second@Example.com", [], T0, None)); // case-insensitive
        Assert.Equal(second.Id, (await Identity.FindApiUserAsync(sub.Id, "SECOND@example.COM", None))?.Id);
        Assert.NotNull(await Identity.CreateApiUserAsync(other.Id, "second@example.com", [], T0, None)); // same email, other subscription

        Assert.Equal(second.Id, (await Identity.FindApiUserAsync(sub.Id, "second@example.com", None))?.Id);
        Assert.Null(await Identity.FindApiUserAsync(sub.Id, "nobody@example.com", None));
        Assert.Equal([first.Id, second.Id], (await Identity.ListApiUsersAsync(sub.Id, None)).Select(u => u.Id).Order());

        Assert.True(await Identity.SetPermissionsAsync(second.Id, [], None));
        Assert.Empty((await Identity.GetApiUserAsync(second.Id, None))!.Permissions);
        Assert.True(await Identity.SetPermissionsAsync(second.Id, ["Read-Write Activity"], None));
        Assert.Equal(["Read-Write Activity"], (await Identity.GetApiUserAsync(second.Id, None))!.Permissions);
        Assert.False(await Identity.SetPermissionsAsync(second.Id + 1000, [], None));
        Assert.Null(await Identity.GetApiUserAsync(second.Id + 1000, None));
    }

    [Fact]
    public async Task Credentials_add_find_list_and_replace_secret_revokes_tokens()
    {
        var (_, user) = await NewSubscriptionAsync();
        var c1 = new ApiCredential("client-1", user.Id, "hash-1", T0);
        var c2 = new ApiCredential("client-2", user.Id, "hash-2", T0.AddSeconds(1));
        await Identity.AddCredentialAsync(c1, None);
        await Identity.AddCredentialAsync(c2, None);
        Assert.Equal(c1, await Identity.FindCredentialAsync("client-1", None));
        Assert.Null(await Identity.FindCredentialAsync("client-9", None));
        Assert.Equal([c1, c2], await Identity.ListCredentialsAsync(user.Id, None));

        var token = new AccessToken("tok-1:pod", "client-1", user.Id, user.SubscriptionId, T0, T0.AddHours(1));
        var keep = new AccessToken("tok-2:pod", "client-2", user.Id, user.SubscriptionId, T0, T0.AddHours(1));
        Assert.Equal(token, await Identity.GetOrIssueTokenAsync(token, T0, None));
        Assert.Equal(keep, await Identity.GetOrIssueTokenAsync(keep, T0, None));

        Assert.True(await Identity.ReplaceSecretAsync("client-1", "hash-1b", None));
        Assert.Equal("hash-1b", (await Identity.FindCredentialAsync("client-1", None))!.SecretHash);
        Assert.Null(await Identity.FindTokenAsync("tok-1:pod", None));
        Assert.Equal(keep, await Identity.FindTokenAsync("tok-2:pod", None));
        Assert.False(await Identity.ReplaceSecretAsync("client-9", "x", None));
    }

    [Fact]
    public async Task Token_is_reused_until_it_expires_then_replaced()
    {
        var (_, user) = await NewSubscriptionAsync();
        await Identity.AddCredentialAsync(new ApiCredential("client", user.Id, "hash", T0), None);
        AccessToken Candidate(string value, DateTimeOffset at) => new(value, "client", user.Id, user.SubscriptionId, at, at.AddHours(1));

        var first = await Identity.GetOrIssueTokenAsync(Candidate("a:pod", T0), T0, None);
        Assert.Equal(Candidate("a:pod", T0), first);
        Assert.Equal(first, await Identity.GetOrIssueTokenAsync(Candidate("b:pod", T0.AddMinutes(30)), T0.AddMinutes(30), None));
        Assert.Null(await Identity.FindTokenAsync("b:pod", None));

        var later = T0.AddHours(1).AddSeconds(1);
        var second = await Identity.GetOrIssueTokenAsync(Candidate("c:pod", later), later, None);
        Assert.Equal("c:pod", second.Token);
        Assert.Equal(first, await Identity.FindTokenAsync("a:pod", None)); // expired tokens stay findable (602 vs 601)

        Assert.Equal(1, await Identity.DeleteExpiredTokensAsync(later, None));
        Assert.Null(await Identity.FindTokenAsync("a:pod", None));
        Assert.Equal(second, await Identity.FindTokenAsync("c:pod", None));
        Assert.Equal(0, await Identity.DeleteExpiredTokensAsync(later, None));
    }

    [Fact]
    public async Task Concurrent_token_requests_agree_on_one_token()
    {
        var (_, user) = await NewSubscriptionAsync();
        var nodes = await NodesAsync(3);
        for (var round = 0; round < 8; round++)
        {
            var clientId = $"client-{round}";
            await Identity.AddCredentialAsync(new ApiCredential(clientId, user.Id, "hash", T0), None);
            using var start = new ManualResetEventSlim();
            var calls = Enumerable.Range(0, 24).Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await nodes[i % nodes.Count].Identity.GetOrIssueTokenAsync(
                    new AccessToken($"tok-{round}-{i}:pod", clientId, user.Id, user.SubscriptionId, T0, T0.AddHours(1)), T0, None);
            })).ToList();
            start.Set();
            var results = await Task.WhenAll(calls);
            var winner = Assert.Single(results.Select(r => r.Token).Distinct());
            foreach (var node in nodes)
            {
                Assert.NotNull(await node.Identity.FindTokenAsync(winner, None)); // accepted by every node
            }

            foreach (var loser in Enumerable.Range(0, 24).Select(i => $"tok-{round}-{i}:pod").Where(t => t != winner))
            {
                Assert.Null(await Identity.FindTokenAsync(loser, None));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: create, get, enqueue

    [Fact]
    public async Task Job_round_trips_and_is_invisible_to_other_users()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var other = await NewUserAsync(sub, "other@example.com");
        var job = await NewJobAsync(user, T0, ExportFormat.Tsv);

        var read = await Jobs.GetAsync(job.ExportId, user.Id, Kind, None);
        Assert.Equal(job, read);
        Assert.Equal(TimeSpan.Zero, read!.CreatedAt.Offset);
        Assert.Null(await Jobs.GetAsync(job.ExportId, other.Id, Kind, None));
        Assert.Null(await Jobs.GetAsync(Guid.NewGuid(), user.Id, Kind, None));
        Assert.Equal(job, await Jobs.GetByIdAsync(job.ExportId, None));
        Assert.Null(await Jobs.GetByIdAsync(Guid.NewGuid(), None));
    }

    [Fact]
    public async Task Job_created_with_an_offset_is_returned_in_utc()
    {
        var (_, user) = await NewSubscriptionAsync();
        var local = new DateTimeOffset(2026, 1, 15, 6, 0, 0, TimeSpan.FromHours(-6));
        var job = await NewJobAsync(user, local);
        var read = await Jobs.GetByIdAsync(job.ExportId, None);
        Assert.Equal(local.UtcDateTime, read!.CreatedAt.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
    }

    [Fact]
    public async Task Enqueue_moves_created_to_queued()
    {
        var (_, user) = await NewSubscriptionAsync();
        var job = await NewJobAsync(user);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(5), None));
        var read = await Job(job.ExportId);
        Assert.Equal(ExportJobStatus.Queued, read.Status);
        Assert.Equal(T0.AddSeconds(5), read.QueuedAt);
        Assert.Null(read.StartedAt);
    }

    [Fact]
    public async Task Enqueue_outcomes_for_unknown_foreign_and_non_created_jobs()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var other = await NewUserAsync(sub, "other@example.com");
        var job = await NewJobAsync(user);

        Assert.Equal(EnqueueOutcome.NotFound, await Jobs.EnqueueAsync(Guid.NewGuid(), user.Id, Kind, Policy(), T0, None));
        Assert.Equal(EnqueueOutcome.NotFound, await Jobs.EnqueueAsync(job.ExportId, other.Id, Kind, Policy(), T0, None));
        Assert.Equal(ExportJobStatus.Created, (await Job(job.ExportId)).Status);

        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, Policy(), T0, None));
        Assert.Equal(EnqueueOutcome.AlreadyQueued, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(1), None));
        Assert.Equal(T0, (await Job(job.ExportId)).QueuedAt);

        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(2), Lease, None))!.Value;
        Assert.Equal(EnqueueOutcome.AlreadyQueued, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(3), None));

        Assert.True(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 2, "sha256:ab"), T0.AddSeconds(4), None));
        Assert.Equal(EnqueueOutcome.Finished, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(5), None));

        var failed = await QueuedJobAsync(user, T0.AddSeconds(10));
        var failLease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(11), Lease, None))!.Value;
        Assert.True(await Jobs.FailAsync(failLease, "boom", T0.AddSeconds(12), None));
        Assert.Equal(EnqueueOutcome.Finished, await Jobs.EnqueueAsync(failed.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(13), None));

        var cancelled = await NewJobAsync(user);
        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(cancelled.ExportId, user.Id, Kind, T0, None));
        Assert.Equal(EnqueueOutcome.Finished, await Jobs.EnqueueAsync(cancelled.ExportId, user.Id, Kind, Policy(), T0, None));
        Assert.Equal(ExportJobStatus.Cancelled, (await Job(cancelled.ExportId)).Status);
    }

    [Fact]
    public async Task Queue_limit_counts_queued_and_processing_of_the_whole_subscription()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var colleague = await NewUserAsync(sub, "colleague@example.com");
        var (_, stranger) = await NewSubscriptionAsync();
        var policy = Policy(maxQueued: 2, maxProcessing: 1);

        await QueuedJobAsync(user, T0, policy);
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(1), Lease, None))!.Value; // 1 Processing
        await QueuedJobAsync(colleague, T0.AddSeconds(2), policy);                            // + 1 Queued = 2

        var third = await NewJobAsync(user);
        Assert.Equal(EnqueueOutcome.QueueFull, await Jobs.EnqueueAsync(third.ExportId, user.Id, Kind, policy, T0.AddSeconds(3), None));
        Assert.Equal(ExportJobStatus.Created, (await Job(third.ExportId)).Status);

        // Another subscription has its own queue.
        await QueuedJobAsync(stranger, T0.AddSeconds(3), policy);

        Assert.True(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(4), None));
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(third.ExportId, user.Id, Kind, policy, T0.AddSeconds(5), None));
    }

    [Fact]
    public async Task A_job_is_seen_and_moved_only_through_its_own_kind()
    {
        var (_, user) = await NewSubscriptionAsync();
        var mine = await NewJobAsync(user, T0);
        var other = await NewJobAsync(user, T0.AddSeconds(1), kind: OtherKind);

        Assert.Equal(OtherKind, (await Job(other.ExportId)).Kind);
        Assert.Equal(Kind, (await Job(mine.ExportId)).Kind);
        Assert.Equal(other, await Jobs.GetAsync(other.ExportId, user.Id, OtherKind, None));
        Assert.Null(await Jobs.GetAsync(other.ExportId, user.Id, Kind, None));
        Assert.Null(await Jobs.GetAsync(mine.ExportId, user.Id, OtherKind, None));

        Assert.Equal([mine.ExportId], (await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), null, 300, null, None)).Jobs.Select(j => j.ExportId));
        Assert.Equal([other.ExportId], (await Jobs.ListAsync(user.Id, OtherKind, T0.AddDays(-1), null, 300, null, None)).Jobs.Select(j => j.ExportId));

        Assert.Equal(EnqueueOutcome.NotFound, await Jobs.EnqueueAsync(other.ExportId, user.Id, Kind, Policy(), T0.AddSeconds(2), None));
        Assert.Equal(CancelOutcome.NotFound, await Jobs.CancelAsync(other.ExportId, user.Id, Kind, T0.AddSeconds(2), None));
        Assert.Equal(ExportJobStatus.Created, (await Job(other.ExportId)).Status);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(other.ExportId, user.Id, OtherKind, Policy(), T0.AddSeconds(3), None));
        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(other.ExportId, user.Id, OtherKind, T0.AddSeconds(4), None));
    }

    [Fact]
    public async Task Queue_slots_and_quota_are_shared_by_every_kind_of_a_subscription()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var dayStart = T0.AddHours(-6);
        var policy = Policy(maxQueued: 2, maxProcessing: 1, quota: 1000, dayStart: dayStart);

        // A job of another kind completes 1000 bytes: the quota of activities is used up too.
        var spent = await NewJobAsync(user, T0, kind: OtherKind);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(spent.ExportId, user.Id, OtherKind, policy, T0.AddSeconds(1), None));
        var spentLease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(2), Lease, None))!.Value;
        Assert.Equal(spent.ExportId, spentLease.ExportId);
        Assert.True(await Jobs.CompleteAsync(spentLease, new ExportFileInfo(1, 1000, "sha256:00"), T0.AddSeconds(3), None));
        Assert.Equal(1000, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart, None));
        var blocked = await NewJobAsync(user, T0.AddSeconds(4));
        Assert.Equal(EnqueueOutcome.QuotaExceeded, await Jobs.EnqueueAsync(blocked.ExportId, user.Id, Kind, policy, T0.AddSeconds(5), None));

        // The next quota day: one job of each kind fills the queue of two, whichever kind asks next.
        var nextDay = policy with { QuotaDayStart = dayStart.AddDays(1) };
        var at = T0.AddDays(1);
        var processing = await NewJobAsync(user, at, kind: OtherKind);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(processing.ExportId, user.Id, OtherKind, nextDay, at.AddSeconds(1), None));
        var lease = (await Jobs.TryClaimNextAsync("n", at.AddSeconds(2), Lease, None))!.Value;
        Assert.Equal(processing.ExportId, lease.ExportId);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(blocked.ExportId, user.Id, Kind, nextDay, at.AddSeconds(3), None));
        var third = await NewJobAsync(user, at.AddSeconds(4));
        var fourth = await NewJobAsync(user, at.AddSeconds(4), kind: OtherKind);
        Assert.Equal(EnqueueOutcome.QueueFull, await Jobs.EnqueueAsync(third.ExportId, user.Id, Kind, nextDay, at.AddSeconds(5), None));
        Assert.Equal(EnqueueOutcome.QueueFull, await Jobs.EnqueueAsync(fourth.ExportId, user.Id, OtherKind, nextDay, at.AddSeconds(5), None));

        // The other kind's job holds the only processing slot: the queued activity job waits for it.
        Assert.Null(await Jobs.TryClaimNextAsync("n", at.AddSeconds(6), Lease, None));
        Assert.True(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 1, "sha256:00"), at.AddSeconds(7), None));
        Assert.Equal(blocked.ExportId, (await Jobs.TryClaimNextAsync("n", at.AddSeconds(8), Lease, None))!.Value.ExportId);
    }

    [Fact]
    public async Task Concurrent_enqueues_never_exceed_the_queue_limit()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var users = new[] { user, await NewUserAsync(sub, "b@example.com"), await NewUserAsync(sub, "c@example.com") };
        var jobs = new List<ExportJobRecord>();
        for (var i = 0; i < 30; i++)
        {
            jobs.Add(await NewJobAsync(users[i % 3], T0.AddSeconds(i)));
        }

        var policy = Policy(maxQueued: 10);
        var nodes = await NodesAsync(3);
        var outcomes = await Task.WhenAll(jobs.Select((j, i) => Task.Run(() =>
            nodes[i % nodes.Count].Jobs.EnqueueAsync(j.ExportId, j.ApiUserId, Kind, policy, T0.AddMinutes(1), None))));

        Assert.Equal(10, outcomes.Count(o => o == EnqueueOutcome.Enqueued));
        Assert.Equal(20, outcomes.Count(o => o == EnqueueOutcome.QueueFull));
        var statuses = await Task.WhenAll(jobs.Select(j => Job(j.ExportId)));
        Assert.Equal(10, statuses.Count(j => j.Status == ExportJobStatus.Queued));
    }

    [Fact]
    public async Task Quota_counts_bytes_completed_since_the_quota_day_start()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var (otherSub, stranger) = await NewSubscriptionAsync();
        var dayStart = T0.AddHours(-6);
        var policy = Policy(quota: 1000, dayStart: dayStart);

        // Yesterday's bytes and another subscription's bytes do not count.
        await CompleteJobAsync(user, dayStart.AddSeconds(-1), 5000, policy with { QuotaDayStart = dayStart.AddDays(-1) });
        await CompleteJobAsync(stranger, T0, 5000, policy);
        Assert.Equal(0, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart, None));
        Assert.Equal(5000, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart.AddDays(-1), None));
        Assert.Equal(5000, await Jobs.ExportedBytesSinceAsync(otherSub.Id, dayStart, None));

        await CompleteJobAsync(user, dayStart, 600, policy); // finishing exactly at the day start counts
        Assert.Equal(600, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart, None));
        await CompleteJobAsync(user, T0, 399, policy);
        Assert.Equal(999, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart, None));

        // 999 < 1000: still allowed, and a queued job may push usage over the quota.
        var queued = await QueuedJobAsync(user, T0.AddMinutes(1), policy);
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddMinutes(2), Lease, None))!.Value;
        Assert.Equal(queued.ExportId, lease.ExportId);
        Assert.True(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 2, "sha256:00"), T0.AddMinutes(3), None));
        Assert.Equal(1001, await Jobs.ExportedBytesSinceAsync(sub.Id, dayStart, None));

        var blocked = await NewJobAsync(user, T0.AddMinutes(4));
        Assert.Equal(EnqueueOutcome.QuotaExceeded, await Jobs.EnqueueAsync(blocked.ExportId, user.Id, Kind, policy, T0.AddMinutes(5), None));
        Assert.Equal(ExportJobStatus.Created, (await Job(blocked.ExportId)).Status);

        // The next quota day starts afresh.
        Assert.Equal(EnqueueOutcome.Enqueued,
            await Jobs.EnqueueAsync(blocked.ExportId, user.Id, Kind, policy with { QuotaDayStart = dayStart.AddDays(1) }, T0.AddDays(1), None));
    }

    [Fact]
    public async Task Over_quota_and_full_queue_reports_the_quota()
    {
        var (_, user) = await NewSubscriptionAsync();
        var policy = Policy(maxQueued: 1, quota: 10);
        await CompleteJobAsync(user, T0, 10, policy with { DailyQuotaBytes = long.MaxValue });
        await QueuedJobAsync(user, T0.AddSeconds(1), policy with { DailyQuotaBytes = long.MaxValue });
        var job = await NewJobAsync(user);
        Assert.Equal(EnqueueOutcome.QuotaExceeded, await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, policy, T0.AddSeconds(2), None));
        Assert.Equal(EnqueueOutcome.QueueFull,
            await Jobs.EnqueueAsync(job.ExportId, user.Id, Kind, policy with { DailyQuotaBytes = 11 }, T0.AddSeconds(2), None));
    }

    [Fact]
    public async Task Failed_and_cancelled_jobs_do_not_use_quota()
    {
        var (sub, user) = await NewSubscriptionAsync();
        await QueuedJobAsync(user, T0);
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(1), Lease, None))!.Value;
        Assert.True(await Jobs.FailAsync(lease, "disk full", T0.AddSeconds(2), None));
        Assert.Equal(0, await Jobs.ExportedBytesSinceAsync(sub.Id, T0.AddDays(-1), None));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: claim, leases, fencing

    [Fact]
    public async Task Claim_takes_the_oldest_queued_job_and_starts_it()
    {
        var (sub, user) = await NewSubscriptionAsync();
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0, Lease, None));
        var second = await QueuedJobAsync(user, T0.AddSeconds(2));
        var first = await QueuedJobAsync(user, T0.AddSeconds(1));
        await NewJobAsync(user); // Created: never claimed

        var lease = await Jobs.TryClaimNextAsync("node-1", T0.AddSeconds(10), Lease, None);
        Assert.NotNull(lease);
        Assert.Equal(first.ExportId, lease.Value.ExportId);
        Assert.Equal(sub.Id, lease.Value.SubscriptionId);
        Assert.Equal("node-1", lease.Value.NodeId);
        Assert.Equal(T0.AddSeconds(10) + Lease, lease.Value.ExpiresAt);

        var started = await Job(first.ExportId);
        Assert.Equal(ExportJobStatus.Processing, started.Status);
        Assert.Equal(T0.AddSeconds(10), started.StartedAt);
        Assert.Equal(T0.AddSeconds(1), started.QueuedAt);

        var next = await Jobs.TryClaimNextAsync("node-2", T0.AddSeconds(11), Lease, None);
        Assert.Equal(second.ExportId, next?.ExportId);
        Assert.Null(await Jobs.TryClaimNextAsync("node-2", T0.AddSeconds(12), Lease, None)); // max 2 Processing, and nothing left
    }

    [Fact]
    public async Task Claim_respects_max_processing_and_moves_on_to_other_subscriptions()
    {
        var (_, a) = await NewSubscriptionAsync();
        var (_, b) = await NewSubscriptionAsync();
        var policy = Policy(maxProcessing: 1);
        var a1 = await QueuedJobAsync(a, T0.AddSeconds(1), policy);
        var a2 = await QueuedJobAsync(a, T0.AddSeconds(2), policy);
        var b1 = await QueuedJobAsync(b, T0.AddSeconds(3), policy);

        var first = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None))!.Value;
        Assert.Equal(a1.ExportId, first.ExportId);
        var second = await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None);
        Assert.Equal(b1.ExportId, second?.ExportId); // a2 is older but its subscription has no free slot
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None));

        Assert.True(await Jobs.CompleteAsync(first, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(20), None));
        Assert.Equal(a2.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(21), Lease, None))?.ExportId);
    }

    [Fact]
    public async Task Claim_honours_the_max_processing_stored_with_each_job()
    {
        var (_, user) = await NewSubscriptionAsync();
        await QueuedJobAsync(user, T0.AddSeconds(1), Policy(maxProcessing: 1));
        var strict = await QueuedJobAsync(user, T0.AddSeconds(2), Policy(maxProcessing: 1));
        Assert.NotNull(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None));
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None));

        var relaxed = await QueuedJobAsync(user, T0.AddSeconds(3), Policy(maxProcessing: 3));
        Assert.Equal(relaxed.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(11), Lease, None))?.ExportId);
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(12), Lease, None)); // strict still sees 2 Processing >= 1
        Assert.Equal(ExportJobStatus.Queued, (await Job(strict.ExportId)).Status);
    }

    [Fact]
    public async Task Parallel_claimers_never_exceed_max_processing()
    {
        var subscriptions = new List<ApiUser>();
        for (var s = 0; s < 3; s++)
        {
            subscriptions.Add((await NewSubscriptionAsync()).User);
        }

        var policy = Policy(maxQueued: 10, maxProcessing: 2);
        for (var i = 0; i < 18; i++)
        {
            await QueuedJobAsync(subscriptions[i % 3], T0.AddSeconds(i), policy);
        }

        var nodes = await NodesAsync(4);
        var leases = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            nodes[i % 4].Jobs.TryClaimNextAsync($"node-{i % 4}", T0.AddMinutes(1), Lease, None))));
        var claimed = leases.Where(l => l is not null).Select(l => l!.Value).ToList();
        // Whatever the parallel round left (a claimer may give up after losing races), a serial drain finishes.
        while (await Jobs.TryClaimNextAsync("drain", T0.AddMinutes(1), Lease, None) is { } more)
        {
            claimed.Add(more);
        }

        Assert.Equal(6, claimed.Count);
        Assert.Equal(6, claimed.Select(l => l.ExportId).Distinct().Count());
        Assert.All(claimed.GroupBy(l => l.SubscriptionId), g => Assert.Equal(2, g.Count()));
    }

    [Fact]
    public async Task Parallel_claimers_race_for_the_last_slot_and_one_wins()
    {
        var (_, user) = await NewSubscriptionAsync();
        var policy = Policy(maxProcessing: 2);
        for (var i = 0; i < 6; i++)
        {
            await QueuedJobAsync(user, T0.AddSeconds(i), policy);
        }

        Assert.NotNull(await Jobs.TryClaimNextAsync("n", T0.AddMinutes(1), Lease, None));
        var nodes = await NodesAsync(3);
        for (var round = 0; round < 5; round++)
        {
            var leases = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
                nodes[i % 3].Jobs.TryClaimNextAsync($"node-{i}", T0.AddMinutes(1), Lease, None))));
            var winners = leases.Where(l => l is not null).Select(l => l!.Value).ToList();
            Assert.True(winners.Count <= 1, $"round {round}: {winners.Count} claimers took the last slot");
            if (winners.Count == 0)
            {
                winners.Add((await Jobs.TryClaimNextAsync("retry", T0.AddMinutes(1), Lease, None))!.Value);
            }

            Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddMinutes(1), Lease, None));
            Assert.True(await Jobs.CompleteAsync(winners[0], new ExportFileInfo(1, 1, "sha256:00"), T0.AddMinutes(2), None));
        }
    }

    [Fact]
    public async Task Abandoned_lease_is_taken_over_and_the_stale_lease_is_fenced_off()
    {
        var (_, user) = await NewSubscriptionAsync();
        var job = await QueuedJobAsync(user, T0);
        var stale = (await Jobs.TryClaimNextAsync("node-a", T0.AddSeconds(1), Lease, None))!.Value;

        Assert.Null(await Jobs.TryClaimAbandonedAsync("node-b", T0.AddSeconds(10), Lease, None)); // still leased
        Assert.True(await Jobs.RenewLeaseAsync(stale, T0.AddSeconds(40), None));
        Assert.Null(await Jobs.TryClaimAbandonedAsync("node-b", T0.AddSeconds(35), Lease, None)); // renewed

        var takeover = await Jobs.TryClaimAbandonedAsync("node-b", T0.AddSeconds(41), Lease, None);
        Assert.NotNull(takeover);
        Assert.Equal(job.ExportId, takeover.Value.ExportId);
        Assert.Equal("node-b", takeover.Value.NodeId);
        Assert.True(takeover.Value.FencingToken > stale.FencingToken);
        Assert.Equal(T0.AddSeconds(41) + Lease, takeover.Value.ExpiresAt);
        var running = await Job(job.ExportId);
        Assert.Equal(ExportJobStatus.Processing, running.Status);
        Assert.Equal(T0.AddSeconds(1), running.StartedAt); // unchanged by the takeover

        Assert.Null(await Jobs.TryClaimAbandonedAsync("node-c", T0.AddSeconds(42), Lease, None));
        Assert.False(await Jobs.RenewLeaseAsync(stale, T0.AddMinutes(5), None));
        Assert.False(await Jobs.CompleteAsync(stale, new ExportFileInfo(1, 1, "sha256:stale"), T0.AddSeconds(43), None));
        Assert.False(await Jobs.FailAsync(stale, "stale", T0.AddSeconds(43), None));
        Assert.Equal(ExportJobStatus.Processing, (await Job(job.ExportId)).Status);

        Assert.True(await Jobs.RenewLeaseAsync(takeover.Value, T0.AddMinutes(2), None));
        Assert.True(await Jobs.CompleteAsync(takeover.Value, new ExportFileInfo(7, 70, "sha256:good"), T0.AddSeconds(50), None));
        Assert.False(await Jobs.CompleteAsync(takeover.Value, new ExportFileInfo(7, 70, "sha256:again"), T0.AddSeconds(51), None));
        Assert.False(await Jobs.RenewLeaseAsync(takeover.Value, T0.AddMinutes(3), None));

        var done = await Job(job.ExportId);
        Assert.Equal(ExportJobStatus.Completed, done.Status);
        Assert.Equal(T0.AddSeconds(50), done.FinishedAt);
        Assert.Equal(7, done.NumberOfRecords);
        Assert.Equal(70, done.FileSize);
        Assert.Equal("sha256:good", done.FileChecksum);
        Assert.Null(done.ErrorMsg);
    }

    [Fact]
    public async Task Parallel_takeover_of_an_abandoned_job_has_one_winner()
    {
        var (_, user) = await NewSubscriptionAsync();
        await QueuedJobAsync(user, T0);
        await Jobs.TryClaimNextAsync("dead", T0, Lease, None);
        var nodes = await NodesAsync(3);
        var leases = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
            nodes[i % 3].Jobs.TryClaimAbandonedAsync($"node-{i}", T0.AddMinutes(5), Lease, None))));
        Assert.Single(leases, l => l is not null);
    }

    [Fact]
    public async Task Workers_on_several_nodes_complete_each_job_once_within_the_limits()
    {
        var users = new List<ApiUser>();
        for (var s = 0; s < 3; s++)
        {
            users.Add((await NewSubscriptionAsync()).User);
        }

        var jobs = new List<ExportJobRecord>();
        for (var i = 0; i < 30; i++)
        {
            jobs.Add(await QueuedJobAsync(users[i % 3], T0.AddSeconds(i), Policy(maxQueued: 10, maxProcessing: 2)));
        }

        var nodes = await NodesAsync(3);
        var holding = new int[users.Count];
        var peak = new int[users.Count];
        var completions = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var workers = Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var store = nodes[w % nodes.Count].Jobs;
            var idle = 0;
            while (idle < 20 && DateTime.UtcNow < deadline)
            {
                var lease = await store.TryClaimNextAsync($"node-{w % nodes.Count}", T0.AddMinutes(1), Lease, None);
                if (lease is null)
                {
                    idle++;
                    await Task.Delay(5);
                    continue;
                }

                idle = 0;
                var slot = users.FindIndex(u => u.SubscriptionId == lease.Value.SubscriptionId);
                var now = Interlocked.Increment(ref holding[slot]);
                InterlockedMax(ref peak[slot], now);
                await Task.Delay(2);
                Assert.True(await store.RenewLeaseAsync(lease.Value, T0.AddMinutes(2), None));
                Interlocked.Decrement(ref holding[slot]);
                if (await store.CompleteAsync(lease.Value, new ExportFileInfo(1, 1, "sha256:00"), T0.AddMinutes(1), None))
                {
                    Interlocked.Increment(ref completions);
                }
            }
        })).ToList();
        await Task.WhenAll(workers);

        Assert.Equal(30, completions);
        Assert.All(peak, p => Assert.InRange(p, 1, 2));
        Assert.All(await Task.WhenAll(jobs.Select(j => Job(j.ExportId))), j => Assert.Equal(ExportJobStatus.Completed, j.Status));

        static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    [Fact]
    public async Task Fail_records_the_error_and_finish_time()
    {
        var (_, user) = await NewSubscriptionAsync();
        var job = await QueuedJobAsync(user, T0);
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(1), Lease, None))!.Value;
        Assert.True(await Jobs.FailAsync(lease, "Export failed: disk full", T0.AddSeconds(2), None));
        Assert.False(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(3), None));
        var failed = await Job(job.ExportId);
        Assert.Equal(ExportJobStatus.Failed, failed.Status);
        Assert.Equal("Export failed: disk full", failed.ErrorMsg);
        Assert.Equal(T0.AddSeconds(2), failed.FinishedAt);
        Assert.Equal(T0.AddSeconds(1), failed.StartedAt);
        Assert.Null(failed.FileSize);
    }

    [Fact]
    public async Task Requeue_of_a_node_ends_its_leases_and_the_jobs_start_again()
    {
        var (_, user) = await NewSubscriptionAsync();
        var job = await QueuedJobAsync(user, T0);
        var other = await QueuedJobAsync(user, T0.AddSeconds(1));
        var mine = (await Jobs.TryClaimNextAsync("restarting", T0.AddSeconds(2), Lease, None))!.Value;
        var theirs = (await Jobs.TryClaimNextAsync("healthy", T0.AddSeconds(2), Lease, None))!.Value;
        Assert.Equal(job.ExportId, mine.ExportId);

        Assert.Equal(1, await Jobs.RequeueLeasesOfNodeAsync("restarting", None));
        var requeued = await Job(job.ExportId);
        Assert.Equal(ExportJobStatus.Queued, requeued.Status);
        Assert.Null(requeued.StartedAt); // as if it never started
        Assert.Equal(T0, requeued.QueuedAt);
        Assert.False(await Jobs.RenewLeaseAsync(mine, T0.AddMinutes(1), None));
        Assert.False(await Jobs.CompleteAsync(mine, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(3), None));
        Assert.True(await Jobs.RenewLeaseAsync(theirs, T0.AddMinutes(1), None));
        Assert.Equal(ExportJobStatus.Processing, (await Job(other.ExportId)).Status);

        var again = (await Jobs.TryClaimNextAsync("restarting", T0.AddSeconds(5), Lease, None))!.Value;
        Assert.Equal(job.ExportId, again.ExportId);
        Assert.True(again.FencingToken > mine.FencingToken);
        Assert.Equal(T0.AddSeconds(5), (await Job(job.ExportId)).StartedAt);
        Assert.Equal(0, await Jobs.RequeueLeasesOfNodeAsync("nobody", None));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: held, released, started by hand (IJobControlStore)

    [Fact]
    public async Task Held_job_is_queued_but_never_claimed_until_released()
    {
        var (_, user) = await NewSubscriptionAsync();
        var held = await QueuedJobAsync(user, T0.AddSeconds(1), Policy(maxProcessing: 2) with { Hold = true });
        var free = await QueuedJobAsync(user, T0.AddSeconds(2));

        var shown = await Job(held.ExportId);
        Assert.Equal(ExportJobStatus.Queued, shown.Status);
        Assert.Equal(T0.AddSeconds(1), shown.QueuedAt);

        // The held job is older, yet the claim takes the free one and then nothing.
        Assert.Equal(free.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None))?.ExportId);
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(11), Lease, None));

        var list = await Stores.Control.ListHeldAsync(10, None);
        Assert.Equal([new HeldJob(held.ExportId, user.SubscriptionId, T0.AddSeconds(1))], list);

        Assert.True(await Stores.Control.ReleaseAsync(held.ExportId, 2, None));
        Assert.False(await Stores.Control.ReleaseAsync(held.ExportId, 2, None)); // no longer held
        Assert.Empty(await Stores.Control.ListHeldAsync(10, None));
        Assert.Equal(ExportJobStatus.Queued, (await Job(held.ExportId)).Status);
        Assert.Equal(held.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(12), Lease, None))?.ExportId);
    }

    [Fact]
    public async Task Held_job_keeps_its_processing_limit_and_release_applies_the_given_one()
    {
        var (_, user) = await NewSubscriptionAsync();
        var running = await QueuedJobAsync(user, T0.AddSeconds(1), Policy(maxProcessing: 1));
        var held = await QueuedJobAsync(user, T0.AddSeconds(2), Policy(maxProcessing: 1) with { Hold = true });
        Assert.Equal(running.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(10), Lease, None))?.ExportId);

        // Released under a limit of 1 while one job is Processing: queued, but no slot.
        Assert.True(await Stores.Control.ReleaseAsync(held.ExportId, 1, None));
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(11), Lease, None));
    }

    [Fact]
    public async Task Held_list_is_oldest_first_within_the_limit_and_skips_other_states()
    {
        var (_, a) = await NewSubscriptionAsync();
        var (_, b) = await NewSubscriptionAsync();
        var hold = Policy() with { Hold = true };
        var second = await QueuedJobAsync(b, T0.AddSeconds(2), hold);
        var first = await QueuedJobAsync(a, T0.AddSeconds(1), hold);
        var third = await QueuedJobAsync(a, T0.AddSeconds(3), hold);
        var cancelled = await QueuedJobAsync(a, T0.AddSeconds(4), hold);
        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(cancelled.ExportId, a.Id, Kind, T0.AddSeconds(5), None));
        await QueuedJobAsync(a, T0.AddSeconds(5)); // not held

        Assert.Equal([first.ExportId, second.ExportId], (await Stores.Control.ListHeldAsync(2, None)).Select(h => h.ExportId));
        Assert.Equal([first.ExportId, second.ExportId, third.ExportId], (await Stores.Control.ListHeldAsync(10, None)).Select(h => h.ExportId));
        Assert.False(await Stores.Control.ReleaseAsync(cancelled.ExportId, 2, None));
    }

    [Fact]
    public async Task Manual_start_takes_a_free_slot_under_a_lease_no_worker_takes_over()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var held = await QueuedJobAsync(user, T0.AddSeconds(1), Policy() with { Hold = true });
        var other = await QueuedJobAsync(user, T0.AddSeconds(2), Policy() with { Hold = true });
        var third = await QueuedJobAsync(user, T0.AddSeconds(3), Policy() with { Hold = true });

        var lease = await Stores.Control.StartManualAsync(held.ExportId, 2, T0.AddSeconds(10), None);
        Assert.NotNull(lease);
        Assert.Equal((held.ExportId, sub.Id, IJobControlStore.ManualNode, IJobControlStore.FarFuture),
            (lease.Value.ExportId, lease.Value.SubscriptionId, lease.Value.NodeId, lease.Value.ExpiresAt));
        var started = await Job(held.ExportId);
        Assert.Equal((ExportJobStatus.Processing, T0.AddSeconds(10)), (started.Status, started.StartedAt));
        Assert.Equal((IJobControlStore.ManualNode, lease.Value.FencingToken), await Stores.Control.LeaseOfAsync(held.ExportId, None));

        // Started by hand is no longer held; not startable twice; a lease long expired for a worker is not abandoned.
        Assert.Equal([other.ExportId, third.ExportId], (await Stores.Control.ListHeldAsync(10, None)).Select(h => h.ExportId));
        Assert.Null(await Stores.Control.StartManualAsync(held.ExportId, 2, T0.AddSeconds(11), None));
        Assert.Null(await Jobs.TryClaimAbandonedAsync("n", T0.AddDays(365), Lease, None));

        // The slot limit holds: one more fits under 2, a third does not.
        Assert.NotNull(await Stores.Control.StartManualAsync(other.ExportId, 2, T0.AddSeconds(12), None));
        Assert.Null(await Stores.Control.StartManualAsync(third.ExportId, 2, T0.AddSeconds(13), None));
        Assert.Equal(ExportJobStatus.Queued, (await Job(third.ExportId)).Status);

        Assert.True(await Jobs.CompleteAsync(lease.Value, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(20), None));
        Assert.Equal(ExportJobStatus.Completed, (await Job(held.ExportId)).Status);
        Assert.Null(await Stores.Control.LeaseOfAsync(Guid.NewGuid(), None));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: cancel

    [Fact]
    public async Task Cancel_from_created_queued_and_processing_keeps_timestamps()
    {
        var (_, user) = await NewSubscriptionAsync();
        var created = await NewJobAsync(user);
        var queued = await QueuedJobAsync(user, T0.AddSeconds(10));
        var processing = await QueuedJobAsync(user, T0.AddSeconds(5));
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(20), Lease, None))!.Value;
        Assert.Equal(processing.ExportId, lease.ExportId);

        foreach (var job in new[] { created, queued, processing })
        {
            Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(job.ExportId, user.Id, Kind, T0.AddSeconds(30), None));
            Assert.Equal(CancelOutcome.AlreadyCancelled, await Jobs.CancelAsync(job.ExportId, user.Id, Kind, T0.AddSeconds(31), None));
        }

        var c = await Job(created.ExportId);
        Assert.Equal(ExportJobStatus.Cancelled, c.Status);
        Assert.Null(c.QueuedAt);
        Assert.Null(c.FinishedAt);
        var q = await Job(queued.ExportId);
        Assert.Equal(T0.AddSeconds(10), q.QueuedAt);
        Assert.Null(q.StartedAt);
        Assert.Null(q.FinishedAt);
        var p = await Job(processing.ExportId);
        Assert.Equal(ExportJobStatus.Cancelled, p.Status);
        Assert.Equal(T0.AddSeconds(5), p.QueuedAt);
        Assert.Equal(T0.AddSeconds(20), p.StartedAt);
        Assert.Null(p.FinishedAt);
        Assert.Null(p.ErrorMsg);

        // The worker notices at its next renew; it cannot finish the job either way.
        Assert.False(await Jobs.RenewLeaseAsync(lease, T0.AddMinutes(1), None));
        Assert.False(await Jobs.CompleteAsync(lease, new ExportFileInfo(1, 1, "sha256:00"), T0.AddSeconds(32), None));
        Assert.False(await Jobs.FailAsync(lease, "x", T0.AddSeconds(32), None));
        Assert.Null(await Jobs.TryClaimAbandonedAsync("other", T0.AddHours(1), Lease, None));
        Assert.Equal(ExportJobStatus.Cancelled, (await Job(processing.ExportId)).Status);
    }

    [Fact]
    public async Task Cancel_outcomes_for_finished_unknown_and_foreign_jobs()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var other = await NewUserAsync(sub, "other@example.com");
        var completed = await CompleteJobAsync(user, T0, 10);
        var failedJob = await QueuedJobAsync(user, T0.AddSeconds(10));
        var failLease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(11), Lease, None))!.Value;
        Assert.True(await Jobs.FailAsync(failLease, "boom", T0.AddSeconds(12), None));

        Assert.Equal(CancelOutcome.Finished, await Jobs.CancelAsync(completed.ExportId, user.Id, Kind, T0.AddMinutes(1), None));
        Assert.Equal(CancelOutcome.Finished, await Jobs.CancelAsync(failedJob.ExportId, user.Id, Kind, T0.AddMinutes(1), None));
        Assert.Equal(ExportJobStatus.Completed, (await Job(completed.ExportId)).Status);
        Assert.Equal(ExportJobStatus.Failed, (await Job(failedJob.ExportId)).Status);

        var mine = await NewJobAsync(user);
        Assert.Equal(CancelOutcome.NotFound, await Jobs.CancelAsync(Guid.NewGuid(), user.Id, Kind, T0, None));
        Assert.Equal(CancelOutcome.NotFound, await Jobs.CancelAsync(mine.ExportId, other.Id, Kind, T0, None));
        Assert.Equal(ExportJobStatus.Created, (await Job(mine.ExportId)).Status);
    }

    [Fact]
    public async Task Cancelling_a_processing_job_frees_its_slot_and_its_queue_place()
    {
        var (_, user) = await NewSubscriptionAsync();
        var policy = Policy(maxQueued: 2, maxProcessing: 1);
        var first = await QueuedJobAsync(user, T0, policy);
        var second = await QueuedJobAsync(user, T0.AddSeconds(1), policy);
        var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(2), Lease, None))!.Value;
        Assert.Equal(first.ExportId, lease.ExportId);
        Assert.Null(await Jobs.TryClaimNextAsync("n", T0.AddSeconds(3), Lease, None));
        var third = await NewJobAsync(user);
        Assert.Equal(EnqueueOutcome.QueueFull, await Jobs.EnqueueAsync(third.ExportId, user.Id, Kind, policy, T0.AddSeconds(3), None));

        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(first.ExportId, user.Id, Kind, T0.AddSeconds(4), None));
        Assert.Equal(second.ExportId, (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(5), Lease, None))?.ExportId);
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(third.ExportId, user.Id, Kind, policy, T0.AddSeconds(6), None));
    }

    [Fact]
    public async Task Concurrent_cancel_and_complete_have_exactly_one_winner()
    {
        var (_, user) = await NewSubscriptionAsync();
        for (var i = 0; i < 10; i++)
        {
            var job = await QueuedJobAsync(user, T0.AddSeconds(i));
            var lease = (await Jobs.TryClaimNextAsync("n", T0.AddSeconds(i), Lease, None))!.Value;
            var cancel = Task.Run(() => Jobs.CancelAsync(job.ExportId, user.Id, Kind, T0.AddMinutes(1), None));
            var complete = Task.Run(() => Jobs.CompleteAsync(lease, new ExportFileInfo(1, 1, "sha256:00"), T0.AddMinutes(1), None));
            var cancelled = await cancel == CancelOutcome.Cancelled;
            var completed = await complete;
            Assert.True(cancelled ^ completed);
            Assert.Equal(cancelled ? ExportJobStatus.Cancelled : ExportJobStatus.Completed, (await Job(job.ExportId)).Status);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: list

    [Fact]
    public async Task List_pages_through_the_users_jobs_without_duplicates_or_gaps()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var other = await NewUserAsync(sub, "other@example.com");
        var since = T0;
        await NewJobAsync(user, since.AddSeconds(-1)); // too old
        await NewJobAsync(other, since.AddSeconds(5)); // someone else's
        var expected = new List<ExportJobRecord>();
        for (var i = 0; i < 25; i++)
        {
            // Several jobs share a created_at: the export id breaks the tie.
            expected.Add(await NewJobAsync(user, since.AddSeconds(i / 3)));
        }

        var seen = new List<ExportJobRecord>();
        JobListCursor? cursor = null;
        var pages = 0;
        do
        {
            var page = await Jobs.ListAsync(user.Id, Kind, since, null, 7, cursor, None);
            pages++;
            Assert.True(page.Jobs.Count <= 7);
            Assert.True(page.Next is null || page.Jobs.Count == 7);
            seen.AddRange(page.Jobs);
            cursor = page.Next;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(4, pages);
        Assert.Equal(25, seen.Count);
        Assert.Equal(expected.Select(j => j.ExportId).Order(), seen.Select(j => j.ExportId).Order());
        Assert.Equal(seen.Select(j => j.CreatedAt).Order(), seen.Select(j => j.CreatedAt));
        Assert.All(seen, j => Assert.Equal(user.Id, j.ApiUserId));

        // Paging is stable: the same cursor gives the same page.
        var firstPage = await Jobs.ListAsync(user.Id, Kind, since, null, 7, null, None);
        var again = await Jobs.ListAsync(user.Id, Kind, since, null, 7, firstPage.Next, None);
        Assert.Equal(seen.Skip(7).Take(7).Select(j => j.ExportId), again.Jobs.Select(j => j.ExportId));
    }

    [Fact]
    public async Task List_has_no_next_when_the_last_page_is_exactly_full()
    {
        var (_, user) = await NewSubscriptionAsync();
        for (var i = 0; i < 6; i++)
        {
            await NewJobAsync(user, T0.AddSeconds(i));
        }

        var first = await Jobs.ListAsync(user.Id, Kind, T0, null, 3, null, None);
        Assert.Equal(3, first.Jobs.Count);
        Assert.NotNull(first.Next);
        var second = await Jobs.ListAsync(user.Id, Kind, T0, null, 3, first.Next, None);
        Assert.Equal(3, second.Jobs.Count);
        Assert.Null(second.Next);
        var all = await Jobs.ListAsync(user.Id, Kind, T0, null, 300, null, None);
        Assert.Equal(6, all.Jobs.Count);
        Assert.Null(all.Next);
        var empty = await Jobs.ListAsync(user.Id, Kind, T0.AddDays(1), null, 300, null, None);
        Assert.Empty(empty.Jobs);
        Assert.Null(empty.Next);
    }

    [Fact]
    public async Task List_filters_by_status()
    {
        var (_, user) = await NewSubscriptionAsync();
        var created = await NewJobAsync(user, T0);
        var queued = await QueuedJobAsync(user, T0.AddSeconds(10));
        var cancelled = await NewJobAsync(user, T0.AddSeconds(20));
        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(cancelled.ExportId, user.Id, Kind, T0.AddSeconds(21), None));

        var onlyCancelled = await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), [ExportJobStatus.Cancelled], 300, null, None);
        Assert.Equal([cancelled.ExportId], onlyCancelled.Jobs.Select(j => j.ExportId));
        var createdOrQueued = await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), [ExportJobStatus.Created, ExportJobStatus.Queued], 1, null, None);
        Assert.Equal([created.ExportId], createdOrQueued.Jobs.Select(j => j.ExportId));
        var rest = await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), [ExportJobStatus.Created, ExportJobStatus.Queued], 1, createdOrQueued.Next, None);
        Assert.Equal([queued.ExportId], rest.Jobs.Select(j => j.ExportId));
        Assert.Null(rest.Next);
        Assert.Empty((await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), [ExportJobStatus.Failed], 300, null, None)).Jobs);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Jobs: retention

    [Fact]
    public async Task Files_to_expire_per_subscription_and_marking_them_expired()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var (otherSub, stranger) = await NewSubscriptionAsync();
        var old = await CompleteJobAsync(user, T0, 10);
        var recent = await CompleteJobAsync(user, T0.AddDays(3), 10);
        var foreign = await CompleteJobAsync(stranger, T0, 10);
        await QueuedJobAsync(user, T0.AddDays(4));

        var due = await Jobs.ListFilesToExpireAsync(sub.Id, T0.AddDays(1), 100, None);
        Assert.Equal([old.ExportId], due.Select(j => j.ExportId));
        Assert.False(due[0].FileExpired);
        Assert.Equal(old.FencingToken, due[0].FencingToken); // the file is named by it
        Assert.Empty(await Jobs.ListFilesToExpireAsync(sub.Id, T0, 100, None)); // finished exactly then: not before
        Assert.Equal(2, (await Jobs.ListFilesToExpireAsync(sub.Id, T0.AddDays(5), 100, None)).Count);
        Assert.Single(await Jobs.ListFilesToExpireAsync(sub.Id, T0.AddDays(5), 1, None));
        Assert.Equal([foreign.ExportId], (await Jobs.ListFilesToExpireAsync(otherSub.Id, T0.AddDays(5), 100, None)).Select(j => j.ExportId));

        await Jobs.MarkFileExpiredAsync(old.ExportId, None);
        var expired = await Job(old.ExportId);
        Assert.True(expired.FileExpired);
        Assert.Equal(ExportJobStatus.Completed, expired.Status); // the status still says Completed
        Assert.False((await Job(recent.ExportId)).FileExpired);
        Assert.Empty(await Jobs.ListFilesToExpireAsync(sub.Id, T0.AddDays(1), 100, None));
        Assert.Equal([recent.ExportId], (await Jobs.ListFilesToExpireAsync(sub.Id, T0.AddDays(5), 100, None)).Select(j => j.ExportId));
    }

    [Fact]
    public async Task Job_records_carry_the_fencing_token_of_their_latest_lease()
    {
        var (_, user) = await NewSubscriptionAsync();
        var job = await QueuedJobAsync(user, T0);
        Assert.Equal(0, (await Job(job.ExportId)).FencingToken);
        var first = (await Jobs.TryClaimNextAsync("a", T0, Lease, None))!.Value;
        Assert.Equal(first.FencingToken, (await Job(job.ExportId)).FencingToken);
        var second = (await Jobs.TryClaimAbandonedAsync("b", T0.AddMinutes(5), Lease, None))!.Value;
        Assert.Equal(second.FencingToken, (await Job(job.ExportId)).FencingToken);
        Assert.True(await Jobs.CompleteAsync(second, new ExportFileInfo(1, 1, "sha256:00"), T0.AddMinutes(6), None));
        Assert.Equal(second.FencingToken, (await Job(job.ExportId)).FencingToken);
    }

    [Fact]
    public async Task Delete_jobs_before_removes_the_subscriptions_jobs_that_are_not_queued_or_processing()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var (_, stranger) = await NewSubscriptionAsync();
        var cutoff = T0.AddDays(-30);

        var oldCreated = await NewJobAsync(user, cutoff.AddDays(-10));                 // never finished: by createdAt
        var oldCancelled = await NewJobAsync(user, cutoff.AddDays(-10));
        Assert.Equal(CancelOutcome.Cancelled, await Jobs.CancelAsync(oldCancelled.ExportId, user.Id, Kind, cutoff.AddDays(-10), None));
        var oldCompleted = await CompleteJobAsync(user, cutoff.AddDays(-5), 1);       // finished before the cutoff
        var lateCompleted = await NewJobAsync(user, cutoff.AddDays(-5));                // created before, finished after
        Assert.Equal(EnqueueOutcome.Enqueued, await Jobs.EnqueueAsync(lateCompleted.ExportId, user.Id, Kind, Policy(), cutoff.AddDays(-5), None));
        var lateLease = (await Jobs.TryClaimNextAsync("n", cutoff.AddDays(-5), Lease, None))!.Value;
        Assert.True(await Jobs.CompleteAsync(lateLease, new ExportFileInfo(1, 1, "sha256:00"), cutoff.AddDays(1), None));
        var oldProcessing = await QueuedJobAsync(user, cutoff.AddDays(-3));
        Assert.Equal(oldProcessing.ExportId, (await Jobs.TryClaimNextAsync("n", cutoff.AddDays(-3), Lease, None))?.ExportId);
        var oldQueued = await QueuedJobAsync(user, cutoff.AddDays(-2));
        var newCreated = await NewJobAsync(user, T0);
        var strangers = await NewJobAsync(stranger, cutoff.AddDays(-10));

        Assert.Equal(3, await Jobs.DeleteJobsBeforeAsync(sub.Id, cutoff, None));
        Assert.Null(await Jobs.GetByIdAsync(oldCreated.ExportId, None));
        Assert.Null(await Jobs.GetByIdAsync(oldCancelled.ExportId, None));
        Assert.Null(await Jobs.GetByIdAsync(oldCompleted.ExportId, None));
        Assert.NotNull(await Jobs.GetByIdAsync(lateCompleted.ExportId, None));
        Assert.NotNull(await Jobs.GetByIdAsync(oldQueued.ExportId, None));
        Assert.Equal(ExportJobStatus.Processing, (await Job(oldProcessing.ExportId)).Status);
        Assert.NotNull(await Jobs.GetByIdAsync(newCreated.ExportId, None));
        Assert.NotNull(await Jobs.GetByIdAsync(strangers.ExportId, None));
        Assert.Equal(0, await Jobs.DeleteJobsBeforeAsync(sub.Id, cutoff, None));
    }

    [Fact]
    public async Task Delete_subscription_jobs_removes_every_job_of_that_subscription_only()
    {
        var (sub, user) = await NewSubscriptionAsync();
        var (_, stranger) = await NewSubscriptionAsync();
        await CompleteJobAsync(user, T0, 5);
        await NewJobAsync(user);
        await QueuedJobAsync(user, T0.AddMinutes(1));
        await QueuedJobAsync(user, T0.AddMinutes(2));
        Assert.NotNull(await Jobs.TryClaimNextAsync("n", T0.AddMinutes(3), Lease, None));
        var kept = await NewJobAsync(stranger);

        Assert.Equal(4, await Jobs.DeleteSubscriptionJobsAsync(sub.Id, None));
        Assert.Empty((await Jobs.ListAsync(user.Id, Kind, T0.AddDays(-1), null, 300, null, None)).Jobs);
        Assert.Equal(0, await Jobs.ExportedBytesSinceAsync(sub.Id, T0.AddDays(-1), None));
        Assert.NotNull(await Jobs.GetByIdAsync(kept.ExportId, None));
        Assert.Equal(0, await Jobs.DeleteSubscriptionJobsAsync(sub.Id, None));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Activities

    [Fact]
    public async Task Append_is_idempotent_by_marketo_guid_per_subscription()
    {
        var (a, _) = await NewSubscriptionAsync();
        var (b, _) = await NewSubscriptionAsync();
        var batch = Enumerable.Range(1, 100).Select(i => Activity(i, T0.AddMinutes(i))).ToList();

        Assert.Equal(100, await Activities.AppendAsync(a.Id, batch, None));
        Assert.Equal(0, await Activities.AppendAsync(a.Id, batch, None));
        Assert.Equal(100, await Activities.CountAsync(a.Id, None));

        // An overlapping batch adds only the new ones; a known guid with another date is still a duplicate.
        var overlap = Enumerable.Range(91, 20).Select(i => Activity(i, T0.AddDays(40).AddMinutes(i))).ToList();
        Assert.Equal(10, await Activities.AppendAsync(a.Id, overlap, None));
        Assert.Equal(110, await Activities.CountAsync(a.Id, None));
        var stored91 = (await ReadAsync(new ActivityQuery(a.Id, T0, T0.AddDays(60), null, null))).Single(r => r.MarketoGuid == 91);
        Assert.Equal(T0.AddMinutes(91), stored91.ActivityDate);

        // Duplicates inside one batch: the first occurrence wins.
        var twice = new[] { Activity(500, T0, attributes: """{"first":true}"""), Activity(500, T0.AddDays(1), attributes: """{"first":false}""") };
        Assert.Equal(1, await Activities.AppendAsync(a.Id, twice, None));
        var stored500 = (await ReadAsync(new ActivityQuery(a.Id, T0, T0.AddDays(2), null, null))).Single(r => r.MarketoGuid == 500);
        Assert.Equal("""{"first":true}""", stored500.Attributes);

        // The same guids in another subscription are new there.
        Assert.Equal(100, await Activities.AppendAsync(b.Id, batch, None));
        Assert.Equal(100, await Activities.CountAsync(b.Id, None));
        Assert.Equal(0, await Activities.AppendAsync(b.Id, [], None));
    }

    [Fact]
    public async Task Concurrent_overlapping_appends_add_each_activity_once()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var batches = Enumerable.Range(0, 8)
            .Select(k => Enumerable.Range(k * 100, 400).Select(i => Activity(i + 1, T0.AddDays(i % 70).AddSeconds(i))).Reverse().ToList())
            .ToList();
        var nodes = await NodesAsync(4);
        var added = await Task.WhenAll(batches.Select((b, i) => Task.Run(() => nodes[i % 4].Activities.AppendAsync(sub.Id, b, None))));
        Assert.Equal(1100, added.Sum());
        Assert.Equal(1100, await Activities.CountAsync(sub.Id, None));
        var rows = await ReadAsync(new ActivityQuery(sub.Id, T0.AddDays(-1), T0.AddDays(80), null, null));
        Assert.Equal(1100, rows.Select(r => r.MarketoGuid).Distinct().Count());
    }

    [Fact]
    public async Task Window_is_ordered_by_date_then_guid_with_inclusive_bounds()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var (other, _) = await NewSubscriptionAsync();
        var start = new DateTimeOffset(2026, 1, 31, 23, 0, 0, TimeSpan.Zero);
        var end = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var activities = new List<ActivityRecord>
        {
            Activity(10, start.AddSeconds(-1)),          // just before: out
            Activity(30, start),                         // exactly the start: in
            Activity(20, start),                         // same instant, smaller guid first
            Activity(40, start.AddHours(1)),             // next month
            Activity(5, new DateTimeOffset(2026, 2, 14, 12, 0, 0, TimeSpan.FromHours(5))),
            Activity(60, end),                           // exactly the end: in
            Activity(50, end.AddSeconds(1)),             // just after: out
            Activity(70, end.AddMonths(-13)),            // a year before: out
        };
        Assert.Equal(8, await Activities.AppendAsync(sub.Id, activities, None));
        await Activities.AppendAsync(other.Id, [Activity(25, start.AddMinutes(1))], None);

        var rows = await ReadAsync(new ActivityQuery(sub.Id, start, end, null, null));
        Assert.Equal([20L, 30, 40, 5, 60], rows.Select(r => r.MarketoGuid));
        Assert.All(rows, r => Assert.Equal(TimeSpan.Zero, r.ActivityDate.Offset));
        Assert.Equal(new DateTimeOffset(2026, 2, 14, 7, 0, 0, TimeSpan.Zero), rows.Single(r => r.MarketoGuid == 5).ActivityDate);

        var instant = await ReadAsync(new ActivityQuery(sub.Id, start, start, null, null));
        Assert.Equal([20L, 30], instant.Select(r => r.MarketoGuid));
        Assert.Empty(await ReadAsync(new ActivityQuery(sub.Id, start.AddYears(5), start.AddYears(6), null, null)));
    }

    [Fact]
    public async Task Window_filters_by_activity_type_and_primary_attribute_value()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var activities = new List<ActivityRecord>();
        for (var i = 1; i <= 60; i++)
        {
            activities.Add(Activity(i, T0.AddMinutes(i), type: i % 4 + 1, asset: i % 5 == 0 ? null : i % 5 + 100));
        }

        await Activities.AppendAsync(sub.Id, activities, None);
        var window = new ActivityQuery(sub.Id, T0, T0.AddDays(1), null, null);

        var types = await ReadAsync(window with { ActivityTypeIds = [2, 3] });
        Assert.Equal(activities.Where(a => a.ActivityTypeId is 2 or 3).Select(a => a.MarketoGuid), types.Select(r => r.MarketoGuid));

        var assets = await ReadAsync(window with { PrimaryAttributeValueIds = [101L, 104L] });
        Assert.Equal(activities.Where(a => a.PrimaryAttributeValueId is 101 or 104).Select(a => a.MarketoGuid), assets.Select(r => r.MarketoGuid));

        var both = await ReadAsync(window with { ActivityTypeIds = [2], PrimaryAttributeValueIds = [101L, 102L, 103L] });
        Assert.Equal(
            activities.Where(a => a.ActivityTypeId == 2 && a.PrimaryAttributeValueId is 101 or 102 or 103).Select(a => a.MarketoGuid),
            both.Select(r => r.MarketoGuid));
        Assert.NotEmpty(both);

        Assert.Empty(await ReadAsync(window with { ActivityTypeIds = [99] }));
        Assert.Empty(await ReadAsync(window with { PrimaryAttributeValueIds = [] })); // asset names that matched nothing
        Assert.Equal(60, (await ReadAsync(window with { ActivityTypeIds = [] })).Count);
        Assert.Equal(60, (await ReadAsync(window)).Count);
    }

    [Fact]
    public async Task Activity_dates_are_kept_to_the_second_the_precision_of_the_file()
    {
        var (sub, _) = await NewSubscriptionAsync();
        // Shown as the same second in the file, so ordered by marketoGUID.
        await Activities.AppendAsync(sub.Id, [Activity(2, T0.AddMilliseconds(100)), Activity(1, T0.AddMilliseconds(900))], None);
        var rows = await ReadAsync(new ActivityQuery(sub.Id, T0, T0, null, null));
        Assert.Equal([1L, 2], rows.Select(r => r.MarketoGuid));
        Assert.All(rows, r => Assert.Equal(T0, r.ActivityDate));
        // Bounds are whole seconds too.
        Assert.Equal(2, (await ReadAsync(new ActivityQuery(sub.Id, T0.AddMilliseconds(500), T0.AddMilliseconds(600), null, null))).Count);
        Assert.Empty(await ReadAsync(new ActivityQuery(sub.Id, T0.AddSeconds(1), T0.AddSeconds(2), null, null)));
    }

    [Fact]
    public async Task Activity_fields_round_trip_exactly()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var activities = new[]
        {
            new ActivityRecord(1, 9_000_000_001, T0, 1, 42, 1001, "Landing Page \"A\", v2",
                """{"Client IP Address":"10.0.0.1","Query Parameters":"a=1&b=\"x\"","Referrer URL":"https://example.com/?q=é","Webpage URL":"/lp.html","User Agent":"Mozilla/5.0","Created At":"2026-01-15"}""",
                "succeeded"),
            new ActivityRecord(2, 7, T0, 12, null, null, null, "{}", null),
            // Not compact on purpose: the store keeps the text as given, never re-encoding it.
            new ActivityRecord(3, 8, T0, 13, null, null, "multi\nline\r\ntext\u0001 ünïcödé 😀", """{ "b": 1,  "a": [1, 2.50] }""", ""),
            new ActivityRecord(5, 9, T0, 1, 1, 2, "back\\slash \\0", """{"path":"C:\\dir\\0"}""", "\\"),
        };
        await Activities.AppendAsync(sub.Id, activities, None);
        var rows = await ReadAsync(new ActivityQuery(sub.Id, T0, T0, null, null));
        Assert.Equal(activities, rows);
    }

    [Fact]
    public async Task Activity_text_keeps_nul_characters()
    {
        // CR, NUL, multi-line and non-ASCII text are kept as stored. Backslashes next to the NULs
        // look like escapes on purpose.
        var (sub, _) = await NewSubscriptionAsync();
        var activities = new[]
        {
            new ActivityRecord(4, 9, T0, 1, 1, 2, "nul\0here \\0 \\\\ end\\", "{\"a\":\"x\0y \\\\0\"}", "\0"),
            new ActivityRecord(6, 9, T0, 1, 1, 2, "\0", "\0{}\0", "tail\0"),
        };
        await Activities.AppendAsync(sub.Id, activities, None);
        Assert.Equal(activities, await ReadAsync(new ActivityQuery(sub.Id, T0, T0, null, null)));
    }

    [Fact]
    public async Task Activities_far_apart_in_time_are_stored_and_found()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var dates = new[]
        {
            new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero),
            new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2099, 12, 31, 23, 59, 59, TimeSpan.Zero),
        };
        Assert.Equal(4, await Activities.AppendAsync(sub.Id, dates.Select((d, i) => Activity(i + 1, d)).ToList(), None));
        // Windows of at most 31 days, as the API allows.
        Assert.Equal(dates[..2], (await ReadAsync(new ActivityQuery(sub.Id, dates[0].AddDays(-15), dates[0].AddDays(15), null, null)))
            .Select(r => r.ActivityDate));
        Assert.Single(await ReadAsync(new ActivityQuery(sub.Id, dates[1], dates[1].AddDays(31), null, null)));
        foreach (var date in dates[2..])
        {
            var row = Assert.Single(await ReadAsync(new ActivityQuery(sub.Id, date.AddDays(-1), date.AddDays(1), null, null)));
            Assert.Equal(date, row.ActivityDate);
        }
    }

    [Fact]
    public async Task Window_streams_and_a_consumer_may_stop_early()
    {
        var (sub, _) = await NewSubscriptionAsync();
        const int total = 20_000;
        for (var chunk = 0; chunk < total; chunk += 5000)
        {
            await Activities.AppendAsync(sub.Id,
                Enumerable.Range(chunk + 1, 5000).Select(i => Activity(i, T0.AddSeconds(i), attributes: $$"""{"pad":"{{new string('x', 200)}}"}""")).ToList(), None);
        }

        var query = new ActivityQuery(sub.Id, T0, T0.AddDays(1), null, null);
        var rows = await ReadAsync(query);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), rows.Select(r => r.MarketoGuid));

        for (var attempt = 0; attempt < 5; attempt++)
        {
            // A consumer that stops early: its own error ends the stream, and nothing of the window is left running.
            var early = new ActivityRows.RecordSink(onRow: n =>
            {
                if (n == 10)
                {
                    throw new StopReadingException();
                }
            });
            await Assert.ThrowsAsync<StopReadingException>(() => Stores.Streamer.StreamWindowAsync(query, early, None));
            Assert.Equal(10, early.Records.Count);
            Assert.Equal(total, await Activities.CountAsync(sub.Id, None)); // the store is still usable
        }

        using var cts = new CancellationTokenSource();
        var cancelled = new ActivityRows.RecordSink(onRow: n =>
        {
            if (n == 100)
            {
                cts.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Stores.Streamer.StreamWindowAsync(query, cancelled, cts.Token));
        Assert.Equal(total, await Activities.CountAsync(sub.Id, None));
    }

    [Fact]
    public async Task Max_guid_count_and_delete_subscription()
    {
        var (a, _) = await NewSubscriptionAsync();
        var (b, _) = await NewSubscriptionAsync();
        Assert.Equal(0, await Activities.MaxMarketoGuidAsync(None));
        Assert.Equal(0, await Activities.CountAsync(a.Id, None));

        await Activities.AppendAsync(a.Id, Enumerable.Range(1, 50).Select(i => Activity(i, T0.AddDays(i))).ToList(), None);
        await Activities.AppendAsync(b.Id, [Activity(9_000_000_000_123, T0)], None);
        Assert.Equal(9_000_000_000_123, await Activities.MaxMarketoGuidAsync(None));

        Assert.Equal(1, await Activities.DeleteSubscriptionAsync(b.Id, None));
        Assert.Equal(0, await Activities.CountAsync(b.Id, None));
        Assert.Equal(50, await Activities.MaxMarketoGuidAsync(None));
        Assert.Equal(50, await Activities.CountAsync(a.Id, None));
        Assert.Empty(await ReadAsync(new ActivityQuery(b.Id, T0.AddDays(-1), T0.AddDays(1), null, null)));
        Assert.Equal(0, await Activities.DeleteSubscriptionAsync(b.Id, None));

        // Deleted activities can be appended again.
        Assert.Equal(1, await Activities.AppendAsync(b.Id, [Activity(9_000_000_000_123, T0)], None));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Paging reads, new activities, custom activity types (ActivityPageReader.cs, ActivityTypeStore.cs)

    private async Task<List<ActivityRecord>> ReadAllPagesAsync(IActivityPageReader pages, ActivityPageQuery query)
    {
        var rows = new List<ActivityRecord>();
        while (true)
        {
            var page = await pages.ReadPageAsync(query, None);
            Assert.True(page.Count <= query.Limit);
            rows.AddRange(page);
            if (page.Count < query.Limit)
            {
                return rows;
            }

            query = query with { AfterMarketoGuid = page[^1].MarketoGuid };
        }
    }

    [Fact]
    public async Task Pages_are_ordered_by_guid_and_filtered()
    {
        var (a, _) = await NewSubscriptionAsync();
        var (b, _) = await NewSubscriptionAsync();
        // GUID order differs from date order, across several months; text with a NUL round-trips.
        var batch = Enumerable.Range(1, 60)
            .Select(i => Activity(i, T0.AddDays((61 - i) * 3), type: i % 4 + 1, asset: i % 5, attributes: i == 7 ? "{\"n\":\"a\0b\"}" : null))
            .Reverse().ToList();
        await Activities.AppendAsync(a.Id, batch, None);
        await Activities.AppendAsync(b.Id, [Activity(1000, T0)], None);
        var pages = Stores.Pages;

        var all = await ReadAllPagesAsync(pages, new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, null, null, null, 7));
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), all.Select(r => r.MarketoGuid));
        Assert.Equal(batch.OrderBy(r => r.MarketoGuid), all);

        var since = await ReadAllPagesAsync(pages, new ActivityPageQuery(a.Id, T0.AddDays(150), 10, null, null, null, 4));
        Assert.Equal(batch.Where(r => r.MarketoGuid > 10 && r.ActivityDate >= T0.AddDays(150)).Select(r => r.MarketoGuid).Order(),
            since.Select(r => r.MarketoGuid));

        var filtered = await ReadAllPagesAsync(pages, new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, [1, 2], [0, 3], [1000 + 5, 1000 + 8, 1000 + 20, 1000 + 40], 2));
        Assert.Equal(batch.Where(r => r.ActivityTypeId is 1 or 2 && r.PrimaryAttributeValueId is 0 or 3 && r.LeadId is 1005 or 1008 or 1020 or 1040)
            .Select(r => r.MarketoGuid).Order(), filtered.Select(r => r.MarketoGuid));

        Assert.Empty(await pages.ReadPageAsync(new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, [], null, null, 10), None));
        Assert.Empty(await pages.ReadPageAsync(new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, null, null, [], 10), None));
        Assert.Empty(await pages.ReadPageAsync(new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, null, null, null, 0), None));
        Assert.Empty(await pages.ReadPageAsync(new ActivityPageQuery(a.Id, T0.AddDays(-1), 60, null, null, null, 10), None));
        Assert.Equal([1000L], (await pages.ReadPageAsync(new ActivityPageQuery(b.Id, T0, 0, null, null, null, 10), None)).Select(r => r.MarketoGuid));
    }

    [Fact]
    public async Task List_members_follow_the_latest_add_or_remove()
    {
        var (sub, _) = await NewSubscriptionAsync();
        ActivityRecord Membership(long guid, long lead, int type, long list, int minutes) =>
            new(guid, lead, T0.AddMinutes(minutes), type, null, list, $"List {list}", "{}", null);
        await Activities.AppendAsync(sub.Id, [
            Membership(1, 30, 24, 7, 0), Membership(2, 10, 24, 7, 1), Membership(3, 20, 24, 7, 2),
            Membership(4, 20, 25, 7, 3), Membership(5, 40, 25, 7, 4), Membership(6, 40, 24, 7, 5),
            Membership(7, 50, 24, 8, 6), Membership(9, 60, 24, 7, 9), Membership(8, 60, 25, 7, 9),
        ], None);

        Assert.Equal([10L, 30, 40, 60], await Stores.Pages.ListMembersAsync(sub.Id, 7, 100, None));
        Assert.Equal([10L, 30], await Stores.Pages.ListMembersAsync(sub.Id, 7, 2, None));
        Assert.Empty(await Stores.Pages.ListMembersAsync(sub.Id, 9, 100, None));
    }

    [Fact]
    public async Task New_activities_get_consecutive_guids_above_every_subscription_also_concurrently()
    {
        var (a, _) = await NewSubscriptionAsync();
        var (b, _) = await NewSubscriptionAsync();
        await Activities.AppendAsync(b.Id, [Activity(5000, T0)], None);
        Assert.Equal(5001, await Stores.Writer.AppendNewAsync(a.Id, [], None));

        var nodes = await NodesAsync(4);
        var batches = Enumerable.Range(0, 12)
            .Select(k => Enumerable.Range(0, 5).Select(i => Activity(1, T0.AddDays(k * 10).AddSeconds(i), attributes: $$"""{"k":{{k}},"i":{{i}}}""")).ToList())
            .ToList();
        var firsts = await Task.WhenAll(batches.Select((batch, k) => Task.Run(() => nodes[k % 4].Writer.AppendNewAsync(a.Id, batch, None))));

        Assert.Equal(Enumerable.Range(0, 12).Select(k => 5001L + (k * 5)), firsts.Order());
        var rows = await ReadAllPagesAsync(Stores.Pages, new ActivityPageQuery(a.Id, T0.AddDays(-1), 0, null, null, null, 1000));
        Assert.Equal(Enumerable.Range(5001, 60).Select(g => (long)g), rows.Select(r => r.MarketoGuid));
        for (var k = 0; k < 12; k++)
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(batches[k][i] with { MarketoGuid = firsts[k] + i }, rows.Single(r => r.MarketoGuid == firsts[k] + i));
            }
        }

        Assert.Equal(5060, await Activities.MaxMarketoGuidAsync(None));
        Assert.Equal(60, await Activities.CountAsync(a.Id, None));
    }

    [Fact]
    public async Task Concurrent_new_batches_on_one_node_keep_their_own_consecutive_guids_when_committed_together()
    {
        var (a, _) = await NewSubscriptionAsync();
        var (b, _) = await NewSubscriptionAsync();
        await Activities.AppendAsync(b.Id, [Activity(9000, T0)], None);

        // 48 batches of 0-299 rows in two subscriptions, all at once on one node: batches that arrive while another
        // commits go in together. One holds NUL in its text, which the embedded store cannot pass through its appender.
        var random = new Random(16);
        var batches = Enumerable.Range(0, 48).Select(k =>
        {
            var size = k == 5 ? 0 : random.Next(1, 300);
            return (Sub: k % 3 == 0 ? b.Id : a.Id, Rows: Enumerable.Range(0, size)
                .Select(i => Activity(1, T0.AddMinutes(k).AddSeconds(i), attributes: k == 7 && i == 1 ? "{\"k\":\"7\u0000\"}" : $$"""{"k":{{k}},"i":{{i}}}"""))
                .ToList());
        }).ToList();
        using var start = new ManualResetEventSlim();
        var calls = batches.Select(batch => Task.Run(() =>
        {
            start.Wait();
            return Stores.Writer.AppendNewAsync(batch.Sub, batch.Rows, None);
        })).ToArray();
        start.Set();
        var firsts = await Task.WhenAll(calls);

        // Every non-empty batch's GUIDs are consecutive, above the highest stored before, and no two batches share one.
        var taken = batches.Select((batch, k) => (First: firsts[k], batch.Rows.Count)).Where(t => t.Count > 0).OrderBy(t => t.First).ToList();
        Assert.True(taken[0].First > 9000);
        for (var i = 1; i < taken.Count; i++)
        {
            Assert.Equal(taken[i - 1].First + taken[i - 1].Count, taken[i].First);
        }

        var total = batches.Sum(batch => batch.Rows.Count);
        Assert.Equal(taken[0].First + total - 1, await Activities.MaxMarketoGuidAsync(None));
        foreach (var sub in new[] { a.Id, b.Id })
        {
            var rows = (await ReadAllPagesAsync(Stores.Pages, new ActivityPageQuery(sub, T0.AddDays(-1), 9000, null, null, null, 1000)))
                .ToDictionary(r => r.MarketoGuid);
            var expected = batches.Select((batch, k) => (batch, k)).Where(x => x.batch.Sub == sub).ToList();
            Assert.Equal(expected.Sum(x => x.batch.Rows.Count), rows.Count);
            foreach (var (batch, k) in expected)
            {
                for (var i = 0; i < batch.Rows.Count; i++)
                {
                    Assert.Equal(batch.Rows[i] with { MarketoGuid = firsts[k] + i }, rows[firsts[k] + i]);
                }
            }
        }
    }

    private static CustomActivityTypeVersion TypeVersion(string name) =>
        new(name, null, "Trigger " + name, "Filter " + name, new CustomAttributeDefinition("ref", "Ref", null, "string"), []);

    private static string Json(CustomActivityTypeVersion? version) => CustomActivityTypeJson.Serialize(version);

    /// <summary>A record with its versions as JSON (the versions' attribute lists compare by reference).</summary>
    private static object? Shape(CustomActivityTypeRecord? type) =>
        type is null ? null : (type with { Approved = null, Draft = null }, Json(type.Approved), Json(type.Draft));

    [Fact]
    public async Task Type_creation_is_atomic_about_the_limit_and_the_name()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var (other, _) = await NewSubscriptionAsync();
        var nodes = await NodesAsync(4);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => nodes[i % 4].Types.CreateAsync(sub.Id, $"type_{i}", TypeVersion($"T{i}"), 5, T0, None))));
        Assert.Equal(5, outcomes.Count(o => o.Outcome == CreateTypeOutcome.Created));
        Assert.Equal(7, outcomes.Count(o => o.Outcome == CreateTypeOutcome.LimitReached));
        var listed = await Stores.Types.ListAsync(sub.Id, None);
        Assert.Equal(Enumerable.Range(CustomActivityTypeRecord.FirstId, 5), listed.Select(t => t.Id));

        var same = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => nodes[i % 4].Types.CreateAsync(other.Id, i % 2 == 0 ? "Shared_Name" : "shared_name", TypeVersion("S"), 1027, T0, None))));
        var winner = Assert.Single(same, o => o.Outcome == CreateTypeOutcome.Created);
        Assert.All(same.Where(o => o.Outcome != CreateTypeOutcome.Created), o => Assert.Equal(CreateTypeOutcome.DuplicateApiName, o.Outcome));
        Assert.Equal(CustomActivityTypeRecord.FirstId, winner.Type!.Id);
        Assert.Null(winner.Type.Approved);
        Assert.Equal(Json(TypeVersion("S")), Json(winner.Type.Draft));
        Assert.Equal(1, winner.Type.Revision);
        Assert.Equal(T0, winner.Type.CreatedAt);
        Assert.Equal(Shape(winner.Type), Shape(await Stores.Types.FindAsync(other.Id, "SHARED_NAME", None)));

        // Ids are never reused, also after a reset.
        Assert.True(await Stores.Types.DeleteAsync(other.Id, "shared_NAME", None));
        Assert.False(await Stores.Types.DeleteAsync(other.Id, "shared_name", None));
        var again = await Stores.Types.CreateAsync(other.Id, "shared_name", TypeVersion("S"), 1027, T0, None);
        Assert.Equal(CustomActivityTypeRecord.FirstId + 1, again.Type!.Id);
        Assert.Equal(1, await Stores.Types.DeleteSubscriptionTypesAsync(other.Id, None));
        Assert.Equal(CustomActivityTypeRecord.FirstId + 2, (await Stores.Types.CreateAsync(other.Id, "x", TypeVersion("X"), 1027, T0, None)).Type!.Id);
        Assert.Equal(5, (await Stores.Types.ListAsync(sub.Id, None)).Count);
    }

    [Fact]
    public async Task Type_saves_are_a_compare_and_set_on_the_revision()
    {
        var (sub, _) = await NewSubscriptionAsync();
        var (_, created) = await Stores.Types.CreateAsync(sub.Id, "visit", TypeVersion("Visit"), 1027, T0, None);
        Assert.NotNull(created);
        var nodes = await NodesAsync(4);

        var saves = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            nodes[i % 4].Types.SaveAsync(sub.Id, "VISIT", created.Revision, TypeVersion($"V{i}"), null, T0.AddMinutes(i + 1), None))));
        var saved = Assert.Single(saves, s => s is not null)!;
        Assert.Equal(2, saved.Revision);
        Assert.Null(saved.Draft);
        Assert.Equal(created.CreatedAt, saved.CreatedAt);
        Assert.Equal(Shape(saved), Shape(await Stores.Types.FindAsync(sub.Id, "visit", None)));

        Assert.Null(await Stores.Types.SaveAsync(sub.Id, "visit", created.Revision, null, TypeVersion("Late"), T0.AddHours(1), None));
        Assert.Null(await Stores.Types.SaveAsync(sub.Id, "missing", 1, null, TypeVersion("M"), T0.AddHours(1), None));
        var next = await Stores.Types.SaveAsync(sub.Id, "visit", saved.Revision, saved.Approved, TypeVersion("Draft"), T0.AddHours(2), None);
        Assert.NotNull(next);
        Assert.Equal((3L, T0.AddHours(2)), (next.Revision, next.UpdatedAt));
        Assert.Equal(Json(TypeVersion("Draft")), Json(next.Draft));
        Assert.Equal(Json(saved.Approved), Json(next.Approved));
    }

    private sealed class StopReadingException : Exception
    {
    }
}
