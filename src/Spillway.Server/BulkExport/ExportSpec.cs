using Spillway.Server.Hosting;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>A validated export request, as stored with its job and read by the worker.</summary>
public sealed record ExportSpec(
    DateTimeOffset StartAt,
    DateTimeOffset EndAt,
    IReadOnlyList<int>? ActivityTypeIds,
    IReadOnlyList<long>? PrimaryAttributeValueIds,
    IReadOnlyList<string>? PrimaryAttributeValues,
    IReadOnlyList<string> Fields,
    IReadOnlyDictionary<string, string>? ColumnHeaderNames,
    ExportFormat Format)
{
    public string ToJson() => JsonSerializer.Serialize(this, ExportSpecJson.Default.ExportSpec);

    public static ExportSpec FromJson(string json) =>
        JsonSerializer.Deserialize(json, ExportSpecJson.Default.ExportSpec) ?? throw new InvalidDataException("Empty export spec.");

    public static string FormatName(ExportFormat format) => ExportFileFormats.ToWireName(format);
}

[JsonSerializable(typeof(ExportSpec))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class ExportSpecJson : JsonSerializerContext;

/// <summary>
/// Validates a create body (decisions 12-18). Every failure is a 1003 whose message names the member and the
/// rule, in the style Marketo uses: <c>Invalid value specified for attribute 'filter': ...</c>.
/// </summary>
public static class ExportRequestParser
{
    private const int MaxPrimaryAttributeValues = 50;

    public static (ExportSpec? Spec, MarketoError? Error) Parse(JsonElement body, EffectiveLimits limits, Func<int, bool> isKnownType)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Invalid("body", "the request body must be a JSON object");
        }

        // format
        var format = ExportFormat.Csv;
        if (body.TryGetProperty("format", out var formatElement) && formatElement.ValueKind != JsonValueKind.Null)
        {
            if (formatElement.ValueKind != JsonValueKind.String)
            {
                return Invalid("format", "format must be one of CSV, TSV, SSV");
            }

            if (!ExportFileFormats.TryParse(formatElement.GetString(), out format))
            {
                return Invalid("format", $"'{MarketoHttp.Clip(formatElement.GetString())}' is not one of CSV, TSV, SSV");
            }
        }

        // filter
        if (!body.TryGetProperty("filter", out var filter) || filter.ValueKind != JsonValueKind.Object)
        {
            return Invalid("filter", "filter is required and must be an object");
        }

        if (!filter.TryGetProperty("createdAt", out var createdAt) || createdAt.ValueKind != JsonValueKind.Object)
        {
            return Invalid("filter", "createdAt is required and must be an object with startAt and endAt");
        }

        if (!TryDate(createdAt, "startAt", out var startAt, out var startError))
        {
            return Invalid("filter", startError!);
        }

        if (!TryDate(createdAt, "endAt", out var endAt, out var endError))
        {
            return Invalid("filter", endError!);
        }

        if (startAt > endAt)
        {
            return Invalid("filter", "createdAt startAt is after endAt");
        }

        if (endAt - startAt > TimeSpan.FromDays(limits.MaxWindowDays))
        {
            return Invalid("filter", $"createdAt range exceeds {limits.MaxWindowDays} days");
        }

        // activityTypeIds
        List<int>? typeIds = null;
        if (filter.TryGetProperty("activityTypeIds", out var typesElement) && typesElement.ValueKind != JsonValueKind.Null)
        {
            if (typesElement.ValueKind != JsonValueKind.Array)
            {
                return Invalid("filter", "activityTypeIds must be an array of integers");
            }

            typeIds = [];
            foreach (var item in typesElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id))
                {
                    return Invalid("filter", "activityTypeIds must be an array of integers");
                }

                if (id == StandardActivityTypes.DeleteLead)
                {
                    return Invalid("filter", "activityTypeIds 37 (Delete Lead) is not supported; use Get Deleted Leads");
                }

                if (!isKnownType(id))
                {
                    return Invalid("filter", $"activityTypeIds {id} is not a known activity type");
                }

                if (!typeIds.Contains(id))
                {
                    typeIds.Add(id);
                }
            }

            if (typeIds.Count == 0)
            {
                typeIds = null;
            }
        }

        // primary attribute filters
        var hasIds = filter.TryGetProperty("primaryAttributeValueIds", out var pavIdsElement) && pavIdsElement.ValueKind != JsonValueKind.Null;
        var hasValues = filter.TryGetProperty("primaryAttributeValues", out var pavElement) && pavElement.ValueKind != JsonValueKind.Null;
        List<long>? pavIds = null;
        List<string>? pavValues = null;
        if (hasIds && hasValues)
        {
            return Invalid("filter", "primaryAttributeValueIds and primaryAttributeValues cannot be used together");
        }

        if (hasIds || hasValues)
        {
            var member = hasIds ? "primaryAttributeValueIds" : "primaryAttributeValues";
            var element = hasIds ? pavIdsElement : pavElement;
            if (element.ValueKind != JsonValueKind.Array)
            {
                return Invalid("filter", $"{member} must be an array");
            }

            if (element.GetArrayLength() > MaxPrimaryAttributeValues)
            {
                return Invalid("filter", $"{member} has more than {MaxPrimaryAttributeValues} values");
            }

            if (typeIds is null)
            {
                return Invalid("filter", $"{member} requires activityTypeIds");
            }

            var groups = typeIds.Select(AssetGroups.GroupOf).Distinct().ToList();
            if (groups.Count != 1 || groups[0] is not { } group)
            {
                return Invalid("filter", $"{member} requires activityTypeIds that all belong to one asset group (Change Data Value and Change Score; Change Status in Progression; Add to List and Remove from List; Fill Out Form)");
            }

            pavIds = [];
            if (hasIds)
            {
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var id))
                    {
                        return Invalid("filter", "primaryAttributeValueIds must be an array of integers");
                    }

                    pavIds.Add(id);
                }
            }
            else
            {
                pavValues = [];
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        return Invalid("filter", "primaryAttributeValues must be an array of strings");
                    }

                    var value = item.GetString()!;
                    var asset = AssetCatalog.Standard.FindByValue(group, value);
                    if (asset is null)
                    {
                        return Invalid("filter", $"primaryAttributeValues '{MarketoHttp.Clip(value)}' is not a known {group} name");
                    }

                    pavValues.Add(value);
                    pavIds.Add(asset.Id);
                }
            }
        }

        // fields
        List<string> fields;
        if (body.TryGetProperty("fields", out var fieldsElement) && fieldsElement.ValueKind != JsonValueKind.Null)
        {
            if (fieldsElement.ValueKind != JsonValueKind.Array)
            {
                return Invalid("fields", "fields must be an array of field names");
            }

            fields = [];
            foreach (var item in fieldsElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || !ExportFields.TryParse(item.GetString()!, out var field))
                {
                    return Invalid("fields", $"'{MarketoHttp.Clip(item.ToString())}' is not an exportable field");
                }

                var name = ExportFields.WireName(field);
                if (fields.Contains(name))
                {
                    return Invalid("fields", $"'{name}' is listed twice");
                }

                fields.Add(name);
            }

            if (fields.Count == 0)
            {
                return Invalid("fields", "fields must name at least one field");
            }
        }
        else
        {
            fields = [.. ExportFields.Default.Select(ExportFields.WireName)];
        }

        // columnHeaderNames
        Dictionary<string, string>? headers = null;
        if (body.TryGetProperty("columnHeaderNames", out var headersElement) && headersElement.ValueKind != JsonValueKind.Null)
        {
            if (headersElement.ValueKind != JsonValueKind.Object)
            {
                return Invalid("columnHeaderNames", "columnHeaderNames must be an object of field name to header text");
            }

            headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in headersElement.EnumerateObject())
            {
                if (!fields.Contains(property.Name))
                {
                    return Invalid("columnHeaderNames", $"'{MarketoHttp.Clip(property.Name)}' is not a field of this export");
                }

                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    return Invalid("columnHeaderNames", $"the header of '{property.Name}' must be a string");
                }

                headers[property.Name] = property.Value.GetString()!;
            }
        }

        return (new ExportSpec(startAt, endAt, typeIds, pavIds, pavValues, fields, headers, format), null);
    }

    private static bool TryDate(JsonElement createdAt, string member, out DateTimeOffset value, out string? error)
    {
        value = default;
        error = null;
        if (!createdAt.TryGetProperty(member, out var element) || element.ValueKind != JsonValueKind.String)
        {
            error = $"createdAt.{member} is required and must be an ISO-8601 date-time";
            return false;
        }

        if (!MarketoDateTime.TryParse(element.GetString()!, out value))
        {
            error = $"createdAt.{member} '{MarketoHttp.Clip(element.GetString())}' is not a valid ISO-8601 date-time";
            return false;
        }

        return true;
    }

    private static (ExportSpec?, MarketoError?) Invalid(string attribute, string rule) =>
        (null, MarketoErrors.InvalidData($"Invalid value specified for attribute '{attribute}': {rule}"));
}
