using Npgsql;
using NpgsqlTypes;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// The controls every node of a cluster shares, in PostgreSQL. A change takes the one <c>control_version</c> row's lock
/// and announces its version with <c>pg_notify</c> in the same transaction, so announcements arrive in version order.
/// </summary>
internal sealed class PostgresControlStore(NpgsqlDataSource dataSource) : ISharedControlStore
{
    public const string Channel = "spillway_controls";

    /// <summary>A node that has not said it is alive for this long is not waited for.</summary>
    public static readonly TimeSpan LiveWithin = TimeSpan.FromSeconds(5);

    public async Task<long> CurrentVersionAsync(CancellationToken ct)
    {
        await using var cmd = Command(dataSource, "SELECT version FROM control_version");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<IControlChangeFeed> OpenFeedAsync(CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            var feed = new Feed(connection);
            await using (var listen = Command(connection, null, $"LISTEN {Channel}"))
            {
                await listen.ExecuteNonQueryAsync(ct);
            }

            return feed;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task<IReadOnlyDictionary<int, SharedControlState>> LoadAllAsync(CancellationToken ct) =>
        await LoadWhereAsync(null, ct);

    public async Task<SharedControlState?> LoadAsync(int subscriptionId, CancellationToken ct) =>
        (await LoadWhereAsync(subscriptionId, ct)).GetValueOrDefault(subscriptionId);

    private async Task<Dictionary<int, SharedControlState>> LoadWhereAsync(int? subscriptionId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        // One snapshot for both tables: a rule added between the two reads is in both or in neither.
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var settings = new Dictionary<int, (long Offset, string? Progression)>();
        await using (var cmd = Command(connection, tx,
            "SELECT subscription_id, clock_offset_ticks, progression FROM subscription_control WHERE $1::integer IS NULL OR subscription_id = $1",
            P(subscriptionId, NpgsqlDbType.Integer)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                settings[reader.GetInt32(0)] = (reader.GetInt64(1), reader.GetNString(2));
            }
        }

        var rules = new Dictionary<int, List<SharedFaultRule>>();
        await using (var cmd = Command(connection, tx, """
            SELECT subscription_id, rule_id, body, remaining, skip, matched, fired FROM fault_rule
            WHERE $1::integer IS NULL OR subscription_id = $1 ORDER BY subscription_id, position
            """, P(subscriptionId, NpgsqlDbType.Integer)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetInt32(0);
                if (!rules.TryGetValue(id, out var list))
                {
                    rules[id] = list = [];
                }

                list.Add(ReadRule(reader, 1));
            }
        }

        await tx.CommitAsync(ct);
        var states = new Dictionary<int, SharedControlState>();
        foreach (var id in settings.Keys.Union(rules.Keys))
        {
            var (offset, progression) = settings.GetValueOrDefault(id);
            states[id] = new SharedControlState(offset, progression, rules.GetValueOrDefault(id) ?? []);
        }

        return states;
    }

    public async Task<long> ChangeClockAsync(int subscriptionId, long? setOffsetTicks, long addTicks, CancellationToken ct) =>
        (await ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            await using var cmd = Command(connection, tx, """
                INSERT INTO subscription_control (subscription_id, clock_offset_ticks) VALUES ($1, coalesce($2, 0) + $3)
                ON CONFLICT (subscription_id) DO UPDATE
                SET clock_offset_ticks = coalesce($2, subscription_control.clock_offset_ticks) + $3
                """, Int(subscriptionId), NLong(setOffsetTicks), Long(addTicks));
            await cmd.ExecuteNonQueryAsync(ct);
            return true;
        }, ct))!.Value;

