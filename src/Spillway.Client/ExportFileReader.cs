using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>Options of <see cref="ExportFileReader"/>.</summary>
public sealed class ExportFileReaderOptions
{
    /// <summary>The file's format; it sets the delimiter.</summary>
    public ExportFileFormat Format { get; set; } = ExportFileFormat.Csv;

    /// <summary>A delimiter that overrides the format's (for instance <c>;</c> for a semicolon SSV); an ASCII character.</summary>
    public char? Delimiter { get; set; }

    /// <summary>
    /// The <c>columnHeaderNames</c> of the export request (field name → header text). Headers are mapped back to the
    /// field names through it, so renamed columns still fill <see cref="ExportedActivity"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string>? ColumnHeaderNames { get; set; }

    /// <summary>The longest field accepted, in UTF-8 bytes; a longer one is an error rather than unbounded memory.</summary>
    public int MaxFieldLength { get; set; } = 16 * 1024 * 1024;

    /// <summary>Leave the stream open when the reader is disposed.</summary>
    public bool LeaveOpen { get; set; }

    internal char EffectiveDelimiter => Delimiter ?? ExportFileFormats.Delimiter(Format);
}

/// <summary>
/// Reads a Bulk Activity Extract file (CSV, TSV or SSV) as a stream: the header line first, then one row at a time,
/// with memory bounded by the longest row, under the file rules of <see cref="MarketoCsvReader"/> (quoted fields may
/// hold the delimiter, doubled quotes, CR, LF, NUL and any text; the bare word <c>null</c> is a missing value, a quoted
/// <c>"null"</c> the text; a lone CR outside quotes is data; a stray quote inside a quoted field is text).
/// </summary>
public sealed class ExportFileReader : IDisposable, IAsyncDisposable
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly MarketoCsvReader _reader;
    private readonly ExportFileReaderOptions _options;
    private string[]? _headers;
    private string[]? _fields;
    private Dictionary<string, int>? _columns;
    private long _rowNumber;

    /// <summary>Creates a reader over a stream of UTF-8 text (a BOM, if any, is skipped).</summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="options">The format, header renames and limits.</param>
    public ExportFileReader(Stream stream, ExportFileReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _options = options ?? new ExportFileReaderOptions();
        _reader = new MarketoCsvReader(stream, _options.EffectiveDelimiter, _options.MaxFieldLength, _options.LeaveOpen);
    }

    /// <summary>Opens a file for reading.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">The format, header renames and limits.</param>
    /// <returns>The reader; it owns the file stream.</returns>
    public static ExportFileReader OpenFile(string path, ExportFileReaderOptions? options = null)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var effective = options ?? new ExportFileReaderOptions();
        if (effective.LeaveOpen)
        {
            effective = new ExportFileReaderOptions
            {
                Format = effective.Format,
                Delimiter = effective.Delimiter,
                ColumnHeaderNames = effective.ColumnHeaderNames,
                MaxFieldLength = effective.MaxFieldLength,
            };
        }

        return new ExportFileReader(stream, effective);
    }

    /// <summary>The header texts as they appear in the file; null until the header is read.</summary>
    public IReadOnlyList<string>? Headers => _headers;

    /// <summary>The field name of each column (headers mapped back through the rename map); null until the header is read.</summary>
    public IReadOnlyList<string>? Fields => _fields;

    /// <summary>The number of data rows read so far.</summary>
    public long RowNumber => _rowNumber;

    /// <summary>Reads the header line (once; later calls return it again).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The header texts.</returns>
    /// <exception cref="InvalidDataException">The file is empty or the header is malformed.</exception>
    public async ValueTask<IReadOnlyList<string>> ReadHeaderAsync(CancellationToken cancellationToken = default)
    {
        if (_headers is not null)
        {
            return _headers;
        }

        var row = await ReadRawRowAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException("The export file is empty: it has no header line.");
        _headers = row.Select(h => h ?? "null").ToArray();
        var reverse = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, header) in _options.ColumnHeaderNames ?? new Dictionary<string, string>())
        {
            reverse.TryAdd(header, field);
        }

        _fields = _headers.Select(h => reverse.TryGetValue(h, out var field) ? field : h).ToArray();
        _columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < _fields.Length; i++)
        {
            if (!_columns.TryAdd(_fields[i], i))
            {
                throw new InvalidDataException($"The header names the column '{_fields[i]}' twice.");
            }
        }

        return _headers;
    }

    /// <summary>
    /// Reads the next data row as text, one value per column; a bare <c>null</c> is a null value.
    /// Reads the header first if it was not read yet. Blank lines are skipped.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The values, or null at the end of the file. The array is the caller's.</returns>
    /// <exception cref="InvalidDataException">A row has another number of values than the header, or is malformed.</exception>
    public async ValueTask<string?[]?> ReadRowAsync(CancellationToken cancellationToken = default)
    {
        await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var row = await ReadRawRowAsync(cancellationToken).ConfigureAwait(false);
            if (row is null)
            {
                return null;
            }

            if (row.Length == 1 && row[0] is "" && _headers!.Length > 1)
            {
                continue; // a blank line
            }

            _rowNumber++;
            if (row.Length != _headers!.Length)
            {
                throw new InvalidDataException(
                    $"Data row {_rowNumber} has {row.Length} values; the header has {_headers.Length} columns.");
            }

            return row;
        }
    }

    /// <summary>Reads every remaining row as a typed <see cref="ExportedActivity"/>.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, in file order.</returns>
    /// <exception cref="InvalidDataException">
    /// The header lacks <c>marketoGUID</c>, <c>leadId</c>, <c>activityDate</c> or <c>activityTypeId</c>, or a value
    /// does not parse (the message names the row and column).
    /// </exception>
    public async IAsyncEnumerable<ExportedActivity> ReadRecordsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var required in ActivityExportFields.Required)
        {
            if (!_columns!.ContainsKey(required))
            {
                throw new InvalidDataException(
                    $"The export file has no '{required}' column (headers: {string.Join(", ", _headers!)}); pass the export's columnHeaderNames if it renamed columns.");
            }
        }

        while (await ReadRowAsync(cancellationToken).ConfigureAwait(false) is { } row)
        {
            yield return ToRecord(row);
        }
    }

    /// <summary>Turns a row of <see cref="ReadRowAsync"/> into a typed record.</summary>
    /// <param name="row">The row's values.</param>
    /// <returns>The record.</returns>
    public ExportedActivity ToRecord(IReadOnlyList<string?> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (_columns is null)
        {
            throw new InvalidOperationException("Read the header first.");
        }

        return new ExportedActivity
        {
            MarketoGuid = Value(row, ActivityExportFields.MarketoGuid) ?? throw Invalid(ActivityExportFields.MarketoGuid, null, "a value"),
            LeadId = Long(row, ActivityExportFields.LeadId) ?? throw Invalid(ActivityExportFields.LeadId, null, "an integer"),
            ActivityDate = Date(row, ActivityExportFields.ActivityDate),
            ActivityTypeId = (int)(Long(row, ActivityExportFields.ActivityTypeId) ?? throw Invalid(ActivityExportFields.ActivityTypeId, null, "an integer")),
            CampaignId = Long(row, ActivityExportFields.CampaignId),
            PrimaryAttributeValueId = Long(row, ActivityExportFields.PrimaryAttributeValueId),
            PrimaryAttributeValue = Value(row, ActivityExportFields.PrimaryAttributeValue),
            Attributes = Attributes(row),
            ActionResult = Value(row, ActivityExportFields.ActionResult),
        };
    }

    /// <summary>Disposes the underlying reader (and the stream unless <see cref="ExportFileReaderOptions.LeaveOpen"/>).</summary>
    public void Dispose() => _reader.Dispose();

    /// <summary>Disposes the underlying reader (and the stream unless <see cref="ExportFileReaderOptions.LeaveOpen"/>).</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync() => _reader.DisposeAsync();

    private string? Value(IReadOnlyList<string?> row, string field) =>
        _columns!.TryGetValue(field, out var index) && index < row.Count ? row[index] : null;

    private long? Long(IReadOnlyList<string?> row, string field)
    {
        var text = Value(row, field);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Invalid(field, text, "an integer");
    }

    private DateTimeOffset Date(IReadOnlyList<string?> row, string field)
    {
        var text = Value(row, field);
        return text is not null && MarketoDateTime.TryParse(text, out var value) ? value : throw Invalid(field, text, "an ISO-8601 date-time");
    }

    private JsonElement Attributes(IReadOnlyList<string?> row)
    {
        var text = Value(row, ActivityExportFields.Attributes);
        if (string.IsNullOrWhiteSpace(text))
        {
            return EmptyObject;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Data row {_rowNumber}, column 'attributes': not JSON ({ex.Message}).", ex);
        }
    }

    private InvalidDataException Invalid(string field, string? text, string expected) =>
        new($"Data row {_rowNumber}, column '{field}': expected {expected}, found {(text is null ? "null" : $"'{Shorten(text)}'")}.");

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";

    /// <summary>The next record's values (a bare <c>null</c> is null); null at the end of the stream.</summary>
    private async ValueTask<string?[]?> ReadRawRowAsync(CancellationToken cancellationToken)
    {
        if (!await _reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (_reader.EndsInsideQuotes)
        {
            throw new InvalidDataException($"The file ends inside a quoted field (data row {_rowNumber + 1}).");
        }

        var row = new string?[_reader.FieldCount];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = _reader.GetStringOrNull(i);
        }

        return row;
    }
}
