using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

public sealed record CreateSubscriptionBody(string MunchkinId, string? Name);
public sealed record AddApiUserBody(string Email, IReadOnlyList<string>? Permissions, string? ClientId, string? ClientSecret);
public sealed record SeedBody(long Activities, int DaysBack = 45, int Seed = 1, long? Leads = null);
public sealed record ClockBody(DateTimeOffset? Now, double? AdvanceSeconds, bool Reset = false);
public sealed record ClockView(DateTimeOffset Now, double OffsetSeconds);
public sealed record SubscriptionView(string MunchkinId, string Name, EffectiveLimits Limits, SubscriptionLimitOverrides Overrides);
public sealed record SubscriptionListView(string MunchkinId, string Name, EffectiveLimits Limits, SubscriptionLimitOverrides Overrides, int ApiUsers, long Activities);
public sealed record ApiUserView(int Id, string Email, IReadOnlyList<string> Permissions, IReadOnlyList<string> ClientIds);
public sealed record NewApiUserView(ApiUserView User, IssuedCredential Credential);
public sealed record SeedView(long Added, long Total, long Leads = 0);

/// <summary>
/// The admin API, under a prefix Marketo never uses and closed without the admin key (header
/// <c>X-Spillway-Admin-Key</c>). Errors here are plain problem details: this is Spillway's own API, not Marketo's.
/// </summary>
internal static class AdminEndpoints
{
    public const string Prefix = "/_spillway/admin";
    public const string KeyHeader = "X-Spillway-Admin-Key";

