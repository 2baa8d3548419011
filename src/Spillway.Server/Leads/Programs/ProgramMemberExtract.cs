using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Programs;

/// <summary>
/// Bulk Program Member Extract on the shared engine: <c>/bulk/v1/program/members/export</c>, Read-Only Lead (or
/// Read-Write Lead), a create body of fields and a filter of one or more programs, and a file of the programs' members
/// as they are when the job starts processing, ordered by program id, then lead id. Its jobs share the queue, the
/// processing slots and the daily quota with every other kind.
/// </summary>
public sealed class ProgramMemberExtract(IProgramMemberStore members, ILeadStore leads, IOptions<SpillwayOptions> options) : IExtractKind
{
    private const int PageSize = 1000;
    private static readonly byte[] True = "true"u8.ToArray();
    private static readonly byte[] False = "false"u8.ToArray();

    public string Name => "programMembers";

    public string RoutePrefix => "/bulk/v1/program/members/export";

    public string Permission => Permissions.ReadOnlyLead;

    public ExtractOpenApiNames OpenApi { get; } = new("ProgramMembers", "Program Member");

    public ValueTask<CreateOutcome> ParseCreateAsync(JsonElement body, ApiCaller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var (spec, error) = ProgramMemberExtractRequestParser.Parse(body, caller.Limits);
        return ValueTask.FromResult(spec is null ? CreateOutcome.Rejected(error!) : CreateOutcome.Accepted(spec.Format, spec.ToJson()));
    }

    public async Task<ExportFileSummary> WriteFileAsync(ExportJobRecord job, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        var spec = ProgramMemberExtractSpec.FromJson(job.SpecJson);
        List<string> columns = [.. spec.Fields.Select(f => spec.ColumnHeaderNames is not null && spec.ColumnHeaderNames.TryGetValue(f, out var h) ? h : f)];
        if (spec.LeadingProgramId)
        {
            columns.Insert(0, "programId");
        }

        using var writer = new ExportFileWriter(output, spec.Format, columns, ExportFileRules.SsvDelimiter(options.Value), writeBehind: true);
        writer.WriteHeader();
        var memberFields = spec.Fields.Select(ProgramMemberFields.Find).ToArray();
        var leadFields = spec.Fields.Select(ProgramMemberFields.FindLead).ToArray();
        var readsLeads = leadFields.Any(f => f is not null);
        var query = new ProgramMemberQuery(job.SubscriptionId, spec.ProgramIds, PageSize)
        {
            StatusNames = spec.StatusNames,
            IsExhausted = spec.IsExhausted,
            NurtureCadence = spec.NurtureCadence,
            UpdatedFrom = spec.UpdatedFrom,
            UpdatedTo = spec.UpdatedTo,
        };
        while (true)
        {
            var page = await members.ReadAsync(query, ct);
            var byLead = readsLeads
                ? (await leads.GetByIdsAsync(job.SubscriptionId, [.. page.Select(m => m.LeadId).Distinct()], ct)).ToDictionary(l => l.Id)
                : [];
            foreach (var member in page)
            {
                var program = MarketingWorld.ProgramById(member.ProgramId);
                if (program is null)
                {
                    continue;
                }

                if (spec.LeadingProgramId)
                {
                    writer.WriteInteger(member.ProgramId);
                }

                var lead = byLead.GetValueOrDefault(member.LeadId);
                for (var i = 0; i < memberFields.Length; i++)
                {
                    var value = memberFields[i] is { } field ? field.Value(member, program) : lead?.Get(leadFields[i]!.RestName);
                    WriteCell(writer, value);
                }

                writer.EndRow();
            }

            if (page.Count < PageSize)
            {
                break;
            }

            query = query with { AfterProgramId = page[^1].ProgramId, AfterLeadId = page[^1].LeadId };
        }

        return writer.Complete();
    }

    /// <summary>One cell as the other extract files write it: null when missing, true/false, ISO dates, invariant numbers.</summary>
    internal static void WriteCell(ExportFileWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteMissing();
                break;
            case long number:
                writer.WriteInteger(number);
                break;
            case bool flag:
                writer.WriteText(flag ? True : False);
                break;
            case DateTimeOffset time:
                writer.WriteDateTime(time.ToUnixTimeSeconds());
                break;
            case DateOnly date:
                writer.WriteText(Encoding.UTF8.GetBytes(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
                break;
            case double real:
                writer.WriteText(Encoding.UTF8.GetBytes(real.ToString("R", CultureInfo.InvariantCulture)));
                break;
            default:
                writer.WriteText(Encoding.UTF8.GetBytes(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
                break;
        }
    }
}
