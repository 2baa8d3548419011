using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Export;

/// <summary>
/// The lead extract's columns: maps each streamed lead to the cells of an <see cref="ExportFileWriter"/>, in the
/// request's field order. A missing value is <c>null</c>, booleans <c>true</c>/<c>false</c>, dates <c>yyyy-MM-dd</c>,
/// date-times <c>yyyy-MM-ddTHH:mm:ssZ</c>, numbers in invariant culture; quoting is the file writer's.
/// </summary>
public sealed class LeadRowWriter : ILeadRowSink
{
    private static readonly byte[] True = "true"u8.ToArray();
    private static readonly byte[] False = "false"u8.ToArray();

    private readonly ExportFileWriter _file;
    private readonly LeadValueKind[] _kinds;

    /// <summary>
    /// Writes rows of <paramref name="fields"/> (REST names, one per column of <paramref name="file"/>); a custom field
    /// among them is one of <paramref name="customFields"/> and follows the cell rules of its data type.
    /// </summary>
    public LeadRowWriter(ExportFileWriter file, IReadOnlyList<string> fields, IReadOnlyList<LeadColumn>? customFields = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Count != file.ColumnCount)
        {
            throw new ArgumentException($"The file has {file.ColumnCount} columns, not {fields.Count}.", nameof(fields));
        }

        _kinds = [.. fields.Select(f => (LeadExtractColumns.Find(f, customFields) ?? throw new ArgumentException($"Unknown lead field '{f}'.", nameof(fields))).Kind)];
        _file = file;
    }

    /// <summary>The header text of each field, in order: the caller's name where <paramref name="headerNames"/> has one, the REST name otherwise.</summary>
    public static string[] ColumnNames(IReadOnlyList<string> fields, IReadOnlyDictionary<string, string>? headerNames)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return [.. fields.Select(f => headerNames is not null && headerNames.TryGetValue(f, out var name) ? name : f)];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteRow(ILeadRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var file = _file;
        for (var i = 0; i < _kinds.Length; i++)
        {
            if (row.IsNull(i))
            {
                file.WriteMissing();
                continue;
            }

            switch (_kinds[i])
            {
                case LeadValueKind.Integer:
                    file.WriteInteger(row.GetInteger(i));
                    break;
                case LeadValueKind.Float:
                    WriteFormatted(row.GetFloat(i));
                    break;
                case LeadValueKind.Boolean:
                    file.WriteText(row.GetBoolean(i) ? True : False);
                    break;
                case LeadValueKind.Date:
                    WriteFormatted(row.GetDate(i));
                    break;
                case LeadValueKind.DateTime:
                    file.WriteDateTime(row.GetDateTime(i).ToUnixTimeSeconds());
                    break;
                default:
                    file.WriteText(row.GetText(i));
                    break;
            }
        }

        file.EndRow();
    }

    private void WriteFormatted(double value)
    {
        // Shortest round-trip text in invariant culture, as the REST API's JSON numbers read.
        Span<byte> buffer = stackalloc byte[64];
        if (!value.TryFormat(buffer, out var written, "R", CultureInfo.InvariantCulture))
        {
            _file.WriteText(Encoding.UTF8.GetBytes(value.ToString("R", CultureInfo.InvariantCulture)));
            return;
        }

        _file.WriteText(buffer[..written]);
    }

    private void WriteFormatted(DateOnly value)
    {
        Span<byte> buffer = stackalloc byte[16];
        value.TryFormat(buffer, out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        _file.WriteText(buffer[..written]);
    }
}
