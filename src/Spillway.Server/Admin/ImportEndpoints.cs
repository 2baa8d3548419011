using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Spillway.Server.Activities.Import;
using Spillway.Server.Leads.Import;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

/// <summary>One bad record of an import: its line in the file and why it was not loaded.</summary>
public sealed record ImportIssueView(long Line, string Message);

/// <summary>
/// What an import through the admin API did with one file. <c>Added</c> are new records; <c>Replaced</c> leads
/// changed by id (0 for activities); <c>Unchanged</c> records already stored as they are (activities: the same
/// marketoGUID); <c>Refused</c> bad records, the first <see cref="ImportEndpoints.IssuesReturned"/> of them in
/// <c>Issues</c> by line.
/// </summary>
public sealed record ImportView(long Read, long Added, long Replaced, long Unchanged, long Refused, IReadOnlyList<ImportIssueView> Issues);

/// <summary>
/// <c>spillway import --url</c>: loads one file, sent as the request body, into a subscription of the running server,
/// with the same readers and rules as an import into a stopped folder (idempotent by marketoGUID or lead id, a bad
/// record reported by line while the rest loads). The body is spooled to a temporary file, never held in memory, and
/// is the one admin body allowed beyond the 1 MB limit.
/// </summary>
internal static class ImportEndpoints
{
    public const int IssuesReturned = 20;

    // Hosting's AdminBodyChecks.IsImport lifts the body limit for exactly these two routes.
    private const string ActivitiesRoute = "/subscriptions/{munchkinId}/import/activities";
    private const string LeadsRoute = "/subscriptions/{munchkinId}/import/leads";

    public static void MapImportEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapPost(ActivitiesRoute, ImportActivitiesAsync).WithName("AdminImportActivities");
        admin.MapPost(LeadsRoute, ImportLeadsAsync).WithName("AdminImportLeads");
    }

    internal static Task<Results<Ok<ImportView>, ProblemHttpResult>> ImportActivitiesAsync(string munchkinId, [FromQuery] string? format,
        [FromQuery] int? batchSize, [FromQuery] bool? check, HttpRequest request, IIdentityStore identity, IActivityStore activities, CancellationToken ct) =>
        ImportAsync(munchkinId, format, batchSize ?? ActivityImporter.DefaultBatchSize, request, identity, async (subscriptionId, file, fileFormat, issues) =>
        {
            var s = await new ActivityImporter(activities).ImportAsync(subscriptionId, file, fileFormat, issues, null, ct,
                batchSize ?? ActivityImporter.DefaultBatchSize, check ?? false);
            return (s.Read, s.Added, 0, s.AlreadyPresent, s.Rejected);
        }, ct);

    internal static Task<Results<Ok<ImportView>, ProblemHttpResult>> ImportLeadsAsync(string munchkinId, [FromQuery] string? format,
        [FromQuery] int? batchSize, [FromQuery] bool? check, HttpRequest request, IIdentityStore identity, ILeadStore leads, ILeadFieldStore fields,
        TimeProvider clock, CancellationToken ct) =>
        ImportAsync(munchkinId, format, batchSize ?? LeadImporter.DefaultBatchSize, request, identity, async (subscriptionId, file, fileFormat, issues) =>
        {
            var s = await new LeadImporter(leads, clock, fields).ImportAsync(subscriptionId, file, fileFormat, issues, null, ct,
                batchSize ?? LeadImporter.DefaultBatchSize, check ?? false);
            return (s.Read, s.Added, s.Replaced, s.Unchanged, s.Refused);
        }, ct);

    private static async Task<Results<Ok<ImportView>, ProblemHttpResult>> ImportAsync(string munchkinId, string? format, int batchSize,
        HttpRequest request, IIdentityStore identity,
        Func<int, Stream, ActivityFileFormat, Action<ImportIssue>, Task<(long Read, long Added, long Replaced, long Unchanged, long Refused)>> load,
        CancellationToken ct)
    {
        if (format is null || !ActivityFileReader.TryParseFormat(format, out var fileFormat))
        {
            return Problem("The query parameter format must be csv, tsv, ssv or ndjson.");
        }

        if (batchSize < 1)
        {
            return Problem("batchSize must be at least 1.");
        }

        if (await identity.FindSubscriptionAsync(munchkinId, ct) is not { } subscription)
        {
            return Problem($"No subscription {munchkinId}.", StatusCodes.Status404NotFound);
        }

        // The readers parse synchronously on their own thread, which Kestrel's request body does not allow: the body is
        // spooled to a temporary file first (deleted when closed), so a file of any size never sits in memory.
        var spoolPath = Path.Combine(Path.GetTempPath(), $"spillway-import-{Guid.NewGuid():N}.tmp");
        await using var spool = new FileStream(spoolPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await request.Body.CopyToAsync(spool, ct);
        spool.Position = 0;

        var issues = new List<ImportIssue>();
        try
        {
            var (read, added, replaced, unchanged, refused) = await load(subscription.Id, spool, fileFormat, issue =>
            {
                // The importers report from their parsing thread.
                lock (issues)
                {
                    issues.Add(issue);
                }
            });
            List<ImportIssueView> shown;
            lock (issues)
            {
                shown = [.. issues.OrderBy(i => i.Line).Take(IssuesReturned).Select(i => new ImportIssueView(i.Line, i.Message))];
            }

            return TypedResults.Ok(new ImportView(read, added, replaced, unchanged, refused, shown));
        }
        catch (ImportFormatException ex)
        {
            // The whole file cannot be read (empty, a header that is not the export's): nothing of it was loaded.
            return Problem(ex.Message);
        }
    }

    private static ProblemHttpResult Problem(string detail, int status = StatusCodes.Status400BadRequest) =>
        TypedResults.Problem(detail: detail, statusCode: status);
}
