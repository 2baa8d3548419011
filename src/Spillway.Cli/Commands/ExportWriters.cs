using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Spillway.Client;
using Spillway.Contracts;

namespace Spillway.Cli.Commands;

/// <summary>The output formats of <c>spillway export</c>.</summary>
internal enum OutputFormat
{
    Csv,
    Tsv,
    Ssv,
    Ndjson,
    Parquet,
}

/// <summary>What an output writer wrote.</summary>
/// <param name="Rows">Data rows written.</param>
/// <param name="Duplicates">Rows left out because their marketoGUID was already written.</param>
internal sealed record OutputSummary(long Rows, long Duplicates);

/// <summary>
/// Turns the verified window files of an extraction into one output file: the server's CSV/TSV/SSV merged, NDJSON
/// (one typed object per activity) or Parquet (typed columns, attributes as a JSON string). Every writer leaves out a
/// repeated marketoGUID and writes to a temporary name that is renamed into place when complete.
/// </summary>
internal static class ExportWriters
{
    /// <summary>The columns an activity record cannot do without; NDJSON and Parquet exports always ask for them.</summary>
    public static IReadOnlyList<string> RequiredFields => ActivityExportFields.Required;

    private const int RowGroupSize = 100_000;

    public static string Extension(OutputFormat format) => format.ToString().ToLowerInvariant();

    /// <summary>The format the server writes for an output format (NDJSON and Parquet are made from CSV).</summary>
    public static ExportFileFormat ServerFormat(OutputFormat format) => format switch
    {
        OutputFormat.Tsv => ExportFileFormat.Tsv,
        OutputFormat.Ssv => ExportFileFormat.Ssv,
        _ => ExportFileFormat.Csv,
    };

