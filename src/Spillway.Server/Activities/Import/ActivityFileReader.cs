using Spillway.Server.Hosting;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.Activities.Export;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Import;

/// <summary>The file formats <c>spillway import</c> reads.</summary>
public enum ActivityFileFormat
{
    Csv,
    Tsv,
    Ssv,
    Ndjson,
}

/// <summary>A line that could not be loaded: its 1-based line number (where the record starts) and why.</summary>
public sealed record ImportIssue(long Line, string Message);

/// <summary>The file cannot be read at all (no header, unknown columns): nothing of it is loaded.</summary>
public sealed class ImportFormatException(string message) : Exception(message);

/// <summary>
/// Reads activity files in the export's own columns, streaming: CSV, TSV and SSV as the bulk export writes them
/// (header line of field names, RFC 4180 quoting, the bare word <c>null</c> for a missing value), and NDJSON (one JSON
/// object per line, members named like the columns, <c>attributes</c> as an object or as its JSON text). An export from
/// Marketo or Spillway loads back as it is; the <c>attributes</c> text of a delimited file is stored byte for byte.
/// </summary>
public static class ActivityFileReader
{
    /// <summary>
    /// Why a delimited file's last record is not loaded when no line break follows it. Exports end every record with
    /// one, so a record that runs into the end of the file may be a copy or download cut short, and loading the
    /// fragment would store a wrong value (an <c>actionResult</c> of "Succ") that a later import of the whole file
    /// skips as already present.
    /// </summary>
    internal const string CutShortRecord =
        "the file ends inside this record (no line break after it), so the file may be cut short; it is not loaded (end the line if the file is whole)";

