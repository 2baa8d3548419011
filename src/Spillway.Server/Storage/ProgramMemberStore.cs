using System.Data.Common;
using System.Globalization;
using System.Text;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

/// <summary>
/// Program membership: which leads of a subscription are members of which program, with the status and dates Marketo's
/// program member describe lists. A lead is a member of a program at most once. Memberships go when their lead is
/// deleted (the store does it, whatever deletes the lead), and with it when the subscription is reset.
/// </summary>
public interface IProgramMemberStore
{
    /// <summary>
    /// Creates or replaces the memberships, in one transaction. A membership of a lead the subscription does not have
    /// is skipped, so none ever names a missing lead. Returns how many were written.
    /// </summary>
    Task<int> PutAsync(int subscriptionId, IReadOnlyList<ProgramMember> members, CancellationToken ct);

    /// <summary>
    /// At most <see cref="ProgramMemberQuery.Limit"/> memberships of the query's programs that match every given filter,
    /// after the query's position, ordered by program id, then lead id.
    /// </summary>
    Task<IReadOnlyList<ProgramMember>> ReadAsync(ProgramMemberQuery query, CancellationToken ct);

    /// <summary>How many memberships the subscription has, in every program.</summary>
    Task<long> CountAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Deletes every membership of the subscription; returns how many there were.</summary>
    Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct);
}

