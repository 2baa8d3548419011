using System.Text.RegularExpressions;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Identity;
using Spillway.Server.Leads.Programs;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

/// <summary>A client id and its secret, shown once when created or rotated.</summary>
public sealed record IssuedCredential(string ClientId, string ClientSecret);

/// <summary>What a seed added: leads written (inserted or replaced) and activities appended.</summary>
public sealed record SeedResult(long Leads, long Activities);

/// <summary>The outcome of an admin operation: a value, or a reason it could not be done.</summary>
public sealed record AdminResult<T>(T? Value, string? Error)
{
    public static AdminResult<T> Ok(T value) => new(value, null);

    public static AdminResult<T> Fail(string error) => new(default, error);
}

/// <summary>
/// Managing subscriptions, API users and their credentials, and seeding demo leads and activities. Shared by the admin HTTP API
/// and the <c>spillway</c> command so both validate the same way.
/// </summary>
public sealed partial class SubscriptionAdmin(IIdentityStore identity, IActivityStore activities, ILeadStore leads, SubscriptionDirectory directory,
    TokenService tokens, TimeProvider clock, Leads.Lists.ListWorld lists, ProgramMembershipWorld programMembers)
{
    [GeneratedRegex("^[0-9]{3}-[A-Z]{3}-[0-9]{3}$")]
    private static partial Regex MunchkinPattern();

    public async Task<AdminResult<Subscription>> CreateSubscriptionAsync(string munchkinId, string? name, CancellationToken ct)
    {
        munchkinId = munchkinId.Trim().ToUpperInvariant();
        if (!MunchkinPattern().IsMatch(munchkinId))
        {
            return AdminResult<Subscription>.Fail("A munchkin id looks like 123-ABC-456.");
        }

        var created = await identity.CreateSubscriptionAsync(munchkinId, string.IsNullOrWhiteSpace(name) ? munchkinId : name.Trim(), clock.GetUtcNow(), ct);
        return created is null ? AdminResult<Subscription>.Fail($"Subscription {munchkinId} already exists.") : AdminResult<Subscription>.Ok(created);
    }

    public async Task<AdminResult<Subscription>> SetLimitsAsync(string munchkinId, SubscriptionLimitOverrides overrides, CancellationToken ct)
    {
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return AdminResult<Subscription>.Fail($"No subscription {munchkinId}.");
        }

        await identity.SetSubscriptionOverridesAsync(subscription.Id, overrides, ct);
        directory.Invalidate(subscription.Id);
        return AdminResult<Subscription>.Ok(subscription with { Overrides = overrides });
    }

    public async Task<AdminResult<(ApiUser User, IssuedCredential Credential)>> AddApiUserAsync(string munchkinId, string email,
        IReadOnlyList<string> permissions, string? clientId, string? clientSecret, CancellationToken ct)
    {
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return AdminResult<(ApiUser, IssuedCredential)>.Fail($"No subscription {munchkinId}.");
        }

        email = email.Trim();
        if (email.Length is 0 or > 254 || !email.Contains('@', StringComparison.Ordinal))
        {
            return AdminResult<(ApiUser, IssuedCredential)>.Fail("An API user needs an email address.");
        }

        var normalized = new List<string>();
        foreach (var p in permissions)
        {
            var known = Permissions.Normalize(p);
            if (known is null)
            {
                return AdminResult<(ApiUser, IssuedCredential)>.Fail($"Unknown permission '{p}'. Known: {string.Join(", ", Permissions.Known)}.");
            }

            if (!normalized.Contains(known))
            {
                normalized.Add(known);
            }
        }

        if (clientSecret is not null && (clientSecret.Length < 16 || !SecretHasher.IsAcceptable(clientSecret)))
        {
            return AdminResult<(ApiUser, IssuedCredential)>.Fail("A client secret has at least 16 characters and no control characters.");
        }

        clientId ??= SecretHasher.NewClientId();
        if (await identity.FindCredentialAsync(clientId, ct) is not null)
        {
            return AdminResult<(ApiUser, IssuedCredential)>.Fail($"Client id {clientId} is taken.");
        }

        var user = await identity.CreateApiUserAsync(subscription.Id, email, normalized, clock.GetUtcNow(), ct);
        if (user is null)
        {
            return AdminResult<(ApiUser, IssuedCredential)>.Fail($"{email} is already an API user of {subscription.MunchkinId}.");
        }

        var credential = await AddCredentialAsync(user, clientId, clientSecret, ct);
        return AdminResult<(ApiUser, IssuedCredential)>.Ok((user, credential));
    }

    public async Task<AdminResult<IssuedCredential>> AddCredentialAsync(string munchkinId, string email, CancellationToken ct)
    {
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        var user = subscription is null ? null : await identity.FindApiUserAsync(subscription.Id, email, ct);
        return user is null
            ? AdminResult<IssuedCredential>.Fail($"No API user {email} in {munchkinId}.")
            : AdminResult<IssuedCredential>.Ok(await AddCredentialAsync(user, SecretHasher.NewClientId(), null, ct));
    }

    public async Task<AdminResult<IssuedCredential>> RotateSecretAsync(string clientId, CancellationToken ct)
    {
        var secret = SecretHasher.NewSecret();
        if (!await identity.ReplaceSecretAsync(clientId, SecretHasher.Hash(secret), ct))
        {
            return AdminResult<IssuedCredential>.Fail($"No client id {clientId}.");
        }

        tokens.ClearCache();
        return AdminResult<IssuedCredential>.Ok(new IssuedCredential(clientId, secret));
    }

    /// <summary>Seeds a subscription by munchkin id; <paramref name="leadCount"/> null is one lead per eight activities.</summary>
    public async Task<AdminResult<SeedResult>> SeedAsync(string munchkinId, long count, long? leadCount, int daysBack, int seed, CancellationToken ct)
    {
        if (count is < 0 or > 100_000_000 || daysBack is < 1 or > 3650 || leadCount is < 0 or > DemoWorld.MaxLeads)
        {
            return AdminResult<SeedResult>.Fail("Seed at most 100,000,000 activities and 20,000,000 leads over 1 to 3650 days.");
        }

        if (count > 0 && leadCount == 0)
        {
            return AdminResult<SeedResult>.Fail("Activities need at least one lead to name.");
        }

        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return AdminResult<SeedResult>.Fail($"No subscription {munchkinId}.");
        }

        return AdminResult<SeedResult>.Ok(await SeedAsync(subscription, count, leadCount, daysBack, seed, progress: null, ct));
    }

    /// <summary>
    /// Generates a demo world ending now: writes its leads first (inserted or replaced by id, no activity), then appends
    /// its activities in batches; every activity names one of those leads. The same seed, counts and days give the
    /// same leads and activities, dated relative to now.
    /// </summary>
    public async Task<SeedResult> SeedAsync(Subscription subscription, long count, long? leadCount, int daysBack, int seed, IProgress<long>? progress,
        CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var to = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var from = to - TimeSpan.FromDays(daysBack);
        var world = DemoWorld.Create(seed, count, leadCount, from, to);

        var people = new List<LeadRecord>(10_000);
        long written = 0;
        foreach (var lead in world.Leads())
        {
            people.Add(lead);
            if (people.Count == people.Capacity)
            {
                await leads.PutAsync(subscription.Id, people, ct);
                written += people.Count;
                people.Clear();
            }
        }

        await leads.PutAsync(subscription.Id, people, ct);
        written += people.Count;

        var firstGuid = await activities.MaxMarketoGuidAsync(ct) + 1;
        const int batchSize = 100_000;
        var batch = new List<ActivityRecord>(batchSize);
        long added = 0;
        foreach (var activity in world.Activities(firstGuid))
        {
            batch.Add(activity);
            if (batch.Count == batchSize)
            {
                added += await activities.AppendAsync(subscription.Id, batch, ct);
                batch.Clear();
                progress?.Report(added);
            }
        }

        added += await activities.AppendAsync(subscription.Id, batch, ct);
        await lists.SeedAsync(subscription.Id, ct);
        progress?.Report(added);
        await programMembers.SeedAsync(subscription.Id, ct);
        return new SeedResult(written, added);
    }

    private async Task<IssuedCredential> AddCredentialAsync(ApiUser user, string clientId, string? clientSecret, CancellationToken ct)
    {
        var secret = clientSecret ?? SecretHasher.NewSecret();
        await identity.AddCredentialAsync(new ApiCredential(clientId, user.Id, SecretHasher.Hash(secret), clock.GetUtcNow()), ct);
        return new IssuedCredential(clientId, secret);
    }
}
