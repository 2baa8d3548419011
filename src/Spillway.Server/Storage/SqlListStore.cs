using System.Data.Common;
using System.Globalization;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

/// <summary>
/// The list store in plain SQL that SQLite and PostgreSQL both speak. A set of lead ids travels as one parameter (a
/// provider says how: a JSON array for SQLite, a bigint array for PostgreSQL), so a membership write of any size is one
/// statement. Member rows exist only for existing leads: an insert selects from the lead table, and the lead's
/// foreign key deletes them with the lead.
/// </summary>
internal abstract class SqlListStore : IListStore
{
    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);

    /// <summary>Begins a transaction that serialises the subscription's writes.</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct);

    protected abstract object TimeToDb(DateTimeOffset value);

    protected abstract DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal);

    /// <summary>A SQL expression usable as <c>x IN (expression)</c> that yields the ids bound to <paramref name="parameter"/>.</summary>
    protected abstract string IdSet(string parameter);

    /// <summary>The value of a parameter named in <see cref="IdSet"/>.</summary>
    protected abstract object IdSetValue(IReadOnlyCollection<long> ids);

    public async Task PutListAsync(int subscriptionId, StaticList list, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(list);
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO static_list (subscription_id, id, name, description, program_id, program_name, created_at, updated_at)
            VALUES (@s, @id, @name, @description, @programId, @programName, @created, @updated)
            ON CONFLICT (subscription_id, id) DO UPDATE SET name = excluded.name, description = excluded.description,
                program_id = excluded.program_id, program_name = excluded.program_name, updated_at = excluded.updated_at
            """);
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "id", list.Id);
        AddParameter(command, "name", list.Name);
        AddParameter(command, "description", (object?)list.Description ?? DBNull.Value);
        AddParameter(command, "programId", (object?)list.ProgramId ?? DBNull.Value);
        AddParameter(command, "programName", (object?)list.ProgramName ?? DBNull.Value);
        AddParameter(command, "created", TimeToDb(list.CreatedAt));
        AddParameter(command, "updated", TimeToDb(list.UpdatedAt));
        await command.ExecuteNonQueryAsync(ct);
    }

    public Task<IReadOnlyList<StaticList>> GetListsAsync(int subscriptionId, CancellationToken ct) => ReadListsAsync(subscriptionId, null, ct);

    public async Task<StaticList?> FindListAsync(int subscriptionId, long listId, CancellationToken ct) =>
        (await ReadListsAsync(subscriptionId, listId, ct)).FirstOrDefault();

    private async Task<IReadOnlyList<StaticList>> ReadListsAsync(int subscriptionId, long? listId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null,
            "SELECT id, name, description, program_id, program_name, created_at, updated_at FROM static_list WHERE subscription_id = @s"
            + (listId is null ? "" : " AND id = @id") + " ORDER BY id");
        AddParameter(command, "s", subscriptionId);
        if (listId is { } id)
        {
            AddParameter(command, "id", id);
        }

        var lists = new List<StaticList>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            lists.Add(new StaticList(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4), TimeFromDb(reader, 5),
                TimeFromDb(reader, 6)));
        }

        return lists;
    }

    public async Task<IReadOnlyList<long>> GetMembersAsync(int subscriptionId, long listId, long afterLeadId, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, string.Create(CultureInfo.InvariantCulture,
            $"SELECT lead_id FROM list_member WHERE subscription_id = @s AND list_id = @l AND lead_id > @after ORDER BY lead_id LIMIT {Math.Max(0, limit)}"));
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "l", listId);
        AddParameter(command, "after", afterLeadId);
        return await ReadIdsAsync(command, ct);
    }

    public async Task<long> CountMembersAsync(int subscriptionId, long listId, long cap, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, string.Create(CultureInfo.InvariantCulture,
            $"SELECT count(*) FROM (SELECT 1 FROM list_member WHERE subscription_id = @s AND list_id = @l LIMIT {Math.Max(0, cap)}) AS m"));
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "l", listId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlySet<long>> MembersAmongAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(leadIds);
        if (leadIds.Count == 0)
        {
            return new HashSet<long>();
        }

        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null,
            $"SELECT lead_id FROM list_member WHERE subscription_id = @s AND list_id = @l AND lead_id IN ({IdSet("ids")})");
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "l", listId);
        AddParameter(command, "ids", IdSetValue(leadIds));
        return (await ReadIdsAsync(command, ct)).ToHashSet();
    }

    public async Task<ListMembershipChange> AddMembersAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, DateTimeOffset at,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(leadIds);
        return await ChangeAsync(subscriptionId, listId, leadIds, $"""
            INSERT INTO list_member (subscription_id, list_id, lead_id, added_at)
            SELECT @s, @l, id, @at FROM lead WHERE subscription_id = @s AND id IN ({IdSet("ids")})
            ON CONFLICT (subscription_id, list_id, lead_id) DO NOTHING
            RETURNING lead_id
            """, at, ct);
    }

    public async Task<ListMembershipChange> RemoveMembersAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(leadIds);
        return await ChangeAsync(subscriptionId, listId, leadIds,
            $"DELETE FROM list_member WHERE subscription_id = @s AND list_id = @l AND lead_id IN ({IdSet("ids")}) RETURNING lead_id", null, ct);
    }

    /// <summary>Runs one membership statement and finds the missing leads in the same transaction, so both answers agree.</summary>
    private async Task<ListMembershipChange> ChangeAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, string sql,
        DateTimeOffset? at, CancellationToken ct)
    {
        if (leadIds.Count == 0)
        {
            return new ListMembershipChange([], new HashSet<long>());
        }

        var ids = leadIds.Distinct().ToArray();
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        var missing = new HashSet<long>(ids);
        await using (var existing = Command(connection, tx, $"SELECT id FROM lead WHERE subscription_id = @s AND id IN ({IdSet("ids")})"))
        {
            AddParameter(existing, "s", subscriptionId);
            AddParameter(existing, "ids", IdSetValue(ids));
            foreach (var id in await ReadIdsAsync(existing, ct))
            {
                missing.Remove(id);
            }
        }

        List<long> changed;
        await using (var change = Command(connection, tx, sql))
        {
            AddParameter(change, "s", subscriptionId);
            AddParameter(change, "l", listId);
            AddParameter(change, "ids", IdSetValue(ids));
            if (at is { } time)
            {
                AddParameter(change, "at", TimeToDb(time));
            }

            changed = await ReadIdsAsync(change, ct);
        }

        await tx.CommitAsync(ct);
        changed.Sort();
        return new ListMembershipChange(changed, missing);
    }

    public async Task PutSmartListAsync(int subscriptionId, SmartList list, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(list);
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, """
            INSERT INTO smart_list (subscription_id, id, name, description, rule_field, rule_operator, rule_value, created_at, updated_at)
            VALUES (@s, @id, @name, @description, @field, @op, @value, @created, @updated)
            ON CONFLICT (subscription_id, id) DO UPDATE SET name = excluded.name, description = excluded.description,
                rule_field = excluded.rule_field, rule_operator = excluded.rule_operator, rule_value = excluded.rule_value,
                updated_at = excluded.updated_at
            """);
        AddParameter(command, "s", subscriptionId);
        AddParameter(command, "id", list.Id);
        AddParameter(command, "name", list.Name);
        AddParameter(command, "description", (object?)list.Description ?? DBNull.Value);
        AddParameter(command, "field", list.Rule.Field);
        AddParameter(command, "op", list.Rule.Operator.ToString());
        AddParameter(command, "value", list.Rule.Value);
        AddParameter(command, "created", TimeToDb(list.CreatedAt));
        AddParameter(command, "updated", TimeToDb(list.UpdatedAt));
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<SmartList>> GetSmartListsAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, """
            SELECT id, name, description, rule_field, rule_operator, rule_value, created_at, updated_at
              FROM smart_list WHERE subscription_id = @s ORDER BY id
            """);
        AddParameter(command, "s", subscriptionId);
        var lists = new List<SmartList>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var rule = SmartListRule.Create(reader.GetString(3), Enum.Parse<SmartListOperator>(reader.GetString(4)), reader.GetString(5));
            lists.Add(new SmartList(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), rule,
                TimeFromDb(reader, 6), TimeFromDb(reader, 7)));
        }

        return lists;
    }

    public async Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, subscriptionId, ct);
        long lists = 0;
        foreach (var sql in (string[])["DELETE FROM list_member WHERE subscription_id = @s", "DELETE FROM static_list WHERE subscription_id = @s",
            "DELETE FROM smart_list WHERE subscription_id = @s"])
        {
            await using var command = Command(connection, tx, sql);
            AddParameter(command, "s", subscriptionId);
            var deleted = await command.ExecuteNonQueryAsync(ct);
            lists = sql.Contains("static_list", StringComparison.Ordinal) ? deleted : lists;
        }

        await tx.CommitAsync(ct);
        return lists;
    }

    private static async Task<List<long>> ReadIdsAsync(DbCommand command, CancellationToken ct)
    {
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }
}