    public static RouteGroupBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup(Prefix).WithTags("Admin").AddEndpointFilter<AdminKeyFilter>();
        admin.MapGet("/subscriptions", ListSubscriptionsAsync).WithName("AdminListSubscriptions");
        admin.MapPost("/subscriptions", CreateSubscriptionAsync).WithName("AdminCreateSubscription");
        admin.MapPut("/subscriptions/{munchkinId}/limits", SetLimitsAsync).WithName("AdminSetLimits");
        admin.MapGet("/subscriptions/{munchkinId}/users", ListUsersAsync).WithName("AdminListApiUsers");
        admin.MapPost("/subscriptions/{munchkinId}/users", AddUserAsync).WithName("AdminAddApiUser");
        admin.MapPost("/credentials/{clientId}/rotate", RotateAsync).WithName("AdminRotateSecret");
        admin.MapPost("/subscriptions/{munchkinId}/seed", SeedAsync).WithName("AdminSeed");
        admin.MapGet("/clock", GetClock).WithName("AdminGetClock");
        admin.MapPost("/clock", SetClock).WithName("AdminSetClock");
        admin.MapPost("/retention/sweep", SweepAsync).WithName("AdminSweepRetention");
        admin.MapLeadFieldAdmin();
        admin.MapImportEndpoints();
        return admin;
    }

    // The counts make the list the same whether `spillway subscription list` reads the store or this API.
    internal static async Task<Ok<List<SubscriptionListView>>> ListSubscriptionsAsync(IIdentityStore identity, IActivityStore activities,
        SubscriptionDirectory directory, CancellationToken ct)
    {
        var views = new List<SubscriptionListView>();
        foreach (var s in await identity.ListSubscriptionsAsync(ct))
        {
            var users = await identity.ListApiUsersAsync(s.Id, ct);
            views.Add(new SubscriptionListView(s.MunchkinId, s.Name, directory.LimitsOf(s), s.Overrides, users.Count, await activities.CountAsync(s.Id, ct)));
        }

        return TypedResults.Ok(views);
    }

    internal static async Task<Results<Created<SubscriptionView>, ProblemHttpResult>> CreateSubscriptionAsync(CreateSubscriptionBody body,
        SubscriptionAdmin admin, SubscriptionDirectory directory, CancellationToken ct)
    {
        var result = await admin.CreateSubscriptionAsync(body.MunchkinId ?? "", body.Name, ct);
        return result.Value is { } s
            ? TypedResults.Created($"{Prefix}/subscriptions/{s.MunchkinId}", View(s, directory))
            : Problem(result.Error);
    }

    internal static async Task<Results<Ok<SubscriptionView>, ProblemHttpResult>> SetLimitsAsync(string munchkinId, SubscriptionLimitOverrides body,
        SubscriptionAdmin admin, SubscriptionDirectory directory, CancellationToken ct)
    {
        if (LimitRanges.Check(body) is { } outOfRange)
        {
            return Problem(outOfRange);
        }

        var result = await admin.SetLimitsAsync(munchkinId, body, ct);
        return result.Value is { } s ? TypedResults.Ok(View(s, directory)) : Problem(result.Error, StatusCodes.Status404NotFound);
    }

    internal static async Task<Results<Ok<List<ApiUserView>>, ProblemHttpResult>> ListUsersAsync(string munchkinId, IIdentityStore identity, CancellationToken ct)
    {
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return Problem($"No subscription {munchkinId}.", StatusCodes.Status404NotFound);
        }

        var views = new List<ApiUserView>();
        foreach (var user in await identity.ListApiUsersAsync(subscription.Id, ct))
        {
            var credentials = await identity.ListCredentialsAsync(user.Id, ct);
            views.Add(new ApiUserView(user.Id, user.Email, user.Permissions, [.. credentials.Select(c => c.ClientId)]));
        }

        return TypedResults.Ok(views);
    }

    internal static async Task<Results<Created<NewApiUserView>, ProblemHttpResult>> AddUserAsync(string munchkinId, AddApiUserBody body,
        SubscriptionAdmin admin, CancellationToken ct)
    {
        var result = await admin.AddApiUserAsync(munchkinId, body.Email ?? "", body.Permissions ?? [Identity.Permissions.ReadOnlyActivity],
            body.ClientId, body.ClientSecret, ct);
        if (result.Error is not null)
        {
            return Problem(result.Error);
        }

        var (user, credential) = result.Value;
        return TypedResults.Created($"{Prefix}/subscriptions/{munchkinId}/users",
            new NewApiUserView(new ApiUserView(user.Id, user.Email, user.Permissions, [credential.ClientId]), credential));
    }

    internal static async Task<Results<Ok<IssuedCredential>, ProblemHttpResult>> RotateAsync(string clientId, SubscriptionAdmin admin, CancellationToken ct)
    {
        var result = await admin.RotateSecretAsync(clientId, ct);
        return result.Value is { } c ? TypedResults.Ok(c) : Problem(result.Error, StatusCodes.Status404NotFound);
    }

    internal static async Task<Results<Ok<SeedView>, ProblemHttpResult>> SeedAsync(string munchkinId, SeedBody body, SubscriptionAdmin admin,
        IIdentityStore identity, IActivityStore activities, CancellationToken ct)
    {
        var result = await admin.SeedAsync(munchkinId, body.Activities, body.Leads, body.DaysBack, body.Seed, ct);
        if (result.Error is not null)
        {
            return Problem(result.Error);
        }

        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        return TypedResults.Ok(new SeedView(result.Value!.Activities, await activities.CountAsync(subscription!.Id, ct), result.Value.Leads));
    }

    internal static Ok<ClockView> GetClock(SpillwayClock clock) => TypedResults.Ok(new ClockView(clock.GetUtcNow(), clock.Offset.TotalSeconds));

    internal static Results<Ok<ClockView>, ProblemHttpResult> SetClock(ClockBody body, SpillwayClock clock)
    {
        if (body.Now is { } wanted && !SpillwayClock.InRange(wanted))
        {
            return Problem(SpillwayClock.OutOfRangeMessage);
        }

        if (body.Reset)
        {
            clock.Reset();
        }

        if (body.Now is { } now)
        {
            clock.SetNow(now);
        }

        if (body.AdvanceSeconds is { } seconds && double.IsFinite(seconds) && Math.Abs(seconds) < 100 * 365 * 86400.0)
        {
            clock.Advance(TimeSpan.FromSeconds(seconds));
        }

        return GetClock(clock);
    }

    internal static async Task<NoContent> SweepAsync(RetentionSweeper sweeper, CancellationToken ct)
    {
        await sweeper.SweepAsync(ct);
        return TypedResults.NoContent();
    }

    private static SubscriptionView View(Subscription s, SubscriptionDirectory directory) => new(s.MunchkinId, s.Name, directory.LimitsOf(s), s.Overrides);

    private static ProblemHttpResult Problem(string? detail, int status = StatusCodes.Status400BadRequest) =>
        TypedResults.Problem(detail, statusCode: status);
}

/// <summary>Closes the admin API unless the request carries the admin key (compared in constant time).</summary>
internal sealed class AdminKeyFilter(AdminKey key) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var given = context.HttpContext.Request.Headers[AdminEndpoints.KeyHeader].ToString();
        var expected = Encoding.UTF8.GetBytes(key.Value);
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem("The admin API needs the X-Spillway-Admin-Key header.", statusCode: StatusCodes.Status401Unauthorized));
    }
}

/// <summary>The admin key: configured, or generated once and kept in the data folder (<c>admin.key</c>).</summary>
public sealed class AdminKey
{
    public AdminKey(IOptions<SpillwayOptions> options)
    {
        var configured = options.Value.AdminKey;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            Value = configured;
            Source = "configuration (Spillway:AdminKey)";
            return;
        }

        var path = Path.Combine(Path.GetFullPath(options.Value.DataPath), "admin.key");
        Source = path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path))
        {
            Value = File.ReadAllText(path).Trim();
        }

        if (string.IsNullOrEmpty(Value))
        {
            Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            File.WriteAllText(path, Value);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    public string Value { get; } = "";

    /// <summary>Where the key came from, for the start-up message (the key itself is never logged).</summary>
    public string Source { get; } = "";
}
