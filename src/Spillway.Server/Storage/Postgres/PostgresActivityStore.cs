using System.Collections.Concurrent;
using System.Data;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Activities in PostgreSQL: a table partitioned by month on activity_date (partitions attached on demand), keyed
/// (subscription_id, activity_date, marketo_guid), with an unpartitioned key table for idempotency by marketoGUID.
/// </summary>
internal sealed partial class PostgresActivityStore(NpgsqlDataSource dataSource) : IActivityStore, IActivityPageReader, IActivityWriter
{
    /// <summary>Months (year * 100 + month) known to have a partition, or known to fall back to the default one.</summary>
    private readonly ConcurrentDictionary<int, bool> _months = new();

    private const string ActivityColumns =
        "marketo_guid, lead_id, activity_date, activity_type_id, campaign_id, primary_attribute_value_id, " +
        "primary_attribute_value, attributes, action_result, text_escaped";

    public async Task<long> AppendAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(activities);
        if (activities.Count == 0)
        {
            return 0;
        }

        await EnsurePartitionsAsync(activities.Select(a => MonthKey(a.ActivityDate)).Distinct(), ct);

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // Shared: nodes of an earlier version take it exclusively to hand out new GUIDs (migration 0018).
        await XactLockSharedAsync(connection, transaction, NewGuidLock, 0, ct);
        await StageAsync(connection, transaction, activities, ct);

        // No range handed out from now on holds one of these GUIDs, and the ranges handed out before are over (committed
        // or rolled back) before a key goes in: a new batch never finds one of its keys taken by an import.
        long lastRange;
        await using (var raise = Command(connection, transaction,
            "SELECT spillway_raise_guids((SELECT coalesce(max(marketo_guid), 0) FROM activity_stage))"))
        {
            lastRange = (long)(await raise.ExecuteScalarAsync(ct))!;
        }

        await WaitForRangeAsync(connection, transaction, lastRange);

        // Keys go in first (in guid order, so concurrent overlapping appends cannot deadlock); a key another
        // transaction holds or has committed is skipped, and only rows whose key went in are inserted. Within the
        // batch the first occurrence of a marketoGUID wins.
        long added;
        await using (var insert = Command(connection, transaction,
            $"""
            WITH new_keys AS (
                INSERT INTO activity_key (subscription_id, marketo_guid)
                SELECT $1, marketo_guid FROM (SELECT DISTINCT marketo_guid FROM activity_stage) d ORDER BY marketo_guid
                ON CONFLICT DO NOTHING
                RETURNING marketo_guid
            )
            INSERT INTO activity (subscription_id, {ActivityColumns})
            SELECT DISTINCT ON (s.marketo_guid) $1, s.{ActivityColumns.Replace(", ", ", s.", StringComparison.Ordinal)}
            FROM activity_stage s JOIN new_keys k ON k.marketo_guid = s.marketo_guid
            ORDER BY s.marketo_guid, s.ord
            """,
            Int(subscriptionId)))
        {
            added = await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return added;
    }

    /// <summary>
    /// Appends a batch of new activities with consecutive new marketoGUIDs, all or nothing. Batches of different callers
    /// and nodes insert at once: each takes its GUIDs as a range from <c>spillway_take_guids</c> (a moment under a
    /// lock), copies its keys and rows in (encoded before its transaction begins, see <see cref="NewActivityCopy"/>),
    /// and before it commits waits for the previous range's batch to end, so batches become visible in the order of
    /// their GUIDs: a reader paging by marketoGUID never sees a GUID after a higher one. The range's lock is released
    /// only once this transaction is over and the previous one's lock is released. Once the transaction has begun,
    /// the caller's cancellation no longer stops it, so a batch is never stored without its caller being told.
    /// </summary>
    public async Task<long> AppendNewAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(activities);
        var rows = NewActivityCopy.Encode(subscriptionId, activities, HasNul, Escape);
        var n = activities.Count;
        if (n > 0)
        {
            await EnsurePartitionsAsync(activities.Select(a => MonthKey(a.ActivityDate)).Distinct(), ct);
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        ct = CancellationToken.None;
        long first, previous;
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                // Shared: nodes of an earlier version take it exclusively to hand out GUIDs (migration 0018).
                batch.BatchCommands.Add(BatchCommand("SELECT pg_advisory_xact_lock_shared($1, $2)", Int(NewGuidLock), Int(0)));
                batch.BatchCommands.Add(BatchCommand("SELECT first, previous_end FROM spillway_take_guids($1)", Long(n)));
                await using var reader = await batch.ExecuteReaderAsync(ct);
                await reader.NextResultAsync(ct);
                await reader.ReadAsync(ct);
                first = reader.GetInt64(0);
                previous = reader.GetInt64(1);
            }