    private static readonly JsonWriterOptions CompactWriter = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The format a file name implies (.csv, .tsv, .ssv, .ndjson/.jsonl/.json), or null.</summary>
    public static ActivityFileFormat? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => ActivityFileFormat.Csv,
        ".tsv" => ActivityFileFormat.Tsv,
        ".ssv" => ActivityFileFormat.Ssv,
        ".ndjson" or ".jsonl" or ".json" => ActivityFileFormat.Ndjson,
        _ => null,
    };

    /// <summary>Parses a format name (csv, tsv, ssv, ndjson), any case.</summary>
    public static bool TryParseFormat(string text, out ActivityFileFormat format) => Enum.TryParse(text, ignoreCase: true, out format)
        && Enum.IsDefined(format);

    /// <summary>Every record of the stream in file order: an activity, or the issue that kept its line out.</summary>
    /// <exception cref="ImportFormatException">The header is missing or names a column the export does not have.</exception>
    public static IEnumerable<(ActivityRecord? Activity, ImportIssue? Issue)> Read(Stream stream, ActivityFileFormat format, byte ssvDelimiter = (byte)' ') =>
        format == ActivityFileFormat.Ndjson
            ? ReadNdjson(stream)
            : ReadDelimited(stream, format switch { ActivityFileFormat.Csv => (byte)',', ActivityFileFormat.Tsv => (byte)'\t', _ => ssvDelimiter });

    private static IEnumerable<(ActivityRecord?, ImportIssue?)> ReadDelimited(Stream stream, byte delimiter)
    {
        // The stream is the caller's; a record that runs to the end inside quotes is taken as it is.
        using var parser = new MarketoCsvReader(stream, (char)delimiter, leaveOpen: true);
        if (!parser.Read())
        {
            throw new ImportFormatException("The file is empty: a header line of export field names comes first.");
        }

        var columns = new ExportField[parser.FieldCount];
        for (var i = 0; i < parser.FieldCount; i++)
        {
            var name = parser.GetString(i);
            if (!ExportFields.TryParse(name, out columns[i]))
            {
                throw new ImportFormatException($"Line 1: '{MarketoHttp.Clip(name)}' is not an export field (expected names like marketoGUID, leadId, activityDate, activityTypeId, attributes).");
            }

            if (Array.IndexOf(columns, columns[i], 0, i) >= 0)
            {
                throw new ImportFormatException($"Line 1: '{name}' is listed twice.");
            }
        }

        foreach (var required in ActivityExportFields.Required)
        {
            if (!ExportFields.TryParse(required, out var field) || Array.IndexOf(columns, field) < 0)
            {
                throw new ImportFormatException($"Line 1: the column {required} is required.");
            }
        }

        while (parser.Read())
        {
            var line = parser.RecordLine;
            if (parser.IsBlankLine)
            {
                continue; // a blank line
            }

            if (parser.EndsWithoutLineBreak)
            {
                yield return (null, new ImportIssue(line, CutShortRecord));
                continue;
            }

            if (parser.FieldCount != columns.Length)
            {
                yield return (null, new ImportIssue(line, $"expected {columns.Length} fields, found {parser.FieldCount}"));
                continue;
            }

            var (activity, error) = Convert(parser, columns);
            yield return activity is null ? (null, new ImportIssue(line, error!)) : (activity, null);
        }
    }

    private static (ActivityRecord?, string?) Convert(MarketoCsvReader p, ExportField[] columns)
    {
        long guid = 0, lead = 0;
        long? campaign = null, primaryId = null;
        var type = 0;
        var date = default(DateTimeOffset);
        string? primary = null, actionResult = null;
        var attributes = "{}";
        for (var i = 0; i < columns.Length; i++)
        {
            var isNull = p.IsNull(i);
            var field = columns[i];
            switch (field)
            {
                case ExportField.MarketoGuid:
                    if (isNull || !p.TryGetInt64(i, out guid) || guid <= 0)
                    {
                        return (null, Bad(p, i, ActivityExportFields.MarketoGuid, "a positive integer"));
                    }

                    break;
                case ExportField.LeadId:
                    if (isNull || !p.TryGetInt64(i, out lead))
                    {
                        return (null, Bad(p, i, ActivityExportFields.LeadId, "an integer"));
                    }

                    break;
                case ExportField.ActivityDate:
                    if (isNull || !p.TryGetDateTime(i, out date))
                    {
                        return (null, Bad(p, i, ActivityExportFields.ActivityDate, "an ISO-8601 date-time"));
                    }

                    break;
                case ExportField.ActivityTypeId:
                    if (isNull || !p.TryGetInt64(i, out var t) || t is <= 0 or > int.MaxValue)
                    {
                        return (null, Bad(p, i, ActivityExportFields.ActivityTypeId, "a positive integer"));
                    }

                    type = (int)t;
                    break;
                case ExportField.CampaignId:
                    if (!isNull)
                    {
                        if (!p.TryGetInt64(i, out var c))
                        {
                            return (null, Bad(p, i, ActivityExportFields.CampaignId, "an integer or null"));
                        }

                        campaign = c;
                    }

                    break;
                case ExportField.PrimaryAttributeValueId:
                    if (!isNull)
                    {
                        if (!p.TryGetInt64(i, out var v))
                        {
                            return (null, Bad(p, i, ActivityExportFields.PrimaryAttributeValueId, "an integer or null"));
                        }

                        primaryId = v;
                    }

                    break;
                case ExportField.PrimaryAttributeValue:
                    primary = isNull ? null : p.GetString(i);
                    break;
                case ExportField.ActionResult:
                    actionResult = isNull ? null : p.GetString(i);
                    break;
                case ExportField.Attributes:
                    if (!isNull)
                    {
                        if (!IsJsonObject(p.GetBytes(i)))
                        {
                            return (null, Bad(p, i, ActivityExportFields.Attributes, "a JSON object"));
                        }

                        attributes = p.GetString(i);
                    }

                    break;
            }
        }

        return (new ActivityRecord(guid, lead, date, type, campaign, primaryId, primary, attributes, actionResult), null);
    }

    private static string Bad(MarketoCsvReader p, int i, string column, string expected) =>
        $"{column} '{MarketoHttp.Clip(p.GetString(i))}' is not {expected}";

    private static IEnumerable<(ActivityRecord?, ImportIssue?)> ReadNdjson(Stream stream)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long line = 0;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            (ActivityRecord?, string?) result;
            try
            {
                using var document = JsonDocument.Parse(text);
                result = ConvertJson(document.RootElement, buffer);
            }
            catch (JsonException ex)
            {
                result = (null, "not a JSON object: " + ex.Message);
            }

            yield return result.Item1 is { } activity ? (activity, null) : (null, new ImportIssue(line, result.Item2!));
        }
    }

    private static (ActivityRecord?, string?) ConvertJson(JsonElement e, System.Buffers.ArrayBufferWriter<byte> buffer)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return (null, "not a JSON object");
        }

        foreach (var property in e.EnumerateObject())
        {
            if (!ExportFields.TryParse(property.Name, out _))
            {
                return (null, $"'{MarketoHttp.Clip(property.Name)}' is not an export field");
            }
        }

        if (!TryLong(e, ActivityExportFields.MarketoGuid, out var guid) || guid is not > 0)
        {
            return (null, "marketoGUID must be a positive integer (number or string)");
        }

        if (!TryLong(e, ActivityExportFields.LeadId, out var lead) || lead is null)
        {
            return (null, "leadId must be an integer");
        }

        if (!e.TryGetProperty(ActivityExportFields.ActivityDate, out var d) || d.ValueKind != JsonValueKind.String || !MarketoDateTime.TryParse(d.GetString()!, out var date))
        {
            return (null, "activityDate must be an ISO-8601 date-time string");
        }

        if (!TryLong(e, ActivityExportFields.ActivityTypeId, out var type) || type is not (> 0 and <= int.MaxValue))
        {
            return (null, "activityTypeId must be a positive integer");
        }

        if (!TryLong(e, ActivityExportFields.CampaignId, out var campaign))
        {
            return (null, "campaignId must be an integer or null");
        }

        if (!TryLong(e, ActivityExportFields.PrimaryAttributeValueId, out var primaryId))
        {
            return (null, "primaryAttributeValueId must be an integer or null");
        }

        if (!TryText(e, ActivityExportFields.PrimaryAttributeValue, out var primary) || !TryText(e, ActivityExportFields.ActionResult, out var actionResult))
        {
            return (null, "primaryAttributeValue and actionResult must be strings or null");
        }

        var attributes = "{}";
        if (e.TryGetProperty(ActivityExportFields.Attributes, out var a) && a.ValueKind != JsonValueKind.Null)
        {
            if (a.ValueKind == JsonValueKind.String && IsJsonObject(Encoding.UTF8.GetBytes(a.GetString()!)))
            {
                attributes = a.GetString()!;
            }
            else if (a.ValueKind == JsonValueKind.Object)
            {
                buffer.ResetWrittenCount();
                using (var w = new Utf8JsonWriter(buffer, CompactWriter))
                {
                    a.WriteTo(w);
                }

                attributes = buffer.WrittenCount == 2 ? "{}" : DemoRowFactory.JsonText(buffer.WrittenSpan);
            }
            else
            {
                return (null, "attributes must be a JSON object (or its JSON text)");
            }
        }

        return (new ActivityRecord(guid.Value, lead.Value, date, (int)type.Value, campaign, primaryId, primary, attributes, actionResult), null);
    }

    private static bool TryLong(JsonElement e, string name, out long? value)
    {
        value = null;
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
            || v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
        {
            value = n;
            return true;
        }

        return false;
    }

    private static bool TryText(JsonElement e, string name, out string? value)
    {
        value = null;
        if (!e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = v.GetString();
        return true;
    }

    /// <summary>Whether the bytes are exactly one JSON object (whitespace around allowed).</summary>
    internal static bool IsJsonObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
