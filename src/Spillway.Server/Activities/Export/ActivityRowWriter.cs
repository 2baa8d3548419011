using System.Runtime.CompilerServices;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Export;

/// <summary>
/// The activity extract's columns: maps each streamed activity to the cells of an <see cref="ExportFileWriter"/>, in
/// the export's field order. The bytes rules (quoting, null, dates, header) are the file writer's.
/// </summary>
/// <remarks>
/// Use: <see cref="ColumnNames"/> gives the header texts to create the file writer with; write its header, then hand
/// this sink to the store's window stream; then complete the file writer.
/// </remarks>
public sealed class ActivityRowWriter : IActivityRowSink
{
    private readonly ExportFileWriter _file;
    private readonly ExportField[] _fields;

    /// <summary>Writes rows of <paramref name="fields"/> (no duplicates, one per column of <paramref name="file"/>) into <paramref name="file"/>.</summary>
    public ActivityRowWriter(ExportFileWriter file, IReadOnlyList<ExportField> fields)
    {
        ArgumentNullException.ThrowIfNull(file);
        _fields = Validate(fields, out _);
        if (_fields.Length != file.ColumnCount)
        {
            throw new ArgumentException($"The file has {file.ColumnCount} columns, not {_fields.Length}.", nameof(fields));
        }

        _file = file;
    }

    /// <summary>
    /// The header text of each field, in order: the caller's name where <paramref name="headerNames"/> has one (every key
    /// must be one of <paramref name="fields"/>), the field's wire name otherwise.
    /// </summary>
    public static string[] ColumnNames(IReadOnlyList<ExportField> fields, IReadOnlyDictionary<ExportField, string>? headerNames)
    {
        var validated = Validate(fields, out var seen);
        if (headerNames is not null)
        {
            foreach (var (field, name) in headerNames)
            {
                if (!Enum.IsDefined(field) || (seen & (1 << (int)field)) == 0)
                {
                    throw new ArgumentException($"The header name for '{field}' is for a column that is not exported.", nameof(headerNames));
                }

                ArgumentNullException.ThrowIfNull(name, nameof(headerNames));
            }
        }

        return Array.ConvertAll(validated, f => headerNames is not null && headerNames.TryGetValue(f, out var name) ? name : ExportFields.WireName(f));
    }

    /// <summary>Writes one activity: its fields in order, then the end of the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteRow(in Utf8ActivityRow row)
    {
        var file = _file;
        foreach (var field in _fields)
        {
            switch (field)
            {
                case ExportField.MarketoGuid:
                    file.WriteInteger(row.MarketoGuid);
                    break;
                case ExportField.LeadId:
                    file.WriteInteger(row.LeadId);
                    break;
                case ExportField.ActivityDate:
                    file.WriteDateTime(row.ActivityDateUnixSeconds);
                    break;
                case ExportField.ActivityTypeId:
                    file.WriteInteger(row.ActivityTypeId);
                    break;
                case ExportField.CampaignId:
                    file.WriteInteger(row.CampaignId);
                    break;
                case ExportField.PrimaryAttributeValueId:
                    file.WriteInteger(row.PrimaryAttributeValueId);
                    break;
                case ExportField.PrimaryAttributeValue:
                    if (row.HasPrimaryAttributeValue)
                    {
                        file.WriteText(row.PrimaryAttributeValue);
                    }
                    else
                    {
                        file.WriteMissing();
                    }

                    break;
                case ExportField.Attributes:
                    file.WriteText(row.Attributes);
                    break;
                case ExportField.ActionResult:
                    if (row.HasActionResult)
                    {
                        file.WriteText(row.ActionResult);
                    }
                    else
                    {
                        file.WriteMissing();
                    }

                    break;
            }
        }

        file.EndRow();
    }

    private static ExportField[] Validate(IReadOnlyList<ExportField> fields, out int seen)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Count == 0)
        {
            throw new ArgumentException("An export has at least one column.", nameof(fields));
        }

        var result = new ExportField[fields.Count];
        seen = 0;
        for (var i = 0; i < result.Length; i++)
        {
            var field = fields[i];
            if (!Enum.IsDefined(field))
            {
                throw new ArgumentOutOfRangeException(nameof(fields), field, "Unknown export field.");
            }

            var bit = 1 << (int)field;
            if ((seen & bit) != 0)
            {
                throw new ArgumentException($"The column '{ExportFields.WireName(field)}' is listed twice.", nameof(fields));
            }

            seen |= bit;
            result[i] = field;
        }

        return result;
    }
}
