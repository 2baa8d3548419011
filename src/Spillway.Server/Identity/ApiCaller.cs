using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Identity;

/// <summary>Who is calling: the API user behind the access token, and the limits of their subscription.</summary>
public sealed record ApiCaller(ApiUser User, Subscription Subscription, EffectiveLimits Limits)
{
    private const string Key = "Spillway.ApiCaller";

    public static ApiCaller Of(HttpContext context) =>
        context.Items[Key] as ApiCaller ?? throw new InvalidOperationException("The endpoint is not behind the API access filter.");

    public void AttachTo(HttpContext context) => context.Items[Key] = this;
}

/// <summary>Marks an endpoint as needing a permission (603 "Access denied" otherwise).</summary>
public sealed record RequiresPermission(string Permission);
