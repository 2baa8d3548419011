using Spillway.Contracts;

namespace Spillway.Server.Hosting;

/// <summary>Marketo's answers for paths and methods it does not serve: 610 and 605 in the envelope, HTTP 200.</summary>
internal static class MarketoFallbacks
{
    private static readonly string[] CommonMethods = [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch];

    public static void MapMarketoFallbacks(this IEndpointRouteBuilder app)
    {
        app.MapFallback("/rest/{**path}", NotFound).ExcludeFromDescription();
        app.MapFallback("/bulk/{**path}", NotFound).ExcludeFromDescription();
    }

    /// <summary>Answers 605 for the verbs a known path does not take.</summary>
    public static void MapMethodNotSupported(IEndpointRouteBuilder app, string pattern, params string[] allowed)
    {
        var others = CommonMethods.Except(allowed, StringComparer.OrdinalIgnoreCase).ToArray();
        app.MapMethods(pattern, others, (HttpContext context) => MarketoHttp.WriteFailureAsync(context, MarketoErrors.MethodNotSupported))
            .ExcludeFromDescription();
    }

    private static Task NotFound(HttpContext context) => MarketoHttp.WriteFailureAsync(context, MarketoErrors.NotFound);
}