            if (n == 0)
            {
                await transaction.CommitAsync(ct);
                return first;
            }

            try
            {
                rows.SetGuids(first);
                await CopyKeysAsync(connection, subscriptionId, first, n);
                await using (var copy = await connection.BeginRawBinaryCopyAsync($"COPY activity ({NewActivityCopy.Columns}) FROM STDIN (FORMAT BINARY)", ct))
                {
                    await copy.WriteAsync(rows.Stream, ct);
                }

                await WaitForRangeAsync(connection, transaction, previous);
                await transaction.CommitAsync(ct);
            }
            catch
            {
                await ReleaseRangeAsync(connection, transaction, previous);
                throw;
            }
        }

        await ReleaseRangeAsync(connection, null, previous);
        return first;
    }

    /// <summary>Copies the keys (subscription, GUID first + i) of a new batch of n activities, in binary.</summary>
    private static async Task CopyKeysAsync(NpgsqlConnection connection, int subscriptionId, long first, int n)
    {
        await using var copy = await connection.BeginRawBinaryCopyAsync(
            "COPY activity_key (subscription_id, marketo_guid) FROM STDIN (FORMAT BINARY)", CancellationToken.None);
        await copy.WriteAsync(NewActivityCopy.Keys(subscriptionId, first, n), CancellationToken.None);
    }

    /// <summary>Waits until the range ending at <paramref name="end"/> is released: its batch and every earlier one are over.</summary>
    private static async Task WaitForRangeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long end)
    {
        // Shared, for the rest of the transaction (or the statement): nobody takes a range's lock again once released.
        await using var wait = Command(connection, transaction, "SELECT pg_advisory_xact_lock_shared($1)", Long(end));
        await wait.ExecuteNonQueryAsync(CancellationToken.None);
    }

    /// <summary>
    /// After a failure: rolls back, waits for the previous range, and releases this one (and the connection's every
    /// session lock). After a commit (<paramref name="transaction"/> null): releases. A connection that cannot release
    /// them is broken, and its session, with the locks, ends with it; one that is not broken is kept out of the pool.
    /// </summary>
    private static async Task ReleaseRangeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long previous)
    {
        try
        {
            if (transaction is not null)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                await WaitForRangeAsync(connection, null, previous);
            }

            await using var release = Command(connection, null, "SELECT pg_advisory_unlock_all()");
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            NpgsqlConnection.ClearPool(connection);
        }
    }

    /// <summary>
    /// Copies a batch (binary COPY) into the transaction's temp table activity_stage, row i with ord = i, dates to
    /// the second, text escaped where it holds a NUL.
    /// </summary>
    private static async Task StageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<ActivityRecord> activities, CancellationToken ct)
    {
        await using (var stage = Command(connection, transaction,
            """
            CREATE TEMP TABLE activity_stage (
                ord integer NOT NULL, marketo_guid bigint NOT NULL, lead_id bigint NOT NULL, activity_date timestamptz NOT NULL,
                activity_type_id integer NOT NULL, campaign_id bigint, primary_attribute_value_id bigint,
                primary_attribute_value text, attributes text NOT NULL, action_result text, text_escaped boolean NOT NULL
            ) ON COMMIT DROP
            """))
        {
            await stage.ExecuteNonQueryAsync(ct);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
            $"COPY activity_stage (ord, {ActivityColumns}) FROM STDIN (FORMAT BINARY)", ct))
        {
            for (var i = 0; i < activities.Count; i++)
            {
                var a = activities[i];
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(i, NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(a.MarketoGuid, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(a.LeadId, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(ToSecond(a.ActivityDate), NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(a.ActivityTypeId, NpgsqlDbType.Integer, ct);
                await WriteNullableAsync(copy, a.CampaignId, ct);
                await WriteNullableAsync(copy, a.PrimaryAttributeValueId, ct);
                var escape = HasNul(a.PrimaryAttributeValue) || HasNul(a.Attributes) || HasNul(a.ActionResult);
                await WriteNullableAsync(copy, escape ? Escape(a.PrimaryAttributeValue) : a.PrimaryAttributeValue, ct);
                await copy.WriteAsync(escape ? Escape(a.Attributes) : a.Attributes, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(copy, escape ? Escape(a.ActionResult) : a.ActionResult, ct);
                await copy.WriteAsync(escape, NpgsqlDbType.Boolean, ct);
            }

            await copy.CompleteAsync(ct);
        }
    }

    public async Task<IReadOnlyList<ActivityRecord>> ReadPageAsync(ActivityPageQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit <= 0)
        {
            return [];
        }

        // Served by activity_sub_guid_ix: an ordered index scan per partition (the date bound prunes older months),
        // merged and cut at the limit.
        var sql = $"""
            SELECT {ActivityColumns} FROM activity
            WHERE subscription_id = $1 AND marketo_guid > $2 AND activity_date >= $3
            """;
        var parameters = new List<NpgsqlParameter> { Int(query.SubscriptionId), Long(query.AfterMarketoGuid), Time(ToSecond(query.Since)) };
        if (query.ActivityTypeIds is { } types)
        {
            parameters.Add(P(types.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer));
            sql += $" AND activity_type_id = ANY(${parameters.Count})";
        }

        if (query.PrimaryAttributeValueIds is { } assets)
        {
            parameters.Add(P(assets.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint));
            sql += $" AND primary_attribute_value_id = ANY(${parameters.Count})";
        }

        if (query.LeadIds is { } leads)
        {
            parameters.Add(P(leads.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint));
            sql += $" AND lead_id = ANY(${parameters.Count})";
        }

        parameters.Add(Int(query.Limit));
        sql += $" ORDER BY marketo_guid LIMIT ${parameters.Count}";

        await using var command = Command(dataSource, sql, [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var page = new List<ActivityRecord>(Math.Min(query.Limit, 1000));
        while (await reader.ReadAsync(ct))
        {
            page.Add(ReadRecord(reader));
        }

        return page;
    }

    /// <summary>The list members read; its filter matches the partial index <c>activity_list_change_ix</c> (migration 0019).</summary>
    internal const string ListMembersSql =
        """
        SELECT lead_id FROM (
            SELECT DISTINCT ON (lead_id) lead_id, activity_type_id
              FROM activity
             WHERE subscription_id = $1 AND activity_type_id IN (24, 25) AND primary_attribute_value_id = $2
             ORDER BY lead_id, activity_date DESC, marketo_guid DESC) latest
         WHERE activity_type_id = 24
         ORDER BY lead_id
         LIMIT $3
        """;

    public async Task<IReadOnlyList<long>> ListMembersAsync(int subscriptionId, long listId, int limit, CancellationToken ct)
    {
        await using var command = Command(dataSource, ListMembersSql, Int(subscriptionId), Long(listId), Int(Math.Max(0, limit)));
        var members = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            members.Add(reader.GetInt64(0));
        }

        return members;
    }

    /// <summary>A row in <see cref="ActivityColumns"/> order, its text unescaped if it was stored escaped.</summary>
    private static ActivityRecord ReadRecord(NpgsqlDataReader reader)
    {
        var asset = reader.GetNString(6);
        var attributes = reader.GetString(7);
        var result = reader.GetNString(8);
        if (reader.GetBoolean(9))
        {
            asset = Unescape(asset);
            attributes = Unescape(attributes)!;
            result = Unescape(result);
        }

        return new ActivityRecord(reader.GetInt64(0), reader.GetInt64(1), reader.GetTime(2), reader.GetInt32(3), reader.GetNLong(4),
            reader.GetNLong(5), asset, attributes, result);
    }

    public async Task<long> CountAsync(int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(dataSource, "SELECT count(*) FROM activity_key WHERE subscription_id = $1", Int(subscriptionId));
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<long> MaxMarketoGuidAsync(CancellationToken ct)
    {
        await using var command = Command(dataSource, "SELECT coalesce(max(marketo_guid), 0) FROM activity_key");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        long deleted;
        await using (var rows = Command(connection, transaction, "DELETE FROM activity WHERE subscription_id = $1", Int(subscriptionId)))
        {
            deleted = await rows.ExecuteNonQueryAsync(ct);
        }

        await using (var keys = Command(connection, transaction, "DELETE FROM activity_key WHERE subscription_id = $1", Int(subscriptionId)))
        {
            await keys.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return deleted;
    }

    /// <summary>
    /// Activity dates are kept to the second, the precision of the export file, so the order
    /// "activityDate, then marketoGUID" is the order of what the file shows, and the inclusive bounds compare whole
    /// seconds; the embedded store does the same.
    /// </summary>
    private static DateTimeOffset ToSecond(DateTimeOffset value) => DateTimeOffset.FromUnixTimeSeconds(value.ToUnixTimeSeconds());

    private static int MonthKey(DateTimeOffset date)
    {
        var utc = date.UtcDateTime;
        return (utc.Year * 100) + utc.Month;
    }

    /// <summary>
    /// Attaches a partition for every month not seen yet. A new partition is created as a plain table with the
    /// range as a CHECK constraint and then attached: ATTACH PARTITION takes only SHARE UPDATE EXCLUSIVE on the
    /// parent (CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE and stall running exports), and the
    /// constraint spares the validation scan. Serialised across nodes by an advisory lock.
    /// </summary>
    private async Task EnsurePartitionsAsync(IEnumerable<int> months, CancellationToken ct)
    {
        foreach (var month in months)
        {
            if (_months.ContainsKey(month))
            {
                continue;
            }

            var year = month / 100;
            var from = new DateTime(year, month % 100, 1, 0, 0, 0, DateTimeKind.Utc);
            if (year >= 9999 && month % 100 == 12)
            {
                _months[month] = false; // no upper bound to name; the default partition holds it
                continue;
            }

            var to = from.AddMonths(1);
            var name = string.Create(CultureInfo.InvariantCulture, $"activity_p{year:D4}{month % 100:D2}");
            var lo = from.ToString("yyyy-MM-dd'T'HH:mm:ss'+00'", CultureInfo.InvariantCulture);
            var hi = to.ToString("yyyy-MM-dd'T'HH:mm:ss'+00'", CultureInfo.InvariantCulture);

            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await XactLockAsync(connection, transaction, PartitionLock, 0, ct);
            await using (var exists = Command(connection, transaction, "SELECT to_regclass($1) IS NOT NULL", Text(name)))
            {
                if ((bool)(await exists.ExecuteScalarAsync(ct))!)
                {
                    await transaction.CommitAsync(ct);
                    _months[month] = true;
                    continue;
                }
            }

            try
            {
                await using var create = Command(connection, transaction,
                    $"""
                    CREATE TABLE {name} (LIKE activity INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
                    ALTER TABLE {name} ADD CONSTRAINT {name}_range
                        CHECK (activity_date >= '{lo}' AND activity_date < '{hi}');
                    ALTER TABLE activity ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}');
                    ALTER TABLE {name} DROP CONSTRAINT {name}_range;
                    """);
                await create.ExecuteNonQueryAsync(ct);
                await transaction.CommitAsync(ct);
                _months[month] = true;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CheckViolation)
            {
                // The default partition already holds rows of this month: keep using it for this month.
                await transaction.RollbackAsync(ct);
                _months[month] = false;
            }
        }
    }

    private static bool HasNul(string? value) => value is not null && value.Contains('\0', StringComparison.Ordinal);

    [return: NotNullIfNotNull(nameof(value))]
    private static string? Escape(string? value) =>
        value?.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal);

    [return: NotNullIfNotNull(nameof(value))]
    private static string? Unescape(string? value)
    {
        if (value is null || !value.Contains('\\', StringComparison.Ordinal))
        {
            return value;
        }

        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                text.Append(value[++i] == '0' ? '\0' : value[i]);
            }
            else
            {
                text.Append(value[i]);
            }
        }

        return text.ToString();
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter copy, T? value, CancellationToken ct)
        where T : struct =>
        value is { } v ? copy.WriteAsync(v, ct) : copy.WriteNullAsync(ct);

    private static Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct) =>
        value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, NpgsqlDbType.Text, ct);
}
