using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

internal abstract partial class SqlLeadStore : ILeadFieldStore
{
    /// <summary>
    /// A SQL expression reading a custom field's value out of the row's <c>custom</c> object as the provider stores a
    /// standard column of the same kind, so the extract's reader treats both alike. The name is a validated identifier.
    /// </summary>
    protected abstract string CustomValueSql(LeadColumn column);

    /// <summary>The SQL that binds a JSON text parameter to the <c>custom</c> column.</summary>
    protected virtual string JsonParameterSql(string parameter) => "@" + parameter;

    public async Task<IReadOnlyList<LeadField>> ListCustomFieldsAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return await ListCustomFieldsAsync(connection, null, subscriptionId, ct);
    }

    public async Task<LeadField?> AddCustomFieldAsync(int subscriptionId, string name, string displayName, string dataType, DateTimeOffset now,
        CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        int id;
        await using (var taken = Command(connection, tx,
            "SELECT count(*) FROM lead_field WHERE subscription_id = @s AND lower(name) = @name"))
        {
            AddParameter(taken, "s", subscriptionId);
            AddParameter(taken, "name", name.ToLowerInvariant());
            if (Convert.ToInt64(await taken.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) > 0)
            {
                return null;
            }
        }

        await using (var next = Command(connection, tx, "SELECT coalesce(max(id), @first) FROM lead_field WHERE subscription_id = @s"))
        {
            AddParameter(next, "s", subscriptionId);
            AddParameter(next, "first", LeadCustomFields.FirstId - 1);
            id = Convert.ToInt32(await next.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) + 1;
        }

        await using (var insert = Command(connection, tx,
            "INSERT INTO lead_field (subscription_id, id, name, display_name, data_type, created_at) VALUES (@s, @id, @name, @display, @type, @now)"))
        {
            AddParameter(insert, "s", subscriptionId);
            AddParameter(insert, "id", id);
            AddParameter(insert, "name", name);
            AddParameter(insert, "display", displayName);
            AddParameter(insert, "type", dataType);
            AddParameter(insert, "now", TimeToDb(now));
            await insert.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return LeadCustomFields.Field(id, name, displayName, dataType);
    }

    private static async Task<List<LeadField>> ListCustomFieldsAsync(DbConnection connection, DbTransaction? tx, int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(connection, tx,
            "SELECT id, name, display_name, data_type FROM lead_field WHERE subscription_id = @s ORDER BY id");
        AddParameter(command, "s", subscriptionId);
        var fields = new List<LeadField>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            fields.Add(LeadCustomFields.Field(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return fields;
    }

    /// <summary>The subscription's custom fields in column form, read in the caller's transaction.</summary>
    private static async Task<LeadColumn[]> CustomColumnsAsync(DbConnection connection, DbTransaction? tx, int subscriptionId, CancellationToken ct) =>
        [.. (await ListCustomFieldsAsync(connection, tx, subscriptionId, ct)).Select(LeadCustomFields.Column)];

    /// <summary>
    /// The <c>custom</c> object of a lead's values: text, dates (yyyy-MM-dd) and date-times (yyyy-MM-ddTHH:mm:ssZ) as
    /// strings, numbers and booleans as JSON numbers and booleans. Values of fields no longer defined are not kept.
    /// </summary>
    protected static string CustomToJson(IReadOnlyDictionary<string, object> fields, IReadOnlyList<LeadColumn> custom)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var column in custom)
            {
                if (!fields.TryGetValue(column.RestName, out var value))
                {
                    continue;
                }

                switch (value)
                {
                    case long integer: writer.WriteNumber(column.RestName, integer); break;
                    case double number: writer.WriteNumber(column.RestName, number); break;
                    case bool flag: writer.WriteBoolean(column.RestName, flag); break;
                    case DateOnly date: writer.WriteString(column.RestName, date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
                    case DateTimeOffset time: writer.WriteString(column.RestName, Contracts.MarketoDateTime.Format(time)); break;
                    default: writer.WriteString(column.RestName, (string)value); break;
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Adds the values of <paramref name="json"/> (a <c>custom</c> object) to <paramref name="fields"/>, typed by the field definitions.</summary>
    private static void CustomFromJson(string json, IReadOnlyList<LeadColumn> custom, Dictionary<string, object> fields)
    {
        if (custom.Count == 0 || json.Length <= 2)
        {
            return;
        }

        using var document = JsonDocument.Parse(json);
        foreach (var column in custom)
        {
            if (!document.RootElement.TryGetProperty(column.RestName, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            fields[column.RestName] = column.Kind switch
            {
                LeadValueKind.Integer => value.GetInt64(),
                LeadValueKind.Float => value.GetDouble(),
                LeadValueKind.Boolean => value.GetBoolean(),
                LeadValueKind.Date => DateOnly.ParseExact(value.GetString()!, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                LeadValueKind.DateTime => DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                _ => value.GetString()!,
            };
        }
    }
}
