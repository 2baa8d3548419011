using System.Text.Json;
using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.BulkExport.ExtractRequestRules;

namespace Spillway.Server.Activities.Export;

/// <summary>A validated activity export request, as stored with its job and read by the worker.</summary>
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
}

[JsonSerializable(typeof(ExportSpec))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class ExportSpecJson : JsonSerializerContext;

/// <summary>
/// Validates an activity export create body, one step per member in this order: the body, <c>format</c>, the
/// <c>createdAt</c> window (at most the subscription's window days), <c>activityTypeIds</c>, the primary attribute
/// filter, <c>fields</c>, <c>columnHeaderNames</c>. The first failing step answers; every failure is a 1003 naming the
/// member and the rule.
/// </summary>
public static class ExportRequestParser
{
    private const int MaxPrimaryAttributeValues = 50;

    /// <summary>The asset groups a primary attribute filter may target, as its error message lists them.</summary>
    private const string AssetGroupNames =
        "Change Data Value and Change Score; Change Status in Progression; Add to List and Remove from List; Fill Out Form";

    public static (ExportSpec? Spec, MarketoError? Error) Parse(JsonElement body, EffectiveLimits limits, Func<int, bool> isKnownType)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(isKnownType);
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

        if (ReadWindow(filter, "createdAt", limits.MaxWindowDays, out var createdAt) is { } windowError)
        {
            return (null, windowError);
        }

        if (ReadActivityTypeIds(filter, isKnownType, out var typeIds) is { } typesError)
        {
            return (null, typesError);
        }

        if (ReadPrimaryAttributeFilter(filter, typeIds, out var assetIds, out var assetNames) is { } assetError)
        {
            return (null, assetError);
        }

        if (ReadFields(body, out var fields) is { } fieldsError)
        {
            return (null, fieldsError);
        }

        if (ReadColumnHeaderNames(body, fields, out var headers) is { } headersError)
        {
            return (null, headersError);
        }

        return (new ExportSpec(createdAt.StartAt, createdAt.EndAt, typeIds, assetIds, assetNames, fields, headers, format), null);
    }

    /// <summary>
    /// <c>activityTypeIds</c>, when present and not null: integers naming known types, Delete Lead (37) excepted; duplicates
    /// are dropped, and an empty list means every type (null).
    /// </summary>
    private static MarketoError? ReadActivityTypeIds(JsonElement filter, Func<int, bool> isKnownType, out List<int>? typeIds)
    {
        typeIds = null;
        if (!filter.TryGetProperty("activityTypeIds", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return Invalid("filter", "activityTypeIds must be an array of integers");
        }

        var ids = new List<int>();
        foreach (var item in element.EnumerateArray())
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

            if (!ids.Contains(id))
            {
                ids.Add(id);
            }
        }

        typeIds = ids.Count == 0 ? null : ids;
        return null;
    }

    /// <summary>
    /// <c>primaryAttributeValueIds</c> or <c>primaryAttributeValues</c> (not both): at most 50 asset ids or names, with
    /// <c>activityTypeIds</c> that all belong to one asset group. A name is resolved to its asset id in that group.
    /// </summary>
    private static MarketoError? ReadPrimaryAttributeFilter(JsonElement filter, List<int>? typeIds, out List<long>? assetIds, out List<string>? assetNames)
    {
        assetIds = null;
        assetNames = null;
        var hasIds = filter.TryGetProperty("primaryAttributeValueIds", out var idsElement) && idsElement.ValueKind != JsonValueKind.Null;
        var hasNames = filter.TryGetProperty("primaryAttributeValues", out var namesElement) && namesElement.ValueKind != JsonValueKind.Null;
        if (hasIds && hasNames)
        {
            return Invalid("filter", "primaryAttributeValueIds and primaryAttributeValues cannot be used together");
        }

        if (!hasIds && !hasNames)
        {
            return null;
        }

        var member = hasIds ? "primaryAttributeValueIds" : "primaryAttributeValues";
        var element = hasIds ? idsElement : namesElement;
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
            return Invalid("filter", $"{member} requires activityTypeIds that all belong to one asset group ({AssetGroupNames})");
        }

        return hasIds
            ? ReadAssetIds(element, out assetIds)
            : ReadAssetNames(element, group, out assetIds, out assetNames);
    }

    private static MarketoError? ReadAssetIds(JsonElement element, out List<long>? assetIds)
    {
        assetIds = null;
        var ids = new List<long>();
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var id))
            {
                return Invalid("filter", "primaryAttributeValueIds must be an array of integers");
            }

            ids.Add(id);
        }

        assetIds = ids;
        return null;
    }

    private static MarketoError? ReadAssetNames(JsonElement element, AssetGroup group, out List<long>? assetIds, out List<string>? assetNames)
    {
        assetIds = null;
        assetNames = null;
        var ids = new List<long>();
        var names = new List<string>();
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return Invalid("filter", "primaryAttributeValues must be an array of strings");
            }

            var name = item.GetString()!;
            if (AssetCatalog.Standard.FindByValue(group, name) is not { } asset)
            {
                return Invalid("filter", $"primaryAttributeValues '{MarketoHttp.Clip(name)}' is not a known {group} name");
            }

            names.Add(name);
            ids.Add(asset.Id);
        }

        (assetIds, assetNames) = (ids, names);
        return null;
    }

    /// <summary>
    /// <c>fields</c>, when present and not null: at least one exportable column, each named once, in file order;
    /// otherwise the default columns.
    /// </summary>
    private static MarketoError? ReadFields(JsonElement body, out List<string> fields)
    {
        fields = [.. ExportFields.Default.Select(ExportFields.WireName)];
        if (!body.TryGetProperty("fields", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return Invalid("fields", "fields must be an array of field names");
        }

        var names = new List<string>();
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !ExportFields.TryParse(item.GetString()!, out var field))
            {
                return Invalid("fields", $"'{MarketoHttp.Clip(item.ToString())}' is not an exportable field");
            }

            var name = ExportFields.WireName(field);
            if (names.Contains(name))
            {
                return Invalid("fields", $"'{name}' is listed twice");
            }

            names.Add(name);
        }

        if (names.Count == 0)
        {
            return Invalid("fields", "fields must name at least one field");
        }

        fields = names;
        return null;
    }
}
