using System.Text.Json;
using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.BulkExport.ExtractRequestRules;

namespace Spillway.Server.Leads.Export;

/// <summary>A validated lead extract request, as stored with its job and read by the worker.</summary>
public sealed record LeadExtractSpec(
    LeadExtractFilterKind Filter,
    DateTimeOffset StartAt,
    DateTimeOffset EndAt,
    IReadOnlyList<string> Fields,
    IReadOnlyDictionary<string, string>? ColumnHeaderNames,
    ExportFormat Format)
{
    /// <summary>The static or smart list of a list filter (resolved from its name when the job is created).</summary>
    public long? ListId { get; init; }

    /// <summary>A list filter's name as the request gave it, until it is resolved to <see cref="ListId"/>.</summary>
    public string? ListName { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, LeadExtractSpecJson.Default.LeadExtractSpec);

    public static LeadExtractSpec FromJson(string json) =>
        JsonSerializer.Deserialize(json, LeadExtractSpecJson.Default.LeadExtractSpec) ?? throw new InvalidDataException("Empty lead extract spec.");
}

[JsonSerializable(typeof(LeadExtractSpec))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class LeadExtractSpecJson : JsonSerializerContext;

/// <summary>
/// Validates a lead extract create body, one step per member in this order: the body, <c>format</c>, the <c>filter</c>
/// (exactly one of its members), <c>fields</c>, <c>columnHeaderNames</c>. The first failing step answers: a 1003 naming
/// the member and the rule, or 1035 for a filter the subscription does not have.
/// </summary>
public static class LeadExtractRequestParser
{
    /// <summary>The filter members Marketo documents, in the order the error message lists them.</summary>
    private static readonly string[] FilterMembers = ["createdAt", "updatedAt", "staticListId", "staticListName", "smartListId", "smartListName"];

    /// <summary>Marketo's answer to the updatedAt and smart-list filters on a subscription without them.</summary>
    public static MarketoError UnsupportedFilter { get; } = new("1035", "Unsupported filter type for target subscription");

    /// <param name="body">The create body.</param>
    /// <param name="limits">The subscription's limits.</param>
    /// <param name="customFields">The subscription's custom fields, which <c>fields</c> may name as well.</param>
    public static (LeadExtractSpec? Spec, MarketoError? Error) Parse(JsonElement body, EffectiveLimits limits, IReadOnlyList<LeadColumn>? customFields = null)
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

        var given = FilterMembers.Where(m => filter.TryGetProperty(m, out var value) && value.ValueKind != JsonValueKind.Null).ToList();
        if (given.Count != 1)
        {
            return (null, Invalid("filter", $"filter must have exactly one of {string.Join(", ", FilterMembers)}"));
        }

        var member = given[0];
        if (!limits.AdvancedLeadExtractFilters && member is "updatedAt" or "smartListId" or "smartListName")
        {
            return (null, UnsupportedFilter);
        }

        var isList = member is not ("createdAt" or "updatedAt");
        ExtractWindow window = new(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
        if (isList && ListValueError(filter, member) is { } listError)
        {
            // Whether the list exists is known only to the list store; the extract kind looks it up after these rules.
            return (null, listError);
        }

        if (!isList && ReadWindow(filter, member, limits.MaxWindowDays, out window) is { } windowError)
        {
            return (null, windowError);
        }

        if (ReadFields(body, customFields, out var fields) is { } fieldsError)
        {
            return (null, fieldsError);
        }

        if (ReadColumnHeaderNames(body, fields, out var headers) is { } headersError)
        {
            return (null, headersError);
        }

        var kind = member switch
        {
            "createdAt" => LeadExtractFilterKind.CreatedAt,
            "updatedAt" => LeadExtractFilterKind.FieldsUpdatedAt,
            "staticListId" or "staticListName" => LeadExtractFilterKind.StaticList,
            _ => LeadExtractFilterKind.SmartList,
        };
        var spec = new LeadExtractSpec(kind, window.StartAt, window.EndAt, fields, headers, format);
        if (isList)
        {
            var value = filter.GetProperty(member);
            spec = member.EndsWith("Id", StringComparison.Ordinal) ? spec with { ListId = value.GetInt32() } : spec with { ListName = value.GetString() };
        }

        return (spec, null);
    }

    /// <summary>What a list filter answers when no list has its id or name (the same code and message as Marketo's).</summary>
    public static MarketoError ListNotFound(LeadExtractFilterKind kind) =>
        MarketoErrors.InvalidData(kind == LeadExtractFilterKind.StaticList ? "Static list not found" : "Smart list not found");

    private static MarketoError? ListValueError(JsonElement filter, string member)
    {
        var value = filter.GetProperty(member);
        var isId = member.EndsWith("Id", StringComparison.Ordinal);
        return (isId ? value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out _) : value.ValueKind != JsonValueKind.String)
            ? Invalid("filter", $"{member} must be {(isId ? "an integer" : "a string")}")
            : null;
    }

    /// <summary>
    /// <c>fields</c>, required: a non-empty array of REST names from the describe catalogue, each named once, in file order.
    /// Names match exactly (ordinal), as Marketo field names do.
    /// </summary>
    private static MarketoError? ReadFields(JsonElement body, IReadOnlyList<LeadColumn>? customFields, out List<string> fields)
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
            if (LeadExtractColumns.Find(name, customFields) is null)
            {
                return Invalid("fields", $"'{MarketoHttp.Clip(name)}' is not a lead field");
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
