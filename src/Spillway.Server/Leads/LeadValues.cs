using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spillway.Contracts;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads;

/// <summary>Lead field values between the wire (JSON and query text) and their typed form in the store.</summary>
internal static class LeadValues
{
    /// <summary>
    /// A JSON value as the column's kind; JSON null clears the field. Numbers and booleans may come as strings, as
    /// Marketo's own forms send them; text longer than the field's length, with NUL, or an email with non-ASCII
    /// characters, is refused.
    /// </summary>
    public static bool TryRead(LeadColumn column, JsonElement element, out object? value)
    {
        value = null;
        switch (element.ValueKind)
        {
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.String:
                return TryParseText(column, element.GetString()!, out value);
            case JsonValueKind.Number when column.Kind == LeadValueKind.Text:
                return TryParseText(column, element.GetRawText(), out value);
            case JsonValueKind.Number when column.Kind == LeadValueKind.Integer && element.TryGetInt64(out var integer):
                value = integer;
                return true;
            case JsonValueKind.Number when column.Kind == LeadValueKind.Float && element.TryGetDouble(out var number) && double.IsFinite(number):
                value = number;
                return true;
            case JsonValueKind.True or JsonValueKind.False when column.Kind == LeadValueKind.Boolean:
                value = element.GetBoolean();
                return true;
            default:
                return false;
        }
    }

    /// <summary>Text (a query value or a JSON string) as the column's kind.</summary>
    public static bool TryParseText(LeadColumn column, string text, out object? value)
    {
        value = null;
        switch (column.Kind)
        {
            case LeadValueKind.Text:
                // NUL is refused: PostgreSQL text cannot hold it, and a lead field has no use for it.
                if ((column.Field.Length is { } max && text.Length > max) || (column.Field.DataType == "email" && !Ascii.IsValid(text))
                    || text.Contains('\0', StringComparison.Ordinal))
                {
                    return false;
                }

                value = text;
                return true;
            case LeadValueKind.Integer when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer):
                value = integer;
                return true;
            case LeadValueKind.Float when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number):
                value = number;
                return true;
            case LeadValueKind.Boolean when bool.TryParse(text, out var flag):
                value = flag;
                return true;
            case LeadValueKind.Date when DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date):
                value = date;
                return true;
            case LeadValueKind.DateTime when MarketoDateTime.TryParse(text, out var time):
                value = time;
                return true;
            default:
                return false;
        }
    }

    /// <summary>A typed value as a read returns it: numbers and booleans as JSON, dates as yyyy-MM-dd, datetimes as ISO-8601 UTC.</summary>
    public static JsonNode ToJson(object value) => value switch
    {
        long integer => JsonValue.Create(integer),
        double number => JsonValue.Create(number),
        bool flag => JsonValue.Create(flag),
        _ => JsonValue.Create(ToText(value)),
    };

    /// <summary>A typed value as text, the form Change Data Value keeps its old and new values in.</summary>
    public static string ToText(object value) => value switch
    {
        string text => text,
        long integer => integer.ToString(CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset time => MarketoDateTime.Format(time),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>The activities a lead write leaves in the activity log, as Marketo records them for API calls.</summary>
internal static class LeadActivities
{
    private const string Api = "Web service API";
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>New Lead (12) for a created lead; Change Data Value (13) per changed field of an updated one.</summary>
    public static IEnumerable<ActivityRecord> For(LeadSyncOutcome outcome, DateTimeOffset now, string user, string requestId)
    {
        if (outcome.Status == LeadSyncStatus.Created)
        {
            yield return new ActivityRecord(0, outcome.Lead!.Id, now, Activities.Catalog.StandardActivityTypes.NewLead, null, null, null,
                Json(w =>
                {
                    w.WriteString("Created Date", now.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    w.WriteString("Source Type", Api);
                    w.WriteString("API Method Name", "syncLead");
                    w.WriteString("Modifying User", user);
                    w.WriteString("Request Id", requestId);
                }), null);
        }

        foreach (var change in outcome.Changes)
        {
            yield return new ActivityRecord(0, outcome.Lead!.Id, now, Activities.Catalog.StandardActivityTypes.ChangeDataValue, null,
                change.Column.Field.Id, change.Column.Field.DisplayName,
                Json(w =>
                {
                    if (change.NewValue is { } newValue)
                    {
                        w.WriteString("New Value", LeadValues.ToText(newValue));
                    }

                    if (change.OldValue is { } oldValue)
                    {
                        w.WriteString("Old Value", LeadValues.ToText(oldValue));
                    }

                    w.WriteString("Reason", Api);
                    w.WriteString("Source", Api);
                    w.WriteString("API Method Name", "syncLead");
                    w.WriteString("Modifying User", user);
                    w.WriteString("Request Id", requestId);
                }), null);
        }
    }

    /// <summary>Delete Lead (37): the lead id as the primary attribute, the lead's name as its value.</summary>
    public static ActivityRecord Deleted(LeadRecord lead, DateTimeOffset now, string user, string requestId)
    {
        var name = string.Join(' ', new[] { lead.Get("firstName") as string, lead.Get("lastName") as string }.Where(n => !string.IsNullOrEmpty(n)));
        return new ActivityRecord(0, lead.Id, now, Activities.Catalog.StandardActivityTypes.DeleteLead, null, lead.Id, name,
            Json(w =>
            {
                w.WriteString("API Method Name", "deleteLead");
                w.WriteString("Modifying User", user);
                w.WriteString("Request Id", requestId);
            }), null);
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
