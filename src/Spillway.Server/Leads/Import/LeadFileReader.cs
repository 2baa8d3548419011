using System.Globalization;
using System.Text;
using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.Activities.Import;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Import;

/// <summary>
/// One lead of an import file. <see cref="Values"/> holds every field the record gives, by REST name, as the field's
/// kind (null clears it); a field the file does not give is not in the map and keeps its stored value.
/// <see cref="CreatedAt"/> and <see cref="UpdatedAt"/> are null when the file does not give them.
/// </summary>
public sealed record LeadImportRecord(long Id, DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt, IReadOnlyDictionary<string, object?> Values);

/// <summary>
/// Reads lead files, streaming: CSV, TSV and SSV as Bulk Lead Extract writes them (a header line of REST field names,
/// RFC 4180 quoting, the bare word <c>null</c> for a missing value), and NDJSON (one lead object per line, members
/// named by REST names, values as the REST API reads them). Every value is checked against its field's type in the
/// describe catalogue; a record that fails is reported with its line and kept out whole.
/// </summary>
public static class LeadFileReader
{
    /// <summary>
    /// Every record of the stream in file order: a lead, or the issue that kept its line out. <paramref name="custom"/>
    /// are the subscription's custom fields, which a file may name beside the standard ones.
    /// </summary>
    /// <exception cref="ImportFormatException">The header is missing, names a field twice or one that is not a lead field, or has no id.</exception>
    public static IEnumerable<(LeadImportRecord? Lead, ImportIssue? Issue)> Read(Stream stream, ActivityFileFormat format,
        IReadOnlyList<LeadColumn>? custom = null, byte ssvDelimiter = (byte)' ') =>
        format == ActivityFileFormat.Ndjson
            ? ReadNdjson(stream, custom)
            : ReadDelimited(stream, format switch { ActivityFileFormat.Csv => (byte)',', ActivityFileFormat.Tsv => (byte)'\t', _ => ssvDelimiter }, custom);

    /// <summary>What a value of the column must be, as the reasons of bad records say it.</summary>
    public static string Expected(LeadColumn column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.Kind switch
        {
            LeadValueKind.Integer => "an integer",
            LeadValueKind.Float => "a number",
            LeadValueKind.Boolean => "true or false",
            LeadValueKind.Date => "a date (yyyy-MM-dd)",
            LeadValueKind.DateTime => "an ISO-8601 date-time",
            _ when column.Field.DataType == "email" => $"ASCII text of at most {column.Field.Length} characters",
            _ when column.Field.Length is { } max => $"text of at most {max} characters without NUL",
            _ => "text without NUL",
        };
    }

    private static IEnumerable<(LeadImportRecord?, ImportIssue?)> ReadDelimited(Stream stream, byte delimiter, IReadOnlyList<LeadColumn>? custom)
    {
        using var parser = new MarketoCsvReader(stream, (char)delimiter, leaveOpen: true);
        if (!parser.Read())
        {
            throw new ImportFormatException("The file is empty: a header line of lead field names comes first.");
        }

        var columns = new LeadColumn[parser.FieldCount];
        for (var i = 0; i < parser.FieldCount; i++)
        {
            var name = parser.GetString(i);
            columns[i] = LeadExtractColumns.Find(name, custom)
                ?? throw new ImportFormatException($"Line 1: '{MarketoHttp.Clip(name)}' is not a lead field (expected REST names of the describe call, such as id, email, firstName, createdAt).");
            if (Array.FindIndex(columns, 0, i, c => c.RestName == name) >= 0)
            {
                throw new ImportFormatException($"Line 1: '{name}' is listed twice.");
            }
        }

        if (Array.FindIndex(columns, c => c.RestName == "id") < 0)
        {
            throw new ImportFormatException("Line 1: the column id is required.");
        }

        while (parser.Read())
        {
            var line = parser.RecordLine;
            if (parser.IsBlankLine)
            {
                continue;
            }

            if (parser.EndsWithoutLineBreak)
            {
                yield return (null, new ImportIssue(line, ActivityFileReader.CutShortRecord));
                continue;
            }

            if (parser.FieldCount != columns.Length)
            {
                yield return (null, new ImportIssue(line, $"expected {columns.Length} fields, found {parser.FieldCount}"));
                continue;
            }

            var (lead, error) = Convert(parser, columns);
            yield return lead is null ? (null, new ImportIssue(line, error!)) : (lead, null);
        }
    }

