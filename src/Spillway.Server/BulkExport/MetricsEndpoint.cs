using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// <c>GET /metrics</c>: the server's meters in the Prometheus text format. Before each scrape it reads the figures
/// that live in the store (jobs by state, each subscription's quota used today), so several nodes on one PostgreSQL
/// store report the same store-wide figures, while counters and latencies are each node's own.
/// </summary>
internal static class MetricsEndpoint
{
    public const string Path = "/metrics";

    private static readonly string[] States =
    [
        ExportJobStatuses.Created, ExportJobStatuses.Queued, ExportJobStatuses.Processing,
        ExportJobStatuses.Completed, ExportJobStatuses.Failed, ExportJobStatuses.Cancelled,
    ];

    public static void MapMetrics(this IEndpointRouteBuilder app) =>
        app.MapGet(Path, ScrapeAsync).WithTags("Operations").WithName("Metrics")
            .WithSummary("Prometheus text exposition of the server's OpenTelemetry meter (no authentication, like /health).");

    internal static async Task<ContentHttpResult> ScrapeAsync(IExportJobStore jobs, IIdentityStore identity, ISubscriptionClock clock,
        SpillwayMetrics metrics, PrometheusExposition exposition, CancellationToken ct)
    {
        var counts = await jobs.CountByStatusAsync(ct);
        var byState = States.ToDictionary(s => s, s => counts.GetValueOrDefault(s), StringComparer.Ordinal);
        var quota = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var subscription in await identity.ListSubscriptionsAsync(ct))
        {
            var dayStart = SpillwayClock.QuotaDayStart(clock.NowOf(subscription.Id));
            quota[subscription.MunchkinId] = await jobs.ExportedBytesSinceAsync(subscription.Id, dayStart, ct);
        }

        metrics.SetStoreSnapshot(byState, quota);
        return TypedResults.Text(exposition.Scrape(), PrometheusExposition.ContentType);
    }
}
