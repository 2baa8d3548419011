using System.Text.Json;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Export;

/// <summary>
/// Bulk Activity Extract on the shared engine: <c>/bulk/v1/activities/export</c>, Read-Only Activity, a create body of a
/// createdAt window with type, asset and column choices, and a file of the window's activities in activityDate, then
/// marketoGUID order, streamed by the activity store.
/// </summary>
public sealed class ActivityExtract(ActivityTypeRegistry types, IActivityWindowStreamer activities, IOptions<SpillwayOptions> options) : IExtractKind
{
    public string Name => ExportJobRecord.DefaultKind;

    public string RoutePrefix => "/bulk/v1/activities/export";

    public string Permission => Permissions.ReadOnlyActivity;

    public ExtractOpenApiNames OpenApi { get; } = new("Activities", "Activity");

    public async ValueTask<CreateOutcome> ParseCreateAsync(JsonElement body, ApiCaller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var known = await types.GetAsync(caller.Subscription.Id, ct);
        var (spec, error) = ExportRequestParser.Parse(body, caller.Limits, known.IsKnown);
        return spec is null ? CreateOutcome.Rejected(error!) : CreateOutcome.Accepted(spec.Format, spec.ToJson());
    }

    public async Task<ExportFileSummary> WriteFileAsync(ExportJobRecord job, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        var spec = ExportSpec.FromJson(job.SpecJson);
        var fields = spec.Fields.Select(FieldOf).ToList();
        var headers = spec.ColumnHeaderNames?.ToDictionary(kv => FieldOf(kv.Key), kv => kv.Value);

        using var writer = new ExportFileWriter(output, spec.Format, ActivityRowWriter.ColumnNames(fields, headers), ExportFileRules.SsvDelimiter(options.Value), writeBehind: true);
        writer.WriteHeader();
        var query = new ActivityQuery(job.SubscriptionId, spec.StartAt, spec.EndAt, spec.ActivityTypeIds, spec.PrimaryAttributeValueIds);
        await activities.StreamWindowAsync(query, new ActivityRowWriter(writer, fields), ct);
        return writer.Complete();
    }

    private static ExportField FieldOf(string name) =>
        ExportFields.TryParse(name, out var field) ? field : throw new InvalidDataException($"Unknown field {name}");
}
