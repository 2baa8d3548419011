using System.Text.Json;
using Microsoft.Extensions.Options;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Leads.Lists;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Export;

/// <summary>
/// Bulk Lead Extract on the shared engine: <c>/bulk/v1/leads/export</c>, Read-Only Lead (or Read-Write Lead), a create
/// body of fields and one filter, and a file of the matching leads in id order with the requested columns, streamed by
/// the lead store. Its jobs share the queue, the processing slots and the daily quota with every other kind.
/// </summary>
public sealed class LeadExtract(ILeadWindowStreamer leads, IListStore lists, ILeadFieldStore fieldStore, IOptions<SpillwayOptions> options) : IExtractKind
{
    public string Name => "leads";

    public string RoutePrefix => "/bulk/v1/leads/export";

    public string Permission => Permissions.ReadOnlyLead;

    public ExtractOpenApiNames OpenApi { get; } = new("Leads", "Lead");

    public async ValueTask<CreateOutcome> ParseCreateAsync(JsonElement body, ApiCaller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var custom = await CustomColumnsAsync(caller.Subscription.Id, ct);
        var (spec, error) = LeadExtractRequestParser.Parse(body, caller.Limits, custom);
        if (spec is { Filter: LeadExtractFilterKind.StaticList or LeadExtractFilterKind.SmartList })
        {
            if (await LeadListFilters.FindListIdAsync(lists, caller.Subscription.Id, spec, ct) is not { } listId)
            {
                return CreateOutcome.Rejected(LeadExtractRequestParser.ListNotFound(spec.Filter));
            }

            spec = spec with { ListId = listId, ListName = null };
        }

        return spec is null ? CreateOutcome.Rejected(error!) : CreateOutcome.Accepted(spec.Format, spec.ToJson());
    }

    /// <summary>Custom fields are never removed, so a field a job named at create is still defined when the job runs.</summary>
    private async Task<LeadColumn[]> CustomColumnsAsync(int subscriptionId, CancellationToken ct) =>
        [.. (await fieldStore.ListCustomFieldsAsync(subscriptionId, ct)).Select(LeadCustomFields.Column)];

    public async Task<ExportFileSummary> WriteFileAsync(ExportJobRecord job, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        var spec = LeadExtractSpec.FromJson(job.SpecJson);
        using var writer = new ExportFileWriter(output, spec.Format, LeadRowWriter.ColumnNames(spec.Fields, spec.ColumnHeaderNames),
            ExportFileRules.SsvDelimiter(options.Value), writeBehind: true);
        writer.WriteHeader();
        var custom = await CustomColumnsAsync(job.SubscriptionId, ct);
        var rows = new LeadRowWriter(writer, spec.Fields, custom);
        // A list's membership is read by the one statement below, so it is the membership when the job starts processing.
        var query = new LeadExtractQuery(job.SubscriptionId, spec.Filter, spec.StartAt, spec.EndAt, spec.Fields, custom)
        {
            ListId = spec.ListId ?? 0,
            SmartListRule = spec.Filter == LeadExtractFilterKind.SmartList ? await LeadListFilters.RuleAsync(lists, job.SubscriptionId, spec.ListId!.Value, ct) : null,
        };
        await leads.StreamLeadsAsync(query, rows, ct);
        return writer.Complete();
    }
}
