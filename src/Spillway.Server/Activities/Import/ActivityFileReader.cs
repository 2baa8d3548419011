using Spillway.Server.Hosting;
using System.Buffers.Text;
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
        var parser = new DelimitedParser(stream, delimiter);
        if (!parser.Next())
        {
            throw new ImportFormatException("The file is empty: a header line of export field names comes first.");
        }

        var columns = new ExportField[parser.FieldCount];
        for (var i = 0; i < parser.FieldCount; i++)
        {
            var name = parser.Text(i);
            if (!ExportFields.TryParse(name, out columns[i]))
            {
                throw new ImportFormatException($"Line 1: '{MarketoHttp.Clip(name)}' is not an export field (expected names like marketoGUID, leadId, activityDate, activityTypeId, attributes).");
            }

            if (Array.IndexOf(columns, columns[i], 0, i) >= 0)
            {
                throw new ImportFormatException($"Line 1: '{name}' is listed twice.");
            }
        }

        foreach (var required in new[] { ExportField.MarketoGuid, ExportField.LeadId, ExportField.ActivityDate, ExportField.ActivityTypeId })
        {
            if (Array.IndexOf(columns, required) < 0)
            {
                throw new ImportFormatException($"Line 1: the column {ExportFields.WireName(required)} is required.");
            }
        }

        while (parser.Next())
        {
            var line = parser.RecordLine;
            if (parser.FieldCount == 1 && parser.Length(0) == 0 && !parser.Quoted(0))
            {
                continue; // a blank line
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

    private static (ActivityRecord?, string?) Convert(DelimitedParser p, ExportField[] columns)
    {
        long guid = 0, lead = 0;
        long? campaign = null, primaryId = null;
        var type = 0;
        var date = default(DateTimeOffset);
        string? primary = null, actionResult = null;
        var attributes = "{}";
        for (var i = 0; i < columns.Length; i++)
        {
            var isNull = p.IsNullWord(i);
            var field = columns[i];
            switch (field)
            {
                case ExportField.MarketoGuid:
                    if (isNull || !p.TryInt64(i, out guid) || guid <= 0)
                    {
                        return (null, Bad(p, i, "marketoGUID", "a positive integer"));
                    }

                    break;
                case ExportField.LeadId:
                    if (isNull || !p.TryInt64(i, out lead))
                    {
                        return (null, Bad(p, i, "leadId", "an integer"));
                    }

                    break;
                case ExportField.ActivityDate:
                    if (isNull || !p.TryDate(i, out date))
                    {
                        return (null, Bad(p, i, "activityDate", "an ISO-8601 date-time"));
                    }

                    break;
                case ExportField.ActivityTypeId:
                    if (isNull || !p.TryInt64(i, out var t) || t is <= 0 or > int.MaxValue)
                    {
                        return (null, Bad(p, i, "activityTypeId", "a positive integer"));
                    }

                    type = (int)t;
                    break;
                case ExportField.CampaignId:
                    if (!isNull)
                    {
                        if (!p.TryInt64(i, out var c))
                        {
                            return (null, Bad(p, i, "campaignId", "an integer or null"));
                        }

                        campaign = c;
                    }

                    break;
                case ExportField.PrimaryAttributeValueId:
                    if (!isNull)
                    {
                        if (!p.TryInt64(i, out var v))
                        {
                            return (null, Bad(p, i, "primaryAttributeValueId", "an integer or null"));
                        }

                        primaryId = v;
                    }

                    break;
                case ExportField.PrimaryAttributeValue:
                    primary = isNull ? null : p.Text(i);
                    break;
                case ExportField.ActionResult:
                    actionResult = isNull ? null : p.Text(i);
                    break;
                case ExportField.Attributes:
                    if (!isNull)
                    {
                        if (!IsJsonObject(p.Bytes(i)))
                        {
                            return (null, Bad(p, i, "attributes", "a JSON object"));
                        }

                        attributes = p.Text(i);
                    }

                    break;
            }
        }

        return (new ActivityRecord(guid, lead, date, type, campaign, primaryId, primary, attributes, actionResult), null);
    }

    private static string Bad(DelimitedParser p, int i, string column, string expected) =>
        $"{column} '{MarketoHttp.Clip(p.Text(i))}' is not {expected}";

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

        if (!TryLong(e, "marketoGUID", out var guid) || guid is not > 0)
        {
            return (null, "marketoGUID must be a positive integer (number or string)");
        }

        if (!TryLong(e, "leadId", out var lead) || lead is null)
        {
            return (null, "leadId must be an integer");
        }

        if (!e.TryGetProperty("activityDate", out var d) || d.ValueKind != JsonValueKind.String || !MarketoDateTime.TryParse(d.GetString()!, out var date))
        {
            return (null, "activityDate must be an ISO-8601 date-time string");
        }

        if (!TryLong(e, "activityTypeId", out var type) || type is not (> 0 and <= int.MaxValue))
        {
            return (null, "activityTypeId must be a positive integer");
        }

        if (!TryLong(e, "campaignId", out var campaign))
        {
            return (null, "campaignId must be an integer or null");
        }

        if (!TryLong(e, "primaryAttributeValueId", out var primaryId))
        {
            return (null, "primaryAttributeValueId must be an integer or null");
        }

        if (!TryText(e, "primaryAttributeValue", out var primary) || !TryText(e, "actionResult", out var actionResult))
        {
            return (null, "primaryAttributeValue and actionResult must be strings or null");
        }

        var attributes = "{}";
        if (e.TryGetProperty("attributes", out var a) && a.ValueKind != JsonValueKind.Null)
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

    /// <summary>
    /// A streaming RFC 4180 parser over bytes: one record at a time (quoted fields may span lines), fields unquoted
    /// into one reusable buffer. CRLF ends a line like LF; any other CR is data.
    /// </summary>
    private sealed class DelimitedParser(Stream stream, byte delimiter)
    {
        private readonly byte[] _input = new byte[1 << 20];
        private int _inputPos;
        private int _inputLen;
        private bool _eof;
        private byte[] _row = new byte[4096];
        private int _rowLen;
        private int[] _starts = new int[16];
        private int[] _lengths = new int[16];
        private bool[] _quoted = new bool[16];
        private long _line = 1;

        public int FieldCount { get; private set; }

        /// <summary>The line the current record starts on.</summary>
        public long RecordLine { get; private set; }

        public ReadOnlySpan<byte> Bytes(int i) => _row.AsSpan(_starts[i], _lengths[i]);

        public int Length(int i) => _lengths[i];

        public bool Quoted(int i) => _quoted[i];

        public string Text(int i) => Encoding.UTF8.GetString(Bytes(i));

        public bool IsNullWord(int i) => !_quoted[i] && Bytes(i).SequenceEqual("null"u8);

        public bool TryInt64(int i, out long value) =>
            Utf8Parser.TryParse(Bytes(i), out value, out var consumed) && consumed == _lengths[i] && consumed > 0;

        public bool TryDate(int i, out DateTimeOffset value)
        {
            var b = Bytes(i);
            // Fast path: the export's own form, yyyy-MM-ddTHH:mm:ssZ.
            if (b.Length == 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == 'Z'
                && Digits(b[..4], out var year) && Digits(b.Slice(5, 2), out var month) && Digits(b.Slice(8, 2), out var day)
                && Digits(b.Slice(11, 2), out var hour) && Digits(b.Slice(14, 2), out var minute) && Digits(b.Slice(17, 2), out var second)
                && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(Math.Max(1, year), month) && hour < 24 && minute < 60 && second < 60)
            {
                value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
                return true;
            }

            return MarketoDateTime.TryParse(Encoding.UTF8.GetString(b), out value);
        }

        private static bool Digits(ReadOnlySpan<byte> b, out int value)
        {
            value = 0;
            foreach (var c in b)
            {
                if (c is < (byte)'0' or > (byte)'9')
                {
                    return false;
                }

                value = (value * 10) + (c - '0');
            }

            return value > 0 || b.Length < 4;
        }

        /// <summary>Reads the next record; false at the end of the stream.</summary>
        public bool Next()
        {
            _rowLen = 0;
            FieldCount = 0;
            RecordLine = _line;
            if (!Fill())
            {
                return false;
            }

            StartField();
            var quoted = false;
            var inQuotes = false;
            var lastUnquotedCr = false; // the last byte put is a CR read outside quotes (so a following LF makes CRLF)
            while (true)
            {
                if (_inputPos >= _inputLen && !Fill())
                {
                    EndField(quoted);
                    return true; // the last record without LF
                }

                var b = _input[_inputPos++];
                if (inQuotes)
                {
                    if (b == (byte)'"')
                    {
                        if (_inputPos >= _inputLen && !Fill())
                        {
                            EndField(quoted);
                            return true;
                        }

                        if (_input[_inputPos] == (byte)'"')
                        {
                            _inputPos++;
                            Put(b);
                            lastUnquotedCr = false;
                        }
                        else
                        {
                            inQuotes = false;
                        }
                    }
                    else
                    {
                        if (b == (byte)'\n')
                        {
                            _line++;
                        }

                        Put(b);
                        lastUnquotedCr = false;
                    }

                    continue;
                }

                if (b == delimiter)
                {
                    EndField(quoted);
                    StartField();
                    quoted = false;
                }
                else if (b == (byte)'\n')
                {
                    _line++;
                    if (lastUnquotedCr && _rowLen > _starts[FieldCount] && _row[_rowLen - 1] == (byte)'\r')
                    {
                        _rowLen--; // CRLF
                    }

                    EndField(quoted);
                    return true;
                }
                else if (b == (byte)'"' && _rowLen == _starts[FieldCount] && !quoted)
                {
                    quoted = true;
                    inQuotes = true;
                }
                else
                {
                    Put(b);
                    lastUnquotedCr = b == (byte)'\r';
                    continue;
                }

                lastUnquotedCr = false;
            }
        }

        private bool Fill()
        {
            if (_inputPos < _inputLen)
            {
                return true;
            }

            if (_eof)
            {
                return false;
            }

            _inputLen = stream.Read(_input, 0, _input.Length);
            _inputPos = 0;
            if (_inputLen == 0)
            {
                _eof = true;
                return false;
            }

            return true;
        }

        private void StartField()
        {
            if (FieldCount == _starts.Length)
            {
                Array.Resize(ref _starts, FieldCount * 2);
                Array.Resize(ref _lengths, FieldCount * 2);
                Array.Resize(ref _quoted, FieldCount * 2);
            }

            _starts[FieldCount] = _rowLen;
        }

        private void EndField(bool quoted)
        {
            _lengths[FieldCount] = _rowLen - _starts[FieldCount];
            _quoted[FieldCount] = quoted;
            FieldCount++;
        }

        private void Put(byte b)
        {
            if (_rowLen == _row.Length)
            {
                Array.Resize(ref _row, _row.Length * 2);
            }

            _row[_rowLen++] = b;
        }
    }
}
