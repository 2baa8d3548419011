using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

/// <summary><c>POST /_spillway/admin/snapshot</c>: the whole data folder of a running server as one <c>.tar.gz</c>.</summary>
internal static class SnapshotEndpoints
{
    public static void MapSnapshotEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup(AdminEndpoints.Prefix).WithTags("Admin").AddEndpointFilter<AdminKeyFilter>()
            .MapPost("/snapshot", Save).WithName("AdminSaveSnapshot")
            .WithSummary("A consistent copy of the embedded store and its export files, as .tar.gz (spillway snapshot save).");
    }

    internal static Results<PushStreamHttpResult, ProblemHttpResult> Save(IStoreSnapshot snapshot, ExportFileStore files,
        IOptions<SpillwayOptions> options, TimeProvider time)
    {
        if (snapshot.Unsupported is { } reason)
        {
            return TypedResults.Problem(reason, statusCode: StatusCodes.Status501NotImplemented);
        }

        var name = $"spillway-snapshot-{time.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}.tar.gz";
        return TypedResults.Stream(
            body => SnapshotArchive.WriteAsync(snapshot, files, options.Value.DataPath, body, CancellationToken.None),
            "application/gzip", name);
    }
}
