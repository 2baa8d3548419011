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

        if (member is not ("createdAt" or "updatedAt"))
        {
            // Lists are looked up by id or name; this subscription has none the extract can read.
            return (null, ListNotFound(filter, member));
        }

        if (ReadWindow(filter, member, limits.MaxWindowDays, out var window) is { } windowError)
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

        var kind = member == "createdAt" ? LeadExtractFilterKind.CreatedAt : LeadExtractFilterKind.FieldsUpdatedAt;
        return (new LeadExtractSpec(kind, window.StartAt, window.EndAt, fields, headers, format), null);
    }

    private static MarketoError ListNotFound(JsonElement filter, string member)
    {
        var value = filter.GetProperty(member);
        var isId = member.EndsWith("Id", StringComparison.Ordinal);
        if (isId ? value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out _) : value.ValueKind != JsonValueKind.String)
        {
            return Invalid("filter", $"{member} must be {(isId ? "an integer" : "a string")}");
        }

        return MarketoErrors.InvalidData(member.StartsWith("static", StringComparison.Ordinal) ? "Static list not found" : "Smart list not found");
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
