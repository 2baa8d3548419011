using System.Text;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.BulkExport;

/// <summary>
/// Activities the way the export sees them: a store streams each row with its text as UTF-8 bytes. Tests write records
/// through a sink as such rows, and read a window back as records.
/// </summary>
public static class ActivityRows
{
    /// <summary>
    /// Hands <paramref name="record"/> to <paramref name="sink"/> as the row a store streams for it: the date to the
    /// second, the text as UTF-8 (a lone UTF-16 surrogate, which UTF-8 cannot carry, becomes U+FFFD).
    /// </summary>
    public static void WriteRecord(this IActivityRowSink sink, ActivityRecord record)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(record);
        sink.WriteRow(new Utf8ActivityRow
        {
            MarketoGuid = record.MarketoGuid,
            LeadId = record.LeadId,
            ActivityDateUnixSeconds = record.ActivityDate.ToUnixTimeSeconds(),
            ActivityTypeId = record.ActivityTypeId,
            CampaignId = record.CampaignId,
            PrimaryAttributeValueId = record.PrimaryAttributeValueId,
            HasPrimaryAttributeValue = record.PrimaryAttributeValue is not null,
            PrimaryAttributeValue = Encode(record.PrimaryAttributeValue),
            Attributes = Encode(record.Attributes),
            HasActionResult = record.ActionResult is not null,
            ActionResult = Encode(record.ActionResult),
        });
    }

    /// <summary>A streamed row as a record (the date in UTC, the text decoded), to compare with what was appended.</summary>
    public static ActivityRecord ToRecord(in Utf8ActivityRow row) => new(
        row.MarketoGuid,
        row.LeadId,
        DateTimeOffset.FromUnixTimeSeconds(row.ActivityDateUnixSeconds),
        row.ActivityTypeId,
        row.CampaignId,
        row.PrimaryAttributeValueId,
        row.HasPrimaryAttributeValue ? Strict.GetString(row.PrimaryAttributeValue) : null,
        Strict.GetString(row.Attributes),
        row.HasActionResult ? Strict.GetString(row.ActionResult) : null);

    /// <summary>The window's rows as records, in the order the store streamed them.</summary>
    public static async Task<List<ActivityRecord>> ReadWindowAsync(this IActivityWindowStreamer streamer, ActivityQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(streamer);
        var sink = new RecordSink();
        await streamer.StreamWindowAsync(query, sink, ct);
        return sink.Records;
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static byte[]? Encode(string? text) => text is null ? null : Encoding.UTF8.GetBytes(text);

    /// <summary>Collects streamed rows as records; <c>onRow</c> sees the count after each row (to cancel or fail mid-stream).</summary>
    public sealed class RecordSink(Action<int>? onRow = null) : IActivityRowSink
    {
        public List<ActivityRecord> Records { get; } = [];

        public void WriteRow(in Utf8ActivityRow row)
        {
            Records.Add(ToRecord(in row));
            onRow?.Invoke(Records.Count);
        }
    }
}
