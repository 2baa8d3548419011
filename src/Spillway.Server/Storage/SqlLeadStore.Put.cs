using System.Data.Common;
using System.Globalization;
using System.Text;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

internal abstract partial class SqlLeadStore
{
    /// <summary>Leads per transaction: large enough that commits are rare, small enough that a batch's memory is bounded.</summary>
    protected const int PutBatchSize = 10_000;

    /// <summary>Every column a put writes, in one order for the statement, the copy and the update.</summary>
    protected static readonly string PutColumns =
        "subscription_id, id, created_at, updated_at, fields_updated_at, " + string.Join(", ", LeadColumns.All.Select(c => c.ColumnName)) + ", custom";

    /// <summary>A replace sets every column of the row, so a field absent from the record becomes null.</summary>
    protected static readonly string PutUpdateSet = string.Join(", ",
        new[] { "created_at", "updated_at", "fields_updated_at" }.Concat(LeadColumns.All.Select(c => c.ColumnName)).Append("custom")
            .Select(c => $"{c} = excluded.{c}"));

    public async Task PutAsync(int subscriptionId, IReadOnlyList<LeadRecord> leads, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(leads);
        if (leads.Count == 0)
        {
            return;
        }

        // Values of the subscription's custom fields go into the row's custom object; the definitions are read once.
        LeadColumn[] custom;
        await using (var definitions = await OpenAsync(ct))
        {
            custom = await CustomColumnsAsync(definitions, null, subscriptionId, ct);
        }

        // The last record of an id wins, as if the records were put one after the other; a single INSERT ... ON CONFLICT
        // may not touch a row twice, so the duplicates go before the database sees them.
        var last = new Dictionary<long, int>(leads.Count);
        for (var i = 0; i < leads.Count; i++)
        {
            var lead = leads[i] ?? throw new ArgumentException($"Lead {i} is null.", nameof(leads));
            Validate(lead, custom);
            last[lead.Id] = i;
        }

        var unique = last.Count == leads.Count ? leads : [.. last.OrderBy(p => p.Value).Select(p => leads[p.Value])];
        for (var start = 0; start < unique.Count; start += PutBatchSize)
        {
            var batch = unique.Skip(start).Take(PutBatchSize).ToList();
            await using var connection = await OpenAsync(ct);
            await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
            await PutBatchAsync(connection, tx, subscriptionId, batch, custom, ct);
            await using (var sequence = Command(connection, tx,
                "INSERT INTO lead_sequence (subscription_id, last_id) VALUES (@s, @max) ON CONFLICT (subscription_id) DO UPDATE SET "
                + "last_id = CASE WHEN excluded.last_id > lead_sequence.last_id THEN excluded.last_id ELSE lead_sequence.last_id END"))
            {
                AddParameter(sequence, "s", subscriptionId);
                AddParameter(sequence, "max", batch.Max(l => l.Id));
                await sequence.ExecuteNonQueryAsync(ct);
            }

            await tx.CommitAsync(ct);
        }
    }

    /// <summary>
    /// Inserts or replaces one batch of distinct ids inside the write transaction. The portable way is one prepared
    /// statement executed per lead; a provider with a faster bulk path overrides it.
    /// </summary>
    protected virtual async Task PutBatchAsync(DbConnection connection, DbTransaction tx, int subscriptionId, IReadOnlyList<LeadRecord> batch,
        IReadOnlyList<LeadColumn> custom, CancellationToken ct)
    {
        var values = new StringBuilder("@s, @id, @c, @u, @f");
        for (var i = 0; i < LeadColumns.All.Count; i++)
        {
            values.Append(CultureInfo.InvariantCulture, $", @v{i}");
        }

        values.Append(", ").Append(JsonParameterSql("custom"));

        await using var insert = Command(connection, tx,
            $"INSERT INTO lead ({PutColumns}) VALUES ({values}) ON CONFLICT (subscription_id, id) DO UPDATE SET {PutUpdateSet}");
        AddParameter(insert, "s", subscriptionId);
        foreach (var name in new[] { "id", "c", "u", "f" })
        {
            AddParameter(insert, name, DBNull.Value);
        }

        for (var i = 0; i < LeadColumns.All.Count; i++)
        {
            AddParameter(insert, "v" + i.ToString(CultureInfo.InvariantCulture), DBNull.Value);
        }

        AddParameter(insert, "custom", "{}");

        await insert.PrepareAsync(ct);
        var parameters = insert.Parameters;
        foreach (var lead in batch)
        {
            parameters[1].Value = lead.Id;
            parameters[2].Value = TimeToDb(lead.CreatedAt);
            parameters[3].Value = TimeToDb(lead.UpdatedAt);
            parameters[4].Value = TimeToDb(lead.FieldsUpdatedAt);
            for (var i = 0; i < LeadColumns.All.Count; i++)
            {
                var column = LeadColumns.All[i];
                parameters[5 + i].Value = lead.Fields.TryGetValue(column.RestName, out var value) ? ValueToDb(column, value) : DBNull.Value;
            }

            parameters[5 + LeadColumns.All.Count].Value = CustomToJson(lead.Fields, custom);

            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>A put stores what it is given without the sync's conversions, so a value of the wrong kind is a caller's bug.</summary>
    private static void Validate(LeadRecord lead, IReadOnlyList<LeadColumn> custom)
    {
        if (lead.Id <= 0)
        {
            throw new ArgumentException($"Lead id {lead.Id} is not positive.", nameof(lead));
        }

        foreach (var (name, value) in lead.Fields)
        {
            var column = LeadColumns.Find(name) ?? LeadCustomFields.Find(custom, name)
                ?? throw new ArgumentException($"Lead {lead.Id}: '{name}' is neither a standard lead field nor one of the subscription's custom fields.", nameof(lead));
            var fits = column.Kind switch
            {
                LeadValueKind.Text => value is string text && !text.Contains('\0', StringComparison.Ordinal),
                LeadValueKind.Integer => value is long,
                LeadValueKind.Float => value is double,
                LeadValueKind.Boolean => value is bool,
                LeadValueKind.Date => value is DateOnly,
                LeadValueKind.DateTime => value is DateTimeOffset,
                _ => false,
            };
            if (!fits)
            {
                throw new ArgumentException($"Lead {lead.Id}: the value of '{name}' is not a {column.Kind} value (text cannot hold NUL).", nameof(lead));
            }
        }
    }
}
