using System.Globalization;
using System.Text;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.BulkExport;

/// <summary>
/// The export file's bytes rules written the obvious way, on strings, for clarity and not for speed: what the writer
/// and a store's stream must produce together, byte for byte.
/// </summary>
/// <remarks>
/// UTF-8 without BOM; a header line of the column names, then one line per row, each ended by LF; cells separated by
/// the delimiter (',' for CSV, tab for TSV, the configured byte for SSV). A cell is quoted only when it contains the
/// delimiter, '"', CR or LF, and a '"' inside is doubled. A missing value is the bare word null, an empty string an
/// empty cell. The activity date is UTC to the second, <c>yyyy-MM-ddTHH:mm:ssZ</c>.
/// </remarks>
public static class ExportBytesOracle
{
    public static byte Delimiter(ExportFormat format, byte ssvDelimiter = (byte)' ') => format switch
    {
        ExportFormat.Csv => (byte)',',
        ExportFormat.Tsv => (byte)'\t',
        ExportFormat.Ssv => ssvDelimiter,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The file for <paramref name="rows"/>, written in the order given.</summary>
    public static byte[] File(
        byte delimiter,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? names,
        IEnumerable<ActivityRecord> rows)
    {
        var d = (char)delimiter;
        string Cell(string? v) => v is null ? "null"
            : v.IndexOfAny([d, '"', '\r', '\n']) >= 0 ? "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : v;
        static string Int(long? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "null";

        var text = new StringBuilder();
        text.AppendJoin(d, fields.Select(f => Cell(names is not null && names.TryGetValue(f, out var n) ? n : ExportFields.WireName(f)))).Append('\n');
        foreach (var row in rows)
        {
            text.AppendJoin(d, fields.Select(f => f switch
            {
                ExportField.MarketoGuid => Int(row.MarketoGuid),
                ExportField.LeadId => Int(row.LeadId),
                ExportField.ActivityDate => row.ActivityDate.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ExportField.ActivityTypeId => Int(row.ActivityTypeId),
                ExportField.CampaignId => Int(row.CampaignId),
                ExportField.PrimaryAttributeValueId => Int(row.PrimaryAttributeValueId),
                ExportField.PrimaryAttributeValue => Cell(row.PrimaryAttributeValue),
                ExportField.Attributes => Cell(row.Attributes),
                ExportField.ActionResult => Cell(row.ActionResult),
                _ => throw new ArgumentOutOfRangeException(nameof(fields)),
            })).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// The rows of <paramref name="appended"/> (all appended to <paramref name="subscriptionId"/>) that a window query
    /// selects, in export order: the stored date (to the second) within the query's bounds (to the second, both
    /// inclusive), of one of its activity types if it names any, with one of its asset ids if it has a list (an empty
    /// list selects nothing), ordered by date, then marketoGUID.
    /// </summary>
    public static List<ActivityRecord> Window(IEnumerable<ActivityRecord> appended, int subscriptionId, ActivityQuery query)
    {
        if (query.SubscriptionId != subscriptionId)
        {
            return [];
        }

        var from = query.StartAt.ToUnixTimeSeconds();
        var to = query.EndAt.ToUnixTimeSeconds();
        return appended
            .Where(r => r.ActivityDate.ToUnixTimeSeconds() >= from && r.ActivityDate.ToUnixTimeSeconds() <= to)
            .Where(r => query.ActivityTypeIds is not { Count: > 0 } types || types.Contains(r.ActivityTypeId))
            .Where(r => query.PrimaryAttributeValueIds is not { } assets || (r.PrimaryAttributeValueId is { } id && assets.Contains(id)))
            .OrderBy(r => r.ActivityDate.ToUnixTimeSeconds())
            .ThenBy(r => r.MarketoGuid)
            .ToList();
    }
}