    public async Task<long> SetProgressionAsync(int subscriptionId, string? progressionJson, CancellationToken ct) =>
        (await ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            await using var cmd = Command(connection, tx, """
                INSERT INTO subscription_control (subscription_id, progression) VALUES ($1, $2)
                ON CONFLICT (subscription_id) DO UPDATE SET progression = $2
                """, Int(subscriptionId), Text(progressionJson));
            await cmd.ExecuteNonQueryAsync(ct);
            return true;
        }, ct))!.Value;

    public Task<long?> AddRuleAsync(int subscriptionId, string ruleId, string bodyJson, int? remaining, int skip, int maxRules,
        CancellationToken ct) =>
        ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            // The version lock serializes every change, so the count cannot move between the check and the insert.
            await using var cmd = Command(connection, tx, """
                INSERT INTO fault_rule (subscription_id, rule_id, body, remaining, skip)
                SELECT $1, $2, $3, $4, $5 WHERE (SELECT count(*) FROM fault_rule WHERE subscription_id = $1) < $6
                """, Int(subscriptionId), Text(ruleId), Text(bodyJson), P(remaining, NpgsqlDbType.Integer), Int(skip), Int(maxRules));
            return await cmd.ExecuteNonQueryAsync(ct) == 1;
        }, ct);

    public Task<long?> RemoveRuleAsync(int subscriptionId, string ruleId, CancellationToken ct) =>
        ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            await using var cmd = Command(connection, tx, "DELETE FROM fault_rule WHERE subscription_id = $1 AND rule_id = $2",
                Int(subscriptionId), Text(ruleId));
            return await cmd.ExecuteNonQueryAsync(ct) > 0;
        }, ct);

    public async Task<long> ClearRulesAsync(int subscriptionId, CancellationToken ct) =>
        (await ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            await using var cmd = Command(connection, tx, "DELETE FROM fault_rule WHERE subscription_id = $1", Int(subscriptionId));
            await cmd.ExecuteNonQueryAsync(ct);
            return true;
        }, ct))!.Value;

    public async Task<bool> FireAsync(int subscriptionId, string ruleId, bool chance, CancellationToken ct)
    {
        // The decision of FaultRule.TryFire, made on the row under its lock: a spent count stops everything (skip
        // included), a skip is used up first, then a count fires for sure and an open-ended rule by the node's draw.
        await using var cmd = Command(dataSource, """
            WITH old AS (
                SELECT remaining, skip FROM fault_rule WHERE subscription_id = $1 AND rule_id = $2 FOR UPDATE
            ), decision AS (
                SELECT remaining, skip,
                       (remaining IS NULL OR remaining > 0) AND skip = 0 AND (remaining IS NOT NULL OR $3) AS fires,
                       (remaining IS NULL OR remaining > 0) AND skip > 0 AS skips
                FROM old
            )
            UPDATE fault_rule f
            SET matched = f.matched + 1,
                skip = CASE WHEN d.skips THEN d.skip - 1 ELSE d.skip END,
                remaining = CASE WHEN d.fires AND d.remaining IS NOT NULL THEN d.remaining - 1 ELSE d.remaining END,
                fired = f.fired + CASE WHEN d.fires THEN 1 ELSE 0 END
            FROM decision d
            WHERE f.subscription_id = $1 AND f.rule_id = $2
            RETURNING d.fires
            """, Int(subscriptionId), Text(ruleId), P(chance, NpgsqlDbType.Boolean));
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    public async Task<IReadOnlyList<SharedFaultRule>> RulesAsync(int subscriptionId, CancellationToken ct)
    {
        await using var cmd = Command(dataSource,
            "SELECT rule_id, body, remaining, skip, matched, fired FROM fault_rule WHERE subscription_id = $1 ORDER BY position",
            Int(subscriptionId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rules = new List<SharedFaultRule>();
        while (await reader.ReadAsync(ct))
        {
            rules.Add(ReadRule(reader, 0));
        }

        return rules;
    }

    public async Task InjectFailureAsync(Guid exportId, string errorMsg, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, """
            INSERT INTO injected_failure (export_id, error_msg) VALUES ($1, $2)
            ON CONFLICT (export_id) DO UPDATE SET error_msg = excluded.error_msg
            """, Uuid(exportId), Text(errorMsg));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<string?> TakeInjectedFailureAsync(Guid exportId, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, "DELETE FROM injected_failure WHERE export_id = $1 RETURNING error_msg", Uuid(exportId));
        return await cmd.ExecuteScalarAsync(ct) as string;
    }

    public async Task AppendRequestsAsync(IReadOnlyList<(int SubscriptionId, Func<long, string> Entry)> entries, int capacity, CancellationToken ct)
    {
        if (entries.Count == 0)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Subscriptions in id order, so two nodes flushing at once take the sequence rows' locks in the same order.
        foreach (var group in entries.GroupBy(e => e.SubscriptionId).OrderBy(g => g.Key))
        {
            var batch = group.ToList();
            long last;
            await using (var number = Command(connection, tx, """
                INSERT INTO request_log_sequence (subscription_id, last) VALUES ($1, $2)
                ON CONFLICT (subscription_id) DO UPDATE SET last = request_log_sequence.last + $2
                RETURNING last
                """, Int(group.Key), Long(batch.Count)))
            {
                last = (long)(await number.ExecuteScalarAsync(ct))!;
            }

            var sequences = new long[batch.Count];
            var texts = new string[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                sequences[i] = last - batch.Count + 1 + i;
                texts[i] = batch[i].Entry(sequences[i]);
            }

            await using (var insert = Command(connection, tx,
                "INSERT INTO request_log (subscription_id, sequence, entry) SELECT $1, s, e FROM unnest($2::bigint[], $3::text[]) AS t(s, e)",
                Int(group.Key), P(sequences, NpgsqlDbType.Array | NpgsqlDbType.Bigint), P(texts, NpgsqlDbType.Array | NpgsqlDbType.Text)))
            {
                await insert.ExecuteNonQueryAsync(ct);
            }

            await using (var trim = Command(connection, tx, "DELETE FROM request_log WHERE subscription_id = $1 AND sequence <= $2",
                Int(group.Key), Long(last - capacity)))
            {
                await trim.ExecuteNonQueryAsync(ct);
            }
        }

        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<string>> RequestsAsync(int subscriptionId, long afterSequence, int limit, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, """
            SELECT entry FROM (
                SELECT sequence, entry FROM request_log WHERE subscription_id = $1 AND sequence > $2 ORDER BY sequence DESC LIMIT $3
            ) last ORDER BY sequence
            """, Int(subscriptionId), Long(afterSequence), Int(limit));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var entries = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            entries.Add(reader.GetString(0));
        }

        return entries;
    }

    public async Task ClearRequestsAsync(int subscriptionId, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, "DELETE FROM request_log WHERE subscription_id = $1", Int(subscriptionId));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<long> ResetAsync(int subscriptionId, CancellationToken ct) =>
        (await ChangeAsync(subscriptionId, async (connection, tx) =>
        {
            foreach (var table in (string[])["subscription_control", "fault_rule", "request_log", "request_log_sequence"])
            {
                await using var cmd = Command(connection, tx, $"DELETE FROM {table} WHERE subscription_id = $1", Int(subscriptionId));
                await cmd.ExecuteNonQueryAsync(ct);
            }

            return true;
        }, ct))!.Value;

    public async Task AckAsync(string nodeId, long version, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, """
            INSERT INTO control_node (node_id, applied, seen_at) VALUES ($1, $2, clock_timestamp())
            ON CONFLICT (node_id) DO UPDATE SET applied = greatest(control_node.applied, excluded.applied), seen_at = clock_timestamp()
            """, Text(nodeId), Long(version));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task LeaveAsync(string nodeId, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, "DELETE FROM control_node WHERE node_id = $1", Text(nodeId));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<bool> WaitAppliedAsync(long version, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await using (var cmd = Command(dataSource,
                "SELECT count(*) FROM control_node WHERE applied < $1 AND seen_at > clock_timestamp() - $2",
                Long(version), P(LiveWithin, NpgsqlDbType.Interval)))
            {
                if ((long)(await cmd.ExecuteScalarAsync(ct))! == 0)
                {
                    return true;
                }
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(5, ct);
        }
    }

    private static SharedFaultRule ReadRule(NpgsqlDataReader reader, int first) =>
        new(reader.GetString(first), reader.GetString(first + 1), reader.IsDBNull(first + 2) ? null : reader.GetInt32(first + 2),
            reader.GetInt32(first + 3), reader.GetInt64(first + 4), reader.GetInt64(first + 5));

    /// <summary>Takes the version lock, makes the change, announces it; null (and nothing changed) when the change declines.</summary>
    private async Task<long?> ChangeAsync(int subscriptionId, Func<NpgsqlConnection, NpgsqlTransaction, Task<bool>> change, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        long version;
        await using (var bump = Command(connection, tx, "UPDATE control_version SET version = version + 1 RETURNING version"))
        {
            version = (long)(await bump.ExecuteScalarAsync(ct))!;
        }

        if (!await change(connection, tx))
        {
            await tx.RollbackAsync(ct);
            return null;
        }

        await using (var notify = Command(connection, tx, $"SELECT pg_notify('{Channel}', $1)", Text($"{version}:{subscriptionId}")))
        {
            await notify.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return version;
    }

    private sealed class Feed : IControlChangeFeed
    {
        private readonly NpgsqlConnection _connection;
        private readonly List<ControlChange> _arrived = [];

        public Feed(NpgsqlConnection connection)
        {
            _connection = connection;
            _connection.Notification += (_, e) =>
            {
                var parts = e.Payload.Split(':');
                if (parts.Length == 2 && long.TryParse(parts[0], out var version) && int.TryParse(parts[1], out var subscriptionId))
                {
                    _arrived.Add(new ControlChange(version, subscriptionId));
                }
            };
        }

        public async Task<IReadOnlyList<ControlChange>> WaitAsync(TimeSpan timeout, CancellationToken ct)
        {
            // Notifications are raised on this connection's reads, which only this method makes.
            if (_arrived.Count == 0)
            {
                await _connection.WaitAsync(timeout, ct);
            }

            var changes = _arrived.ToList();
            _arrived.Clear();
            return changes;
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }
}