/// <summary>
/// One lead's membership of one program. <see cref="StatusName"/> is the progression status (a step of the program's
/// channel); <see cref="NurtureCadence"/> is <c>norm</c> or <c>paus</c> in engagement programs and null elsewhere.
/// </summary>
public sealed record ProgramMember(
    long ProgramId,
    long LeadId,
    string StatusName,
    string? StatusReason,
    bool ReachedSuccess,
    DateTimeOffset? ReachedSuccessDate,
    DateTimeOffset MembershipDate,
    bool AcquiredBy,
    bool IsExhausted,
    string? NurtureCadence,
    string? TrackName,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>
/// A read of memberships: the programs (at least one), optional filters (a null filter does not filter; an empty
/// list matches nothing), and the position after which the page starts, as (program id, lead id).
/// </summary>
public sealed record ProgramMemberQuery(int SubscriptionId, IReadOnlyList<long> ProgramIds, int Limit)
{
    public IReadOnlyList<long>? LeadIds { get; init; }

    /// <summary>Status names, any of which matches (exactly, as Marketo's names are spelled).</summary>
    public IReadOnlyList<string>? StatusNames { get; init; }

    public bool? ReachedSuccess { get; init; }

    public bool? IsExhausted { get; init; }

    public string? NurtureCadence { get; init; }

    /// <summary>The membership's updatedAt at or after this.</summary>
    public DateTimeOffset? UpdatedFrom { get; init; }

    /// <summary>The membership's updatedAt at or before this.</summary>
    public DateTimeOffset? UpdatedTo { get; init; }

    public long AfterProgramId { get; init; }

    public long AfterLeadId { get; init; }
}

/// <summary>
/// The program member store in plain SQL that SQLite and PostgreSQL both speak (named <c>@</c> parameters, row values,
/// <c>ON CONFLICT</c>); a provider supplies connections and how it stores times.
/// </summary>
internal abstract class SqlProgramMemberStore : IProgramMemberStore
{
    private const string Columns = "program_id, lead_id, status_name, status_reason, reached_success, reached_success_date, membership_date, "
        + "acquired_by, is_exhausted, nurture_cadence, track_name, created_at, updated_at";

    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);

    protected abstract object TimeToDb(DateTimeOffset value);

    protected abstract DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal);

    /// <summary>Begins the transaction of a put; a provider may take its write lock up front.</summary>
    protected virtual async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) => await connection.BeginTransactionAsync(ct);

    public async Task<int> PutAsync(int subscriptionId, IReadOnlyList<ProgramMember> members, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            return 0;
        }

        await using var connection = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(connection, ct);
        var existing = await ExistingLeadsAsync(connection, tx, subscriptionId, [.. members.Select(m => m.LeadId).Distinct()], ct);
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"""
            INSERT INTO program_member (subscription_id, {Columns})
            VALUES (@s, @p, @l, @status, @reason, @success, @successDate, @membership, @acquired, @exhausted, @cadence, @track, @created, @updated)
            ON CONFLICT (subscription_id, program_id, lead_id) DO UPDATE SET
                status_name = excluded.status_name, status_reason = excluded.status_reason, reached_success = excluded.reached_success,
                reached_success_date = excluded.reached_success_date, membership_date = excluded.membership_date,
                acquired_by = excluded.acquired_by, is_exhausted = excluded.is_exhausted, nurture_cadence = excluded.nurture_cadence,
                track_name = excluded.track_name, created_at = excluded.created_at, updated_at = excluded.updated_at
            """;
        string[] names = ["s", "p", "l", "status", "reason", "success", "successDate", "membership", "acquired", "exhausted", "cadence", "track", "created", "updated"];
        foreach (var name in names)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
        }

        var written = 0;
        foreach (var m in members.Where(m => existing.Contains(m.LeadId)))
        {
            object?[] values =
            [
                subscriptionId, m.ProgramId, m.LeadId, m.StatusName, m.StatusReason, m.ReachedSuccess,
                m.ReachedSuccessDate is { } date ? TimeToDb(date) : null, TimeToDb(m.MembershipDate), m.AcquiredBy, m.IsExhausted,
                m.NurtureCadence, m.TrackName, TimeToDb(m.CreatedAt), TimeToDb(m.UpdatedAt),
            ];
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            written += await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return written;
    }

    private static async Task<HashSet<long>> ExistingLeadsAsync(DbConnection connection, DbTransaction tx, int subscriptionId, IReadOnlyList<long> ids,
        CancellationToken ct)
    {
        var existing = new HashSet<long>();
        foreach (var chunk in ids.Chunk(500))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            var sql = new StringBuilder("SELECT id FROM lead WHERE subscription_id = @s AND id IN (");
            AddParameter(command, "s", subscriptionId);
            AppendValues(command, sql, "l", [.. chunk.Select(id => (object)id)]);
            command.CommandText = sql.Append(')').ToString();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                existing.Add(reader.GetInt64(0));
            }
        }

        return existing;
    }

    public async Task<IReadOnlyList<ProgramMember>> ReadAsync(ProgramMemberQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.ProgramIds.Count == 0 || query.Limit <= 0 || query.LeadIds is { Count: 0 } || query.StatusNames is { Count: 0 })
        {
            return [];
        }

        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {Columns} FROM program_member WHERE subscription_id = @s AND (program_id, lead_id) > (@ap, @al) AND program_id IN (");
        AddParameter(command, "s", query.SubscriptionId);
        AddParameter(command, "ap", query.AfterProgramId);
        AddParameter(command, "al", query.AfterLeadId);
        AppendValues(command, sql, "p", [.. query.ProgramIds.Distinct().Select(p => (object)p)]);
        sql.Append(')');
        if (query.LeadIds is { } leads)
        {
            sql.Append(" AND lead_id IN (");
            AppendValues(command, sql, "l", [.. leads.Distinct().Select(l => (object)l)]);
            sql.Append(')');
        }

        if (query.StatusNames is { } statuses)
        {
            sql.Append(" AND status_name IN (");
            AppendValues(command, sql, "n", [.. statuses.Distinct()]);
            sql.Append(')');
        }

        if (query.ReachedSuccess is { } success)
        {
            sql.Append(" AND reached_success = @success");
            AddParameter(command, "success", success);
        }

        if (query.IsExhausted is { } exhausted)
        {
            sql.Append(" AND is_exhausted = @exhausted");
            AddParameter(command, "exhausted", exhausted);
        }

        if (query.NurtureCadence is { } cadence)
        {
            sql.Append(" AND nurture_cadence = @cadence");
            AddParameter(command, "cadence", cadence);
        }

        if (query.UpdatedFrom is { } from)
        {
            sql.Append(" AND updated_at >= @from");
            AddParameter(command, "from", TimeToDb(from));
        }

        if (query.UpdatedTo is { } to)
        {
            sql.Append(" AND updated_at <= @to");
            AddParameter(command, "to", TimeToDb(to));
        }

        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY program_id, lead_id LIMIT {query.Limit}");
        command.CommandText = sql.ToString();
        var page = new List<ProgramMember>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            page.Add(new ProgramMember(
                reader.GetInt64(0),
                reader.GetInt64(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetBoolean(4),
                reader.IsDBNull(5) ? null : TimeFromDb(reader, 5),
                TimeFromDb(reader, 6),
                reader.GetBoolean(7),
                reader.GetBoolean(8),
                reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                TimeFromDb(reader, 11),
                TimeFromDb(reader, 12)));
        }

        return page;
    }

    public async Task<long> CountAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM program_member WHERE subscription_id = @s";
        AddParameter(command, "s", subscriptionId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    public async Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM program_member WHERE subscription_id = @s";
        AddParameter(command, "s", subscriptionId);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static void AppendValues(DbCommand command, StringBuilder sql, string prefix, IReadOnlyList<object> values)
    {
        for (var i = 0; i < values.Count; i++)
        {
            var name = prefix + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "@" : ", @").Append(name);
            AddParameter(command, name, values[i]);
        }
    }
}