    private static (LeadImportRecord?, string?) Convert(MarketoCsvReader p, LeadColumn[] columns)
    {
        long id = 0;
        DateTimeOffset? created = null, updated = null;
        var values = new Dictionary<string, object?>(columns.Length, StringComparer.Ordinal);
        for (var i = 0; i < columns.Length; i++)
        {
            var column = columns[i];
            var isNull = p.IsNull(i);
            switch (column.RestName)
            {
                case "id":
                    if (isNull || p.GetBytes(i).IsEmpty)
                    {
                        return (null, IdRequired);
                    }

                    if (!p.TryGetInt64(i, out id) || id <= 0)
                    {
                        return (null, Bad(p, i, "id", "a positive integer"));
                    }

                    break;
                case "createdAt" or "updatedAt":
                    if (!isNull)
                    {
                        if (!MarketoDateTime.TryParse(p.GetString(i), out var time))
                        {
                            return (null, Bad(p, i, column.RestName, "an ISO-8601 date-time"));
                        }

                        if (column.RestName == "createdAt")
                        {
                            created = time;
                        }
                        else
                        {
                            updated = time;
                        }
                    }

                    break;
                default:
                    if (isNull)
                    {
                        values[column.RestName] = null;
                    }
                    else if (LeadValues.TryParseText(column, p.GetString(i), out var value))
                    {
                        values[column.RestName] = value;
                    }
                    else
                    {
                        return (null, Bad(p, i, column.RestName, Expected(column)));
                    }

                    break;
            }
        }

        return (new LeadImportRecord(id, created, updated, values), null);
    }

    /// <summary>Why a record without an id is refused: the id is what makes a second import replace rather than duplicate.</summary>
    private const string IdRequired = "id is required";

    private static string Bad(MarketoCsvReader p, int i, string column, string expected) =>
        $"{column} '{MarketoHttp.Clip(p.GetString(i))}' is not {expected}";

    private static IEnumerable<(LeadImportRecord?, ImportIssue?)> ReadNdjson(Stream stream, IReadOnlyList<LeadColumn>? custom)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        long line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            (LeadImportRecord?, string?) result;
            try
            {
                using var document = JsonDocument.Parse(text);
                result = ConvertJson(document.RootElement, custom);
            }
            catch (JsonException ex)
            {
                result = (null, "not a JSON object: " + ex.Message);
            }

            yield return result.Item1 is { } lead ? (lead, null) : (null, new ImportIssue(line, result.Item2!));
        }
    }

    private static (LeadImportRecord?, string?) ConvertJson(JsonElement e, IReadOnlyList<LeadColumn>? custom)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return (null, "not a JSON object");
        }

        long? id = null;
        var idGiven = false;
        DateTimeOffset? created = null, updated = null;
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in e.EnumerateObject())
        {
            var name = property.Name;
            if (LeadExtractColumns.Find(name, custom) is not { } column)
            {
                return (null, $"'{MarketoHttp.Clip(name)}' is not a lead field");
            }

            if (!seen.Add(name))
            {
                return (null, $"'{name}' is given twice");
            }

            var v = property.Value;
            switch (name)
            {
                case "id":
                    idGiven = v.ValueKind != JsonValueKind.Null;
                    if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
                        || v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out n))
                    {
                        id = n > 0 ? n : null;
                    }

                    break;
                case "createdAt" or "updatedAt":
                    if (v.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (v.ValueKind != JsonValueKind.String || !MarketoDateTime.TryParse(v.GetString()!, out var time))
                    {
                        return (null, $"{name} must be an ISO-8601 date-time string or null");
                    }

                    if (name == "createdAt")
                    {
                        created = time;
                    }
                    else
                    {
                        updated = time;
                    }

                    break;
                default:
                    if (!LeadValues.TryRead(column, v, out var value))
                    {
                        return (null, $"{name} must be {Expected(column)}, or null");
                    }

                    values[name] = value;
                    break;
            }
        }

        return id is { } leadId
            ? (new LeadImportRecord(leadId, created, updated, values), null)
            : (null, idGiven ? "id must be a positive integer (number or string)" : IdRequired);
    }
}
