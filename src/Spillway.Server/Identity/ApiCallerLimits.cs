using Spillway.Contracts;
using Spillway.Server.Storage;

namespace Spillway.Server.Identity;

/// <summary>The API call counters asked about an <see cref="ApiCaller"/>: its subscription, its email and its call limits.</summary>
public static class ApiCallerLimits
{
    public static CallerCallLimits CallLimits(this ApiCaller caller) =>
        new(caller.Subscription.Id, caller.User.Email, caller.Limits.Calls);

    public static ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(this IApiCallLimiter limiter, ApiCaller caller,
        DateTimeOffset now, CancellationToken ct) => limiter.TryAdmitAsync(caller.CallLimits(), now, ct);

    public static ValueTask<UsageDay> UsageAsync(this IApiCallLimiter limiter, ApiCaller caller, DateTimeOffset now, CancellationToken ct) =>
        limiter.UsageAsync(caller.CallLimits(), now, ct);
}
