using System.Diagnostics;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Microsoft.Extensions.Options;

namespace Spillway.Server.Identity;

/// <summary>
/// The gate of every REST and bulk endpoint: the access token (601/602), the endpoint's permission (603), then the
/// subscription's call limits (607/606/615). Calls refused by the first two are not counted, as in Marketo.
/// </summary>
internal sealed class ApiAccessFilter(TokenService tokens, SubscriptionDirectory subscriptions, IApiCallLimiter limiter,
    IOptions<SpillwayOptions> options, ISubscriptionClock clock, IApiCallInterventions interventions) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        // The request log of the caller's subscription (Controls) records every call whose subscription is known.
        var started = Stopwatch.GetTimestamp();
        object? outcome = null;
        try
        {
            return outcome = await AdmitAndRunAsync(context, next);
        }
        finally
        {
            await interventions.RecordAsync(context.HttpContext, outcome, started);
        }
    }

    private async ValueTask<object?> AdmitAndRunAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var ct = http.RequestAborted;
        var (tokenText, fromQuery) = await ReadTokenAsync(http.Request, ct);
        if (fromQuery && options.Value.RejectQueryStringToken)
        {
            return Fail(http, MarketoErrors.AccessTokenInvalid);
        }

        var (state, token) = await tokens.CheckAsync(tokenText, ct);
        if (state == TokenState.Invalid || token is null)
        {
            return Fail(http, MarketoErrors.AccessTokenInvalid);
        }

        if (state == TokenState.Expired)
        {
            return Fail(http, MarketoErrors.AccessTokenExpired);
        }

        var subscription = await subscriptions.GetAsync(token.SubscriptionId, ct);
        var user = subscription is null ? null : await subscriptions.GetUserAsync(token.ApiUserId, ct);
        if (subscription is null || user is null)
        {
            return Fail(http, MarketoErrors.AccessTokenInvalid);
        }

        // From here the call is in its subscription's request log.
        interventions.Identify(http, subscription.Id, user.Email);

        var required = http.GetEndpoint()?.Metadata.GetMetadata<RequiresPermission>();
        if (required is not null && !Permissions.Grants(user.Permissions, required.Permission))
        {
            return Fail(http, MarketoErrors.AccessDenied);
        }

        var caller = new ApiCaller(user, subscription, subscriptions.LimitsOf(subscription));
        var (permit, error) = await limiter.TryAdmitAsync(caller, clock.NowOf(subscription.Id), ct);
        if (permit is null)
        {
            return Fail(http, error ?? MarketoErrors.SystemError);
        }

        await using (permit)
        {
            caller.AttachTo(http);
            var result = await interventions.ApplyFaultsAsync(http, subscription.Id, user.Id, user.Email) ?? await next(context);
            if (result is IResult inner)
            {
                // Execute inside the permit so a long file download holds its concurrency slot until it ends.
                interventions.NoteResult(http, inner);
                await inner.ExecuteAsync(http);
                return Results.Empty;
            }

            return result;
        }
    }

    private static async ValueTask<(string? Token, bool FromQuery)> ReadTokenAsync(HttpRequest request, CancellationToken ct)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (header["Bearer ".Length..].Trim(), false);
        }

        var query = request.Query["access_token"].ToString();
        if (query.Length > 0)
        {
            return (query, true);
        }

        if (request.HasFormContentType)
        {
            try
            {
                var form = await request.ReadFormAsync(ct);
                if (form.TryGetValue("access_token", out var value))
                {
                    return (value.ToString(), false);
                }
            }
            catch (Exception ex) when (ex is InvalidDataException || ex is IOException and not BadHttpRequestException) // a malformed multipart body: no form
            {
                // An unreadable form carries no token.
            }
        }

        return (null, false);
    }

    private static IResult Fail(HttpContext http, MarketoError error)
    {
        http.NoteMarketoCode(error.Code);
        return TypedResults.Json(new MarketoResponse<object> { RequestId = http.RequestId(), Success = false, Errors = [error] },
            MarketoJsonContext.Wire.MarketoResponseObject, MarketoHttp.JsonContentType);
    }
}
