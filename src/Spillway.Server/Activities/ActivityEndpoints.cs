using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities;

/// <summary>The REST endpoints connectors call around the bulk flow (the calls real connectors make).</summary>
internal static class ActivityEndpoints
{
    public static RouteGroupBuilder MapActivityEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1").WithTags("Activities").AddEndpointFilter<ApiAccessFilter>();

        rest.MapGet("/activities/types.json", GetTypes).WithName("getAllActivityTypesUsingGET")
            .WithSummary("Get Activity Types").WithMetadata(new RequiresPermission(Permissions.ReadOnlyActivity));
        rest.MapGet("/stats/usage.json", GetUsageAsync).WithName("getDailyUsageUsingGET")
            .WithSummary("Get Daily Usage").WithTags("Usage");

        return rest;
    }

    internal static async Task<JsonHttpResult<MarketoResponse<ActivityType>>> GetTypes(HttpContext context, ActivityTypeRegistry types)
    {
        var set = await types.GetAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return MarketoHttp.Success(context, set.All, MarketoJsonContext.Wire.MarketoResponseActivityType);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<UsageDay>>> GetUsageAsync(HttpContext context, IApiCallLimiter limiter, ISubscriptionClock clock)
    {
        var caller = ApiCaller.Of(context);
        var usage = await limiter.UsageAsync(caller, clock.NowOf(caller.Subscription.Id), context.RequestAborted);
        return MarketoHttp.Success(context, [usage], MarketoJsonContext.Wire.MarketoResponseUsageDay);
    }
}
