using Microsoft.AspNetCore.Routing.Patterns;
using Spillway.Contracts;

namespace Spillway.Server.Hosting;

/// <summary>Marketo's answers for paths and methods it does not serve: 610 and 605 in the envelope, HTTP 200.</summary>
internal static class MarketoFallbacks
{
    private static readonly string[] CommonMethods = [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch];
    private static readonly string[] MarketoAreas = ["/rest/", "/bulk/"];

    /// <summary>Maps the 605 and 610 answers. Call it after every REST and bulk endpoint is mapped.</summary>
    public static void MapMarketoFallbacks(this IEndpointRouteBuilder app)
    {
        MapMethodsNotSupported(app);
        app.MapFallback("/rest/{**path}", NotFound).ExcludeFromDescription();
        app.MapFallback("/bulk/{**path}", NotFound).ExcludeFromDescription();
    }

    /// <summary>
    /// Answers 605 for the common verbs a mapped REST or bulk route does not take. The routes and their verbs are read
    /// from what is mapped, so an endpoint is listed once, where it is mapped.
    /// </summary>
    private static void MapMethodsNotSupported(IEndpointRouteBuilder app)
    {
        var routes = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (route, methods) in MappedMarketoRoutes(app))
        {
            if (!routes.TryGetValue(route, out var allowed))
            {
                routes[route] = allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            }

            allowed.UnionWith(methods);
        }

        foreach (var (route, allowed) in routes)
        {
            var others = CommonMethods.Where(m => !allowed.Contains(m)).ToArray();
            if (others.Length > 0)
            {
                app.MapMethods(route, others, MethodNotSupported).ExcludeFromDescription();
            }
        }
    }

    private static List<(string Route, IReadOnlyList<string> Methods)> MappedMarketoRoutes(IEndpointRouteBuilder app) =>
        [.. app.DataSources
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .Select(endpoint => (Pattern: endpoint.RoutePattern, Methods: endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods))
            .Where(e => e.Methods is { Count: > 0 } && IsMarketoRoute(e.Pattern))
            .Select(e => (e.Pattern.RawText!, e.Methods!))];

    private static bool IsMarketoRoute(RoutePattern pattern) =>
        pattern.RawText is { } text && MarketoAreas.Any(area => text.StartsWith(area, StringComparison.OrdinalIgnoreCase));

    private static Task MethodNotSupported(HttpContext context) => MarketoHttp.WriteFailureAsync(context, MarketoErrors.MethodNotSupported);

    private static Task NotFound(HttpContext context) => MarketoHttp.WriteFailureAsync(context, MarketoErrors.NotFound);
}
