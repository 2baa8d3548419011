using System.Text.Json;
using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Leads.Export;
using Spillway.Server.Limits;
using static Spillway.Server.BulkExport.ExtractRequestRules;

namespace Spillway.Server.Leads.Programs;

/// <summary>
/// A validated program member extract request, as stored with its job. <see cref="LeadingProgramId"/> is set when the
/// filter named <c>programIds</c>: then a <c>programId</c> column leads each row.
/// </summary>
public sealed record ProgramMemberExtractSpec(
    IReadOnlyList<long> ProgramIds,
    bool LeadingProgramId,
    IReadOnlyList<string>? StatusNames,
    bool? IsExhausted,
    string? NurtureCadence,
    DateTimeOffset? UpdatedFrom,
    DateTimeOffset? UpdatedTo,
    IReadOnlyList<string> Fields,
    IReadOnlyDictionary<string, string>? ColumnHeaderNames,
    ExportFormat Format)
{
    public string ToJson() => JsonSerializer.Serialize(this, ProgramMemberExtractSpecJson.Default.ProgramMemberExtractSpec);

    public static ProgramMemberExtractSpec FromJson(string json) =>
        JsonSerializer.Deserialize(json, ProgramMemberExtractSpecJson.Default.ProgramMemberExtractSpec)
        ?? throw new InvalidDataException("Empty program member extract spec.");
}

