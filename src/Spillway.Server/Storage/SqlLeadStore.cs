using System.Data.Common;
using System.Globalization;
using System.Text;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

/// <summary>
/// The lead store in plain SQL that SQLite and PostgreSQL both speak (named <c>@</c> parameters, <c>ON CONFLICT</c>,
/// <c>RETURNING</c>); a provider supplies connections, its write transaction and how it stores times, dates and booleans.
/// </summary>
internal abstract partial class SqlLeadStore : ILeadStore, ILeadWindowStreamer
{
    private static readonly string SelectColumns =
        "id, created_at, updated_at, fields_updated_at, " + string.Join(", ", LeadColumns.All.Select(c => c.ColumnName)) + ", custom";

    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);

    /// <summary>Begins a transaction that serialises the subscription's lead writes.</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct);

    protected abstract object TimeToDb(DateTimeOffset value);

    protected abstract DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal);

    /// <summary>A non-null value of the column's kind as the provider stores it.</summary>
    protected abstract object ValueToDb(LeadColumn column, object value);

    /// <summary>A non-null stored value as the column's kind (string, long, double, bool, DateOnly, DateTimeOffset).</summary>
    protected abstract object ValueFromDb(LeadColumn column, DbDataReader reader, int ordinal);

    public async Task<IReadOnlyList<LeadRecord>> GetByIdsAsync(int subscriptionId, IReadOnlyList<long> ids, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {SelectColumns} FROM lead WHERE subscription_id = @s AND id IN (");
        AddParameter(command, "s", subscriptionId);
        AppendValues(command, sql, ids.Distinct().Select(i => (object)i).ToList(), v => v);
        sql.Append(") ORDER BY id");
        command.CommandText = sql.ToString();
        return await ReadAllAsync(command, await CustomColumnsAsync(connection, null, subscriptionId, ct), ct);
    }

    public async Task<IReadOnlyList<LeadRecord>> FindAsync(int subscriptionId, LeadColumn column, IReadOnlyList<object> values, long afterId,
        int limit, CancellationToken ct)
    {
        if (values.Count == 0 || limit <= 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {SelectColumns} FROM lead WHERE subscription_id = @s AND id > @after AND ");
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "after", afterId);
        AppendMatch(command, sql, column, values);
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY id LIMIT {limit}");
        command.CommandText = sql.ToString();
        return await ReadAllAsync(command, await CustomColumnsAsync(connection, null, subscriptionId, ct), ct);
    }

    public async Task<long> CountMatchesAsync(int subscriptionId, LeadColumn column, IReadOnlyList<object> values, long cap, CancellationToken ct)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT count(*) FROM (SELECT 1 FROM lead WHERE subscription_id = @s AND ");
        AddParameter(command, "s", subscriptionId);
        AppendMatch(command, sql, column, values);
        sql.Append(CultureInfo.InvariantCulture, $" LIMIT {Math.Max(0, cap)}) AS m");
        command.CommandText = sql.ToString();
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<LeadSyncOutcome>> SyncAsync(int subscriptionId, LeadSyncRequest request, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        var outcomes = new List<LeadSyncOutcome>(request.Records.Count);
        var custom = await CustomColumnsAsync(connection, tx, subscriptionId, ct);
        foreach (var record in request.Records)
        {
            outcomes.Add(await SyncOneAsync(connection, tx, subscriptionId, request, record, custom, now, ct));
        }

        await tx.CommitAsync(ct);
        return outcomes;
    }

    private async Task<LeadSyncOutcome> SyncOneAsync(DbConnection connection, DbTransaction tx, int subscriptionId, LeadSyncRequest request,
        IReadOnlyDictionary<string, object?> record, LeadColumn[] custom, DateTimeOffset now, CancellationToken ct)
    {
        var lookupValue = record.GetValueOrDefault(request.LookupField);
        List<LeadRecord> matches = [];
        if (lookupValue is null)
        {
            if (request.Action != LeadSyncAction.CreateOnly)
            {
                return LeadSyncOutcome.Skip("1003", $"Value for lookup field '{request.LookupField}' not specified");
            }
        }
        else
        {
            await using var find = Command(connection, tx, "");
            var sql = new StringBuilder($"SELECT {SelectColumns} FROM lead WHERE subscription_id = @s AND ");
            AddParameter(find, "s", subscriptionId);
            if (request.LookupField == "id")
            {
                sql.Append("id = @id");
                AddParameter(find, "id", lookupValue);
            }
            else
            {
                AppendMatch(find, sql, LeadColumns.Find(request.LookupField)!, [lookupValue]);
            }

            sql.Append(" ORDER BY id LIMIT 2");
            find.CommandText = sql.ToString();
            matches = await ReadAllAsync(find, custom, ct);
        }

        if (matches.Count == 0)
        {
            return request.Action == LeadSyncAction.UpdateOnly
                ? LeadSyncOutcome.Skip("1004", "Lead not found")
                : new LeadSyncOutcome(LeadSyncStatus.Created, await CreateAsync(connection, tx, subscriptionId, record, custom, now, ct), [], null, null);
        }

        if (request.Action == LeadSyncAction.CreateOnly)
        {
            return LeadSyncOutcome.Skip("1005", "Lead already exists");
        }

        if (matches.Count > 1)
        {
            return LeadSyncOutcome.Skip("1007", "Multiple leads match the lookup criteria");
        }

        return await UpdateAsync(connection, tx, subscriptionId, matches[0], record, custom, now, ct);
    }

    private async Task<LeadRecord> CreateAsync(DbConnection connection, DbTransaction tx, int subscriptionId,
        IReadOnlyDictionary<string, object?> record, LeadColumn[] custom, DateTimeOffset now, CancellationToken ct)
    {
        await using (var seed = Command(connection, tx,
            "INSERT INTO lead_sequence (subscription_id, last_id) VALUES (@s, 0) ON CONFLICT (subscription_id) DO NOTHING"))
        {
            AddParameter(seed, "s", subscriptionId);
            await seed.ExecuteNonQueryAsync(ct);
        }

        long id;
        await using (var next = Command(connection, tx, "UPDATE lead_sequence SET last_id = last_id + 1 WHERE subscription_id = @s RETURNING last_id"))
        {
            AddParameter(next, "s", subscriptionId);
            id = Convert.ToInt64(await next.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }

        var fields = new Dictionary<string, object>(StringComparer.Ordinal);
        await using var insert = Command(connection, tx, "");
        var names = new StringBuilder("subscription_id, id, created_at, updated_at, fields_updated_at");
        var values = new StringBuilder("@s, @id, @now, @now, @now");
        AddParameter(insert, "s", subscriptionId);
        AddParameter(insert, "id", id);
        AddParameter(insert, "now", TimeToDb(now));
        var n = 0;
        foreach (var column in LeadColumns.All)
        {
            if (record.GetValueOrDefault(column.RestName) is { } value)
            {
                names.Append(", ").Append(column.ColumnName);
                values.Append(CultureInfo.InvariantCulture, $", @v{n}");
                AddParameter(insert, "v" + n.ToString(CultureInfo.InvariantCulture), ValueToDb(column, value));
                fields[column.RestName] = value;
                n++;
            }
        }

        if (custom.Any(c => record.GetValueOrDefault(c.RestName) is not null))
        {
            foreach (var column in custom)
            {
                if (record.GetValueOrDefault(column.RestName) is { } value)
                {
                    fields[column.RestName] = value;
                }
            }

            names.Append(", custom");
            values.Append(", ").Append(JsonParameterSql("custom"));
            AddParameter(insert, "custom", CustomToJson(fields, custom));
        }

        insert.CommandText = $"INSERT INTO lead ({names}) VALUES ({values})";
        await insert.ExecuteNonQueryAsync(ct);
        return new LeadRecord(id, now, now, now, fields);
    }

    private async Task<LeadSyncOutcome> UpdateAsync(DbConnection connection, DbTransaction tx, int subscriptionId, LeadRecord lead,
        IReadOnlyDictionary<string, object?> record, LeadColumn[] custom, DateTimeOffset now, CancellationToken ct)
    {
        var changes = new List<LeadValueChange>();
        var fields = new Dictionary<string, object>(lead.Fields, StringComparer.Ordinal);
        await using var update = Command(connection, tx, "");
        var set = new StringBuilder("updated_at = @now, fields_updated_at = @now");
        foreach (var column in LeadColumns.All)
        {
            if (!record.TryGetValue(column.RestName, out var value) || column.RestName == "id")
            {
                continue;
            }

            var old = lead.Get(column.RestName);
            if (Equals(old, value))
            {
                continue;
            }

            var name = "v" + changes.Count.ToString(CultureInfo.InvariantCulture);
            set.Append(", ").Append(column.ColumnName).Append(" = @").Append(name);
            AddParameter(update, name, value is null ? DBNull.Value : ValueToDb(column, value));
            changes.Add(new LeadValueChange(column, old, value));
            if (value is null)
            {
                fields.Remove(column.RestName);
            }
            else
            {
                fields[column.RestName] = value;
            }
        }

        var standardChanges = changes.Count;
        foreach (var column in custom)
        {
            if (!record.TryGetValue(column.RestName, out var value) || Equals(lead.Get(column.RestName), value))
            {
                continue;
            }

            changes.Add(new LeadValueChange(column, lead.Get(column.RestName), value));
            if (value is null)
            {
                fields.Remove(column.RestName);
            }
            else
            {
                fields[column.RestName] = value;
            }
        }

        if (changes.Count == 0)
        {
            return new LeadSyncOutcome(LeadSyncStatus.Updated, lead, [], null, null);
        }

        if (changes.Count > standardChanges)
        {
            set.Append(", custom = ").Append(JsonParameterSql("custom"));
            AddParameter(update, "custom", CustomToJson(fields, custom));
        }

        update.CommandText = $"UPDATE lead SET {set} WHERE subscription_id = @s AND id = @id";
        AddParameter(update, "now", TimeToDb(now));
        AddParameter(update, "s", subscriptionId);
        AddParameter(update, "id", lead.Id);
        await update.ExecuteNonQueryAsync(ct);
        return new LeadSyncOutcome(LeadSyncStatus.Updated, lead with { UpdatedAt = now, FieldsUpdatedAt = now, Fields = fields }, changes, null, null);
    }

    public async Task<IReadOnlyList<LeadRecord>> DeleteAsync(int subscriptionId, IReadOnlyList<long> ids, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        var distinct = ids.Distinct().Select(i => (object)i).ToList();
        List<LeadRecord> found;
        await using (var read = Command(connection, tx, ""))
        {
            var sql = new StringBuilder($"SELECT {SelectColumns} FROM lead WHERE subscription_id = @s AND id IN (");
            AddParameter(read, "s", subscriptionId);
            AppendValues(read, sql, distinct, v => v);
            read.CommandText = sql.Append(") ORDER BY id").ToString();
            found = await ReadAllAsync(read, await CustomColumnsAsync(connection, tx, subscriptionId, ct), ct);
        }

        if (found.Count > 0)
        {
            await using var delete = Command(connection, tx, "");
            var sql = new StringBuilder("DELETE FROM lead WHERE subscription_id = @s AND id IN (");
            AddParameter(delete, "s", subscriptionId);
            AppendValues(delete, sql, [.. found.Select(f => (object)f.Id)], v => v);
            delete.CommandText = sql.Append(')').ToString();
            await delete.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return found;
    }

    public async Task<long> CountAsync(int subscriptionId, CancellationToken ct) =>
        await ScalarAsync("SELECT count(*) FROM lead WHERE subscription_id = @s", subscriptionId, ct);

    public async Task<bool> HasLeadDatabaseAsync(int subscriptionId, CancellationToken ct) =>
        await ScalarAsync("SELECT count(*) FROM lead_sequence WHERE subscription_id = @s", subscriptionId, ct) > 0;

    public async Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        long deleted;
        await using (var leads = Command(connection, tx, "DELETE FROM lead WHERE subscription_id = @s"))
        {
            AddParameter(leads, "s", subscriptionId);
            deleted = await leads.ExecuteNonQueryAsync(ct);
        }

        await using (var sequence = Command(connection, tx, "DELETE FROM lead_sequence WHERE subscription_id = @s"))
        {
            AddParameter(sequence, "s", subscriptionId);
            await sequence.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return deleted;
    }

    private async Task<long> ScalarAsync(string sql, int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, sql);
        AddParameter(command, "s", subscriptionId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    /// <summary>Text compares case-insensitively (Marketo finds Ann@X.com by ann@x.com), other kinds exactly.</summary>
    private void AppendMatch(DbCommand command, StringBuilder sql, LeadColumn column, IReadOnlyList<object> values)
    {
        if (column.RestName == "id")
        {
            sql.Append("id IN (");
            AppendValues(command, sql, values, v => v);
        }
        else if (column.Kind == LeadValueKind.Text)
        {
            sql.Append("lower(").Append(column.ColumnName).Append(") IN (");
            AppendValues(command, sql, values, v => ((string)v).ToLowerInvariant());
        }
        else
        {
            sql.Append(column.ColumnName).Append(" IN (");
            AppendValues(command, sql, values, v => ValueToDb(column, v));
        }

        sql.Append(')');
    }

    private static void AppendValues(DbCommand command, StringBuilder sql, IReadOnlyList<object> values, Func<object, object> convert)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var name = "m" + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "@" : ", @").Append(name);
            AddParameter(command, name, convert(values[i]));
        }
    }

    private async Task<List<LeadRecord>> ReadAllAsync(DbCommand command, IReadOnlyList<LeadColumn> custom, CancellationToken ct)
    {
        var leads = new List<LeadRecord>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var fields = new Dictionary<string, object>(StringComparer.Ordinal);
            for (var i = 0; i < LeadColumns.All.Count; i++)
            {
                if (!reader.IsDBNull(4 + i))
                {
                    var column = LeadColumns.All[i];
                    fields[column.RestName] = ValueFromDb(column, reader, 4 + i);
                }
            }

            CustomFromJson(reader.GetString(4 + LeadColumns.All.Count), custom, fields);

            leads.Add(new LeadRecord(reader.GetInt64(0), TimeFromDb(reader, 1), TimeFromDb(reader, 2), TimeFromDb(reader, 3), fields));
        }

        return leads;
    }
}
