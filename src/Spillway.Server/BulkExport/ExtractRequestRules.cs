using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>A date-time window of a create body's filter, both bounds inclusive.</summary>
public readonly record struct ExtractWindow(DateTimeOffset StartAt, DateTimeOffset EndAt);

/// <summary>
/// The steps of a create body that every extract kind reads alike: the body's shape, <c>format</c>, the <c>filter</c>
/// object, a date-time window in it (<c>createdAt</c>, <c>updatedAt</c>) and <c>columnHeaderNames</c>. Each step returns
/// null when the body passes it, or the 1003 to answer, whose message names the member and the rule in the style Marketo
/// uses: <c>Invalid value specified for attribute 'filter': ...</c>.
/// </summary>
public static class ExtractRequestRules
{
    /// <summary>A 1003 for <paramref name="attribute"/> breaking <paramref name="rule"/>.</summary>
    public static MarketoError Invalid(string attribute, string rule) =>
        MarketoErrors.InvalidData($"Invalid value specified for attribute '{attribute}': {rule}");

    /// <summary>The body is a JSON object.</summary>
    public static MarketoError? RequireObject(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object ? null : Invalid("body", "the request body must be a JSON object");

    /// <summary><c>format</c>: CSV, TSV or SSV in any case and with surrounding white space; CSV when absent or null.</summary>
    public static MarketoError? ReadFormat(JsonElement body, out ExportFormat format)
    {
        format = ExportFormat.Csv;
        if (!body.TryGetProperty("format", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return Invalid("format", "format must be one of CSV, TSV, SSV");
        }

        return ExportFileFormats.TryParse(element.GetString(), out format)
            ? null
            : Invalid("format", $"'{MarketoHttp.Clip(element.GetString())}' is not one of CSV, TSV, SSV");
    }

    /// <summary><c>filter</c> is present and an object.</summary>
    public static MarketoError? ReadFilter(JsonElement body, out JsonElement filter) =>
        body.TryGetProperty("filter", out filter) && filter.ValueKind == JsonValueKind.Object
            ? null
            : Invalid("filter", "filter is required and must be an object");

    /// <summary>
    /// The window <paramref name="member"/> of the filter (<c>createdAt</c>, <c>updatedAt</c>): an object with
    /// <c>startAt</c> and <c>endAt</c> ISO-8601 date-times, start not after end, at most <paramref name="maxDays"/> days apart.
    /// </summary>
    public static MarketoError? ReadWindow(JsonElement filter, string member, int maxDays, out ExtractWindow window)
    {
        window = default;
        if (!filter.TryGetProperty(member, out var element) || element.ValueKind != JsonValueKind.Object)
        {
            return Invalid("filter", $"{member} is required and must be an object with startAt and endAt");
        }

        if (ReadDate(element, member, "startAt", out var startAt) is { } startError)
        {
            return startError;
        }

        if (ReadDate(element, member, "endAt", out var endAt) is { } endError)
        {
            return endError;
        }

        if (startAt > endAt)
        {
            return Invalid("filter", $"{member} startAt is after endAt");
        }

        if (endAt - startAt > TimeSpan.FromDays(maxDays))
        {
            return Invalid("filter", $"{member} range exceeds {maxDays} days");
        }

        window = new ExtractWindow(startAt, endAt);
        return null;
    }

    /// <summary>
    /// <c>columnHeaderNames</c>, when present and not null: an object whose every key is one of the export's
    /// <paramref name="fields"/> and whose every value is a string.
    /// </summary>
    public static MarketoError? ReadColumnHeaderNames(JsonElement body, IReadOnlyCollection<string> fields, out Dictionary<string, string>? headers)
    {
        ArgumentNullException.ThrowIfNull(fields);
        headers = null;
        if (!body.TryGetProperty("columnHeaderNames", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return Invalid("columnHeaderNames", "columnHeaderNames must be an object of field name to header text");
        }

        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!fields.Contains(property.Name, StringComparer.Ordinal))
            {
                return Invalid("columnHeaderNames", $"'{MarketoHttp.Clip(property.Name)}' is not a field of this export");
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return Invalid("columnHeaderNames", $"the header of '{property.Name}' must be a string");
            }

            names[property.Name] = property.Value.GetString()!;
        }

        headers = names;
        return null;
    }

    private static MarketoError? ReadDate(JsonElement window, string member, string bound, out DateTimeOffset value)
    {
        value = default;
        if (!window.TryGetProperty(bound, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return Invalid("filter", $"{member}.{bound} is required and must be an ISO-8601 date-time");
        }

        if (!MarketoDateTime.TryParse(element.GetString()!, out value))
        {
            return Invalid("filter", $"{member}.{bound} '{MarketoHttp.Clip(element.GetString())}' is not a valid ISO-8601 date-time");
        }

        return null;
    }
}