[JsonSerializable(typeof(ProgramMemberExtractSpec))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class ProgramMemberExtractSpecJson : JsonSerializerContext;

/// <summary>
/// Validates a program member extract create body, one step per member in this order: the body, <c>format</c>, the
/// <c>filter</c> (exactly one of <c>programId</c> and <c>programIds</c>, then <c>isExhausted</c>,
/// <c>nurtureCadence</c>, <c>statusNames</c>, <c>updatedAt</c>), <c>fields</c>, <c>columnHeaderNames</c>. The first
/// failing step answers: a 1003 naming the member and the rule, 1003 <c>Program not found</c> for a program id the
/// marketing world lacks, or 1035 for <c>updatedAt</c> on a subscription without the advanced extract filters.
/// </summary>
public static class ProgramMemberExtractRequestParser
{
    /// <summary>The most programs one <c>programIds</c> filter may name.</summary>
    public const int MaxPrograms = 10;

    public static MarketoError ProgramNotFound { get; } = MarketoErrors.InvalidData("Program not found");

    public static (ProgramMemberExtractSpec? Spec, MarketoError? Error) Parse(JsonElement body, EffectiveLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (RequireObject(body) is { } notObject)
        {
            return (null, notObject);
        }

        if (ReadFormat(body, out var format) is { } formatError)
        {
            return (null, formatError);
        }

        if (ReadFilter(body, out var filter) is { } filterError)
        {
            return (null, filterError);
        }

        if (ReadPrograms(filter, out var programs, out var leading) is { } programError)
        {
            return (null, programError);
        }

        bool? exhausted = null;
        if (Given(filter, "isExhausted", out var exhaustedElement))
        {
            if (exhaustedElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return (null, Invalid("filter", "isExhausted must be a boolean"));
            }

            exhausted = exhaustedElement.GetBoolean();
        }

        string? cadence = null;
        if (Given(filter, "nurtureCadence", out var cadenceElement))
        {
            // Marketo's field holds four letters (paus, norm); its filter table spells the first one out.
            cadence = cadenceElement.ValueKind == JsonValueKind.String ? cadenceElement.GetString() switch
            {
                "paus" or "pause" => "paus",
                "norm" => "norm",
                _ => null,
            } : null;
            if (cadence is null)
            {
                return (null, Invalid("filter", "nurtureCadence must be paus or norm"));
            }
        }

        if (ReadStatusNames(filter, programs, out var statuses) is { } statusError)
        {
            return (null, statusError);
        }

        ExtractWindow? updated = null;
        if (Given(filter, "updatedAt", out _))
        {
            if (!limits.AdvancedLeadExtractFilters)
            {
                return (null, LeadExtractRequestParser.UnsupportedFilter);
            }

            if (ReadWindow(filter, "updatedAt", limits.MaxWindowDays, out var window) is { } windowError)
            {
                return (null, windowError);
            }

            updated = window;
        }

        if (ReadFields(body, out var fields) is { } fieldsError)
        {
            return (null, fieldsError);
        }

        if (ReadColumnHeaderNames(body, fields, out var headers) is { } headersError)
        {
            return (null, headersError);
        }

        return (new ProgramMemberExtractSpec(programs, leading, statuses, exhausted, cadence, updated?.StartAt, updated?.EndAt, fields, headers, format), null);
    }

    private static bool Given(JsonElement filter, string member, out JsonElement value) =>
        filter.TryGetProperty(member, out value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>Exactly one of <c>programId</c> (an integer) and <c>programIds</c> (1 to 10 integers), each a program of the world.</summary>
    private static MarketoError? ReadPrograms(JsonElement filter, out List<long> programs, out bool leading)
    {
        programs = [];
        var hasOne = Given(filter, "programId", out var one);
        leading = Given(filter, "programIds", out var many);
        if (hasOne == leading)
        {
            return Invalid("filter", "filter must have exactly one of programId, programIds");
        }

        if (hasOne)
        {
            if (one.ValueKind != JsonValueKind.Number || !one.TryGetInt64(out var id))
            {
                return Invalid("filter", "programId must be an integer");
            }

            programs.Add(id);
        }
        else
        {
            if (many.ValueKind != JsonValueKind.Array || many.GetArrayLength() is 0 or > MaxPrograms)
            {
                return Invalid("filter", $"programIds must be an array of 1 to {MaxPrograms} program ids");
            }

            foreach (var item in many.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var id))
                {
                    return Invalid("filter", "programIds must be an array of integers");
                }

                if (!programs.Contains(id))
                {
                    programs.Add(id);
                }
            }
        }

        return programs.All(p => MarketingWorld.ProgramById(p) is not null) ? null : ProgramNotFound;
    }

    /// <summary>
    /// <c>statusNames</c>, when given: a non-empty array of status names, each a progression status of at least one of
    /// the programs (names match exactly).
    /// </summary>
    private static MarketoError? ReadStatusNames(JsonElement filter, List<long> programs, out List<string>? statuses)
    {
        statuses = null;
        if (!Given(filter, "statusNames", out var element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0 || element.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            return Invalid("filter", "statusNames must be a non-empty array of status names");
        }

        var known = programs.SelectMany(p => MarketingWorld.ProgramById(p)!.Channel.Statuses).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        statuses = [];
        foreach (var name in element.EnumerateArray().Select(e => e.GetString()!))
        {
            if (!known.Contains(name))
            {
                return Invalid("filter", $"statusNames '{MarketoHttp.Clip(name)}' is not a status of the program");
            }

            if (!statuses.Contains(name))
            {
                statuses.Add(name);
            }
        }

        return null;
    }

    /// <summary><c>fields</c>, required: a non-empty array of program member or standard lead field names, each once, in file order.</summary>
    private static MarketoError? ReadFields(JsonElement body, out List<string> fields)
    {
        fields = [];
        if (!body.TryGetProperty("fields", out var element) || element.ValueKind != JsonValueKind.Array)
        {
            return Invalid("fields", "fields is required and must be an array of field names");
        }

        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return Invalid("fields", "fields must be an array of field names");
            }

            var name = item.GetString()!;
            if (ProgramMemberFields.Find(name) is null && ProgramMemberFields.FindLead(name) is null)
            {
                return Invalid("fields", $"'{MarketoHttp.Clip(name)}' is not a program member or lead field");
            }

            if (fields.Contains(name))
            {
                return Invalid("fields", $"'{name}' is listed twice");
            }

            fields.Add(name);
        }

        return fields.Count == 0 ? Invalid("fields", "fields must name at least one field") : null;
    }
}