    public static async Task<OutputSummary> WriteAsync(OutputFormat format, ExtractionResult result, string path, CancellationToken ct)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        switch (format)
        {
            case OutputFormat.Csv or OutputFormat.Tsv or OutputFormat.Ssv:
                var hasGuid = await HasGuidColumnAsync(result, ct);
                var merged = await BulkExtractor.MergeAsync(result, path, deduplicate: hasGuid, ct);
                return new OutputSummary(merged.RowsWritten, merged.DuplicatesSkipped);
            case OutputFormat.Ndjson:
                return await WriteNdjsonAsync(result, path, ct);
            case OutputFormat.Parquet:
                return await WriteParquetAsync(result, path, ct);
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    private static async Task<bool> HasGuidColumnAsync(ExtractionResult result, CancellationToken ct)
    {
        if (result.Windows.Count == 0)
        {
            return false;
        }

        await using var reader = ExportFileReader.OpenFile(result.Windows[0].FilePath, result.ReaderOptions());
        await reader.ReadHeaderAsync(ct);
        return reader.Fields!.Contains(ActivityExportFields.MarketoGuid, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Reads every window file once, in plan order, handing each first-seen record and the file's fields to <paramref name="row"/>.</summary>
    private static async Task<OutputSummary> ForEachRecordAsync(ExtractionResult result, Func<IReadOnlyList<string>, ExportedActivity, ValueTask> row,
        Func<IReadOnlyList<string>, ValueTask>? header, CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long written = 0, duplicates = 0;
        IReadOnlyList<string>? fields = null;
        foreach (var window in result.Windows)
        {
            await using var reader = ExportFileReader.OpenFile(window.FilePath, result.ReaderOptions());
            await reader.ReadHeaderAsync(ct);
            if (fields is null)
            {
                fields = reader.Fields!;
                if (header is not null)
                {
                    await header(fields);
                }
            }
            else if (!fields.SequenceEqual(reader.Fields!, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"{window.FilePath} has other columns than the first file.");
            }

            await foreach (var record in reader.ReadRecordsAsync(ct))
            {
                if (!seen.Add(record.MarketoGuid))
                {
                    duplicates++;
                    continue;
                }

                await row(fields, record);
                written++;
            }
        }

        if (fields is null && header is not null)
        {
            await header(RequiredFields);
        }

        return new OutputSummary(written, duplicates);
    }

    private static async Task<OutputSummary> WriteNdjsonAsync(ExtractionResult result, string path, CancellationToken ct)
    {
        var temp = path + ".part";
        OutputSummary summary;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            await using (json)
            {
                summary = await ForEachRecordAsync(result, async (fields, record) =>
                {
                    WriteJson(json, fields, record);
                    await json.FlushAsync(ct);
                    stream.WriteByte((byte)'\n');
                    json.Reset();
                }, null, ct);
            }
        }

        File.Move(temp, path, overwrite: true);
        return summary;
    }

    /// <summary>One activity as a JSON object: the exported fields, typed, in file order; attributes as an object.</summary>
    internal static void WriteJson(Utf8JsonWriter json, IReadOnlyList<string> fields, ExportedActivity record)
    {
        json.WriteStartObject();
        foreach (var field in fields)
        {
            switch (Canonical(field))
            {
                case ActivityExportFields.MarketoGuid:
                    json.WriteString(ActivityExportFields.MarketoGuid, record.MarketoGuid);
                    break;
                case ActivityExportFields.LeadId:
                    json.WriteNumber(ActivityExportFields.LeadId, record.LeadId);
                    break;
                case ActivityExportFields.ActivityDate:
                    json.WriteString(ActivityExportFields.ActivityDate, record.ActivityDate.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                    break;
                case ActivityExportFields.ActivityTypeId:
                    json.WriteNumber(ActivityExportFields.ActivityTypeId, record.ActivityTypeId);
                    break;
                case ActivityExportFields.CampaignId:
                    WriteNullable(json, ActivityExportFields.CampaignId, record.CampaignId);
                    break;
                case ActivityExportFields.PrimaryAttributeValueId:
                    WriteNullable(json, ActivityExportFields.PrimaryAttributeValueId, record.PrimaryAttributeValueId);
                    break;
                case ActivityExportFields.PrimaryAttributeValue:
                    WriteNullable(json, ActivityExportFields.PrimaryAttributeValue, record.PrimaryAttributeValue);
                    break;
                case ActivityExportFields.Attributes:
                    json.WritePropertyName(ActivityExportFields.Attributes);
                    record.Attributes.WriteTo(json);
                    break;
                case ActivityExportFields.ActionResult:
                    WriteNullable(json, ActivityExportFields.ActionResult, record.ActionResult);
                    break;
                default:
                    break; // a column the reader does not type: not part of an activity record
            }
        }

        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static string? Canonical(string field) => ActivityExportFields.All.FirstOrDefault(k => string.Equals(k, field, StringComparison.OrdinalIgnoreCase));

    /// <summary>The Parquet column of an export field.</summary>
    internal static DataField ParquetField(string field) => Canonical(field) switch
    {
        ActivityExportFields.MarketoGuid => new DataField<string>(ActivityExportFields.MarketoGuid, nullable: false),
        ActivityExportFields.LeadId => new DataField<long>(ActivityExportFields.LeadId, nullable: false),
        ActivityExportFields.ActivityDate => new DateTimeDataField(ActivityExportFields.ActivityDate, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis, isNullable: false),
        ActivityExportFields.ActivityTypeId => new DataField<int>(ActivityExportFields.ActivityTypeId, nullable: false),
        ActivityExportFields.CampaignId => new DataField<long?>(ActivityExportFields.CampaignId, nullable: true),
        ActivityExportFields.PrimaryAttributeValueId => new DataField<long?>(ActivityExportFields.PrimaryAttributeValueId, nullable: true),
        ActivityExportFields.PrimaryAttributeValue => new DataField<string>(ActivityExportFields.PrimaryAttributeValue, nullable: true),
        ActivityExportFields.Attributes => new DataField<string>(ActivityExportFields.Attributes, nullable: false),
        ActivityExportFields.ActionResult => new DataField<string>(ActivityExportFields.ActionResult, nullable: true),
        _ => throw new InvalidDataException($"The export column '{field}' has no Parquet mapping."),
    };

    private static async Task<OutputSummary> WriteParquetAsync(ExtractionResult result, string path, CancellationToken ct)
    {
        var temp = path + ".part";
        OutputSummary summary;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
        {
            ParquetWriter? writer = null;
            DataField[] columns = [];
            var batch = new List<ExportedActivity>(RowGroupSize);
            try
            {
                summary = await ForEachRecordAsync(result, async (fields, record) =>
                {
                    batch.Add(record);
                    if (batch.Count >= RowGroupSize)
                    {
                        await WriteRowGroupAsync(writer!, columns, batch, ct);
                        batch.Clear();
                    }
                }, async fields =>
                {
                    columns = [.. fields.Where(f => Canonical(f) is not null).Select(ParquetField)];
                    writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns), stream, cancellationToken: ct);
                }, ct);
                if (batch.Count > 0 || summary.Rows == 0)
                {
                    await WriteRowGroupAsync(writer!, columns, batch, ct);
                }
            }
            finally
            {
                if (writer is not null)
                {
                    await writer.DisposeAsync();
                }
            }
        }

        File.Move(temp, path, overwrite: true);
        return summary;
    }

    private static async Task WriteRowGroupAsync(ParquetWriter writer, DataField[] columns, List<ExportedActivity> rows, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        foreach (var column in columns)
        {
            switch (column.Name)
            {
                case ActivityExportFields.MarketoGuid:
                    await group.WriteAsync(column, rows.Select(r => r.MarketoGuid).ToArray());
                    break;
                case ActivityExportFields.LeadId:
                    await group.WriteAsync<long>(column, rows.Select(r => r.LeadId).ToArray(), cancellationToken: ct);
                    break;
                case ActivityExportFields.ActivityDate:
                    await group.WriteAsync<DateTime>(column, rows.Select(r => r.ActivityDate.UtcDateTime).ToArray(), cancellationToken: ct);
                    break;
                case ActivityExportFields.ActivityTypeId:
                    await group.WriteAsync<int>(column, rows.Select(r => r.ActivityTypeId).ToArray(), cancellationToken: ct);
                    break;
                case ActivityExportFields.CampaignId:
                    await group.WriteAsync<long>(column, rows.Select(r => r.CampaignId).ToArray(), cancellationToken: ct);
                    break;
                case ActivityExportFields.PrimaryAttributeValueId:
                    await group.WriteAsync<long>(column, rows.Select(r => r.PrimaryAttributeValueId).ToArray(), cancellationToken: ct);
                    break;
                case ActivityExportFields.PrimaryAttributeValue:
                    await group.WriteAsync(column, rows.Select(r => r.PrimaryAttributeValue!).ToArray());
                    break;
                case ActivityExportFields.Attributes:
                    await group.WriteAsync(column, rows.Select(r => r.Attributes.GetRawText()).ToArray());
                    break;
                case ActivityExportFields.ActionResult:
                    await group.WriteAsync(column, rows.Select(r => r.ActionResult!).ToArray());
                    break;
                default:
                    throw new InvalidDataException($"No Parquet writer for the column '{column.Name}'.");
            }
        }
    }
}
