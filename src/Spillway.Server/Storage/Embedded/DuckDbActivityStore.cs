using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using DuckDB.NET.Data;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// Activities in DuckDB: columnar and compressed (about a third of the size of a row store), fast to append, and
/// fast to scan by date because its row groups keep min/max zone maps and activities mostly arrive in time order.
/// One process owns the file; appends are serialised here, reads run alongside them.
/// </summary>
internal sealed partial class DuckDbActivityStore : IActivityStore, IActivityPageReader, IActivityWriter, IDisposable
{
    private readonly string _connectionString;
    private readonly DuckDBConnection _keeper;
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private readonly TimeSpan _chunk;
    private readonly long _rowsPerQuery;
    private long _maxGuid = -1; // the highest marketoGUID stored for any subscription, once known; guarded by _appendLock
    private readonly GroupCommit _newActivities;

    /// <summary>Whether DuckDB takes this as a memory size; it goes into a SET statement as it is, so nothing else may pass.</summary>
    public static bool IsMemoryLimit(string? value) =>
        value is not null && System.Text.RegularExpressions.Regex.IsMatch(value, "^[0-9]+(\\.[0-9]+)?\\s*[KMGT]i?B$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    public DuckDbActivityStore(string path, string tempFolder, TimeSpan chunk, string memoryLimit, long rowsPerQuery = 50_000)
    {
        _rowsPerQuery = Math.Max(1, rowsPerQuery);
        _newActivities = new GroupCommit(CommitNewAsync);
        _connectionString = $"Data Source={path}";
        _chunk = chunk <= TimeSpan.Zero ? TimeSpan.FromDays(1) : chunk;
        // Keeps the database instance (and its file lock) open for the life of the store.
        _keeper = new DuckDBConnection(_connectionString);
        _keeper.Open();
        if (!IsMemoryLimit(memoryLimit))
        {
            throw new ArgumentException($"'{memoryLimit}' is not a memory size such as 256MB.", nameof(memoryLimit));
        }

        Execute(_keeper, $"SET memory_limit = '{memoryLimit}'; SET temp_directory = '{tempFolder.Replace("'", "''", StringComparison.Ordinal)}'; " +
            "SET preserve_insertion_order = false;");
        Execute(_keeper, """
            CREATE TABLE IF NOT EXISTS activity (
                subscription_id            INTEGER NOT NULL,
                marketo_guid               BIGINT  NOT NULL,
                lead_id                    BIGINT  NOT NULL,
                activity_ts                BIGINT  NOT NULL, -- Unix seconds, UTC
                activity_type_id           INTEGER NOT NULL,
                campaign_id                BIGINT,
                primary_attribute_value_id BIGINT,
                primary_attribute_value    VARCHAR,
                attributes                 VARCHAR NOT NULL, -- the compact JSON object written as is
                action_result              VARCHAR
            );
            -- Text goes in as UTF-8 bytes with their length (RowAppender), so NUL is kept as stored.
            DROP TABLE IF EXISTS activity_staging;
            CREATE TABLE activity_staging (
                subscription_id            INTEGER NOT NULL,
                marketo_guid               BIGINT  NOT NULL,
                lead_id                    BIGINT  NOT NULL,
                activity_ts                BIGINT  NOT NULL,
                activity_type_id           INTEGER NOT NULL,
                campaign_id                BIGINT,
                primary_attribute_value_id BIGINT,
                primary_attribute_value    VARCHAR,
                attributes                 VARCHAR NOT NULL,
                action_result              VARCHAR
            );
            """);
    }

    public async Task<long> AppendAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct)
    {
        if (activities.Count == 0)
        {
            return 0;
        }

        await _appendLock.WaitAsync(ct);
        try
        {
            var added = AppendLocked(subscriptionId, activities);
            if (_maxGuid >= 0)
            {
                foreach (var a in activities)
                {
                    _maxGuid = Math.Max(_maxGuid, a.MarketoGuid);
                }
            }

            return added;
        }
        catch
        {
            _maxGuid = -1; // part of the batch may be stored: read the maximum again when it is next needed
            throw;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    public Task<long> AppendNewAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct) =>
        _newActivities.AppendAsync(subscriptionId, activities, ct);

    /// <summary>
    /// Commits a group of new batches (see <see cref="GroupCommit"/>) with consecutive GUIDs above the highest stored, in
    /// one transaction (<see cref="AppendRows(DuckDBConnection, IEnumerable{ValueTuple{int, IReadOnlyList{ActivityRecord}, long?}})"/>):
    /// readers see the whole group or none of it, no GUID before the ones they see is still to come, and a failure partway
    /// leaves nothing.
    /// </summary>
    private async Task CommitNewAsync(IReadOnlyList<PendingAppend> group)
    {
        await _appendLock.WaitAsync();
        try
        {
            var firsts = new long[group.Count];
            var next = KnownMaxGuid() + 1;
            for (var i = 0; i < group.Count; i++)
            {
                firsts[i] = next;
                next += group[i].Activities.Count;
            }

            try
            {
                using var connection = Open();
                AppendRows(connection, group.Select((p, i) => (p.SubscriptionId, p.Activities, (long?)firsts[i])));
            }
            catch
            {
                _maxGuid = -1; // whether the commit went in is not known: read the maximum again when it is next needed
                throw;
            }

            _maxGuid = next - 1;
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Committed(firsts[i]);
            }
        }
        finally
        {
            _appendLock.Release();
        }
    }

    /// <summary>Appends under <see cref="_appendLock"/>.</summary>
    private long AppendLocked(int subscriptionId, IReadOnlyList<ActivityRecord> activities)
    {
        using var connection = Open();

        // An export file is ordered by date, not GUID: sorted, its batch may still be all new.
        var batch = IsStrictlyIncreasing(activities) ? activities : [.. activities.OrderBy(a => a.MarketoGuid)];
        if (IsStrictlyIncreasing(batch) && batch[0].MarketoGuid > MaxGuid(connection, subscriptionId))
        {
            // The common case (new activities get new, growing ids): nothing can be a duplicate, so append directly.
            AppendRows(connection, subscriptionId, batch);
            return batch.Count;
        }

        return AppendStaged(connection, subscriptionId, activities);
    }

    /// <summary>Appends through the staging table in one INSERT, skipping what the subscription already has.</summary>
    private static long AppendStaged(DuckDBConnection connection, int subscriptionId, IReadOnlyList<ActivityRecord> activities)
    {
        Execute(connection, "DELETE FROM activity_staging");
        long min = long.MaxValue, max = long.MinValue;
        var rows = new RowAppender();
        using (var appender = connection.CreateAppender("activity_staging"))
        {
            foreach (var a in activities)
            {
                min = Math.Min(min, a.MarketoGuid);
                max = Math.Max(max, a.MarketoGuid);
                rows.Append(appender, subscriptionId, a.MarketoGuid, a);
            }
        }

        // Idempotent by marketoGUID: skip what the subscription already has, and duplicates inside the batch.
        // The guid range lets DuckDB's zone maps skip row groups that cannot hold a duplicate.
        using var insert = connection.CreateCommand();
        insert.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
            INSERT INTO activity
            SELECT s.subscription_id, s.marketo_guid, s.lead_id, s.activity_ts, s.activity_type_id, s.campaign_id,
                   s.primary_attribute_value_id, s.primary_attribute_value, s.attributes, s.action_result
              FROM activity_staging s
             WHERE NOT EXISTS (SELECT 1 FROM activity a
                                WHERE a.subscription_id = {subscriptionId} AND a.marketo_guid BETWEEN {min} AND {max}
                                  AND a.marketo_guid = s.marketo_guid)
            QUALIFY row_number() OVER (PARTITION BY s.marketo_guid ORDER BY s.activity_ts) = 1
            """);
        var added = insert.ExecuteNonQuery();
        Execute(connection, "DELETE FROM activity_staging");
        return added;
    }

    private static bool IsStrictlyIncreasing(IReadOnlyList<ActivityRecord> activities)
    {
        for (var i = 1; i < activities.Count; i++)
        {
            if (activities[i].MarketoGuid <= activities[i - 1].MarketoGuid)
            {
                return false;
            }
        }

        return true;
    }

    private static long MaxGuid(DuckDBConnection connection, int subscriptionId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = string.Create(CultureInfo.InvariantCulture,
            $"SELECT COALESCE(MAX(marketo_guid), -9223372036854775808) FROM activity WHERE subscription_id = {subscriptionId}");
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void AppendRows(DuckDBConnection connection, int subscriptionId, IReadOnlyList<ActivityRecord> activities) =>
        AppendRows(connection, [(subscriptionId, activities, null)]);

    /// <summary>
    /// Batches of rows that cannot be duplicates (new GUIDs, or growing GUIDs above the subscription's highest) through one
    /// appender, in one transaction. The appender flushes by itself every 204,800 rows, and closing it flushes whatever it
    /// holds even after a failure partway; inside the transaction either lands only with the commit, so readers see all
    /// of the batches or none of them.
    /// </summary>
    private static void AppendRows(DuckDBConnection connection,
        IEnumerable<(int SubscriptionId, IReadOnlyList<ActivityRecord> Activities, long? FirstNewGuid)> batches)
    {
        using var transaction = connection.BeginTransaction();
        var rows = new RowAppender();
        using (var appender = connection.CreateAppender("activity"))
        {
            foreach (var (subscriptionId, activities, firstNewGuid) in batches)
            {
                for (var i = 0; i < activities.Count; i++)
                {
                    rows.Append(appender, subscriptionId, firstNewGuid + i ?? activities[i].MarketoGuid, activities[i]);
                }
            }
        }

        transaction.Commit();
    }

    /// <summary>
    /// Appends activity rows (the activity table and its staging table share the columns), text as UTF-8 bytes with their
    /// length through one reused buffer. Given a string, the appender passes it on as a C string, which ends at the first
    /// NUL, and copies it into native memory first; bytes go into the column as they are, NUL included.
    /// </summary>
    private sealed class RowAppender
    {
        private byte[] _buffer = new byte[1024];

        public void Append(DuckDBAppender appender, int subscriptionId, long guid, ActivityRecord a)
        {
            var row = appender.CreateRow()
                .AppendValue((int?)subscriptionId)
                .AppendValue((long?)guid)
                .AppendValue((long?)a.LeadId)
                .AppendValue((long?)a.ActivityDate.ToUnixTimeSeconds())
                .AppendValue((int?)a.ActivityTypeId)
                .AppendValue(a.CampaignId)
                .AppendValue(a.PrimaryAttributeValueId);
            Text(Text(Text(row, a.PrimaryAttributeValue), a.Attributes), a.ActionResult).EndRow();
        }

        private IDuckDBAppenderRow Text(IDuckDBAppenderRow row, string? value)
        {
            if (value is null)
            {
                return row.AppendNullValue();
            }

            var most = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (_buffer.Length < most)
            {
                _buffer = new byte[Math.Max(most, _buffer.Length * 2)];
            }

            return row.AppendValue(_buffer.AsSpan(0, Encoding.UTF8.GetBytes(value, _buffer)));
        }
    }

    /// <summary>The highest marketoGUID of any subscription, read from the file once and then kept; under <see cref="_appendLock"/>.</summary>
    private long KnownMaxGuid() => _maxGuid = _maxGuid >= 0 ? _maxGuid : Scalar("SELECT COALESCE(MAX(marketo_guid), 0) FROM activity");

    /// <summary>
    /// The window as ordered queries: the engine sorts a few hours (a few MB) at a time instead of the whole window, and
    /// the zone maps skip the row groups outside each. The window is cut into spans of <see cref="_chunk"/>, and
    /// neighbouring spans are merged while together they hold at most <c>rowsPerQuery</c> rows (50,000 by default, about
    /// 15 MB of demo data; the counts per span come from one query): every query has a fixed cost of a few milliseconds,
    /// which on a small store was most of a job.
    /// The queries still cover the whole window, empty spans included, so nothing appended meanwhile falls between them.
    /// </summary>
    private List<string> WindowQueries(DuckDBConnection connection, ActivityQuery query)
    {
        var filters = new StringBuilder();
        if (query.ActivityTypeIds is { Count: > 0 } types)
        {
            filters.Append(" AND activity_type_id IN (").AppendJoin(',', types).Append(')');
        }

        if (query.PrimaryAttributeValueIds is not null)
        {
            filters.Append(query.PrimaryAttributeValueIds.Count == 0
                ? " AND false"
                : " AND primary_attribute_value_id IN (" + string.Join(',', query.PrimaryAttributeValueIds) + ")");
        }

        var start = query.StartAt.ToUnixTimeSeconds();
        var end = query.EndAt.ToUnixTimeSeconds();
        var step = (long)_chunk.TotalSeconds;
        var counts = new Dictionary<long, long>();
        if (end >= start)
        {
            using var command = connection.CreateCommand();
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
                SELECT (activity_ts - {start}) // {step} AS span, count(*)
                  FROM activity
                 WHERE subscription_id = {query.SubscriptionId} AND activity_ts BETWEEN {start} AND {end}{filters}
                 GROUP BY span
                """);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                counts[reader.GetInt64(0)] = reader.GetInt64(1);
            }
        }

        var queries = new List<string>();
        for (var from = start; from <= end;)
        {
            // Take spans while the rows stay within the budget (always at least one span).
            var span = (from - start) / step;
            var to = Math.Min(end, from + step - 1);
            var rows = counts.GetValueOrDefault(span);
            while (to < end && rows + counts.GetValueOrDefault(span + 1) <= _rowsPerQuery)
            {
                rows += counts.GetValueOrDefault(++span);
                to = Math.Min(end, to + step);
            }

            queries.Add(string.Create(CultureInfo.InvariantCulture, $"""
                SELECT {RecordColumns}
                  FROM activity
                 WHERE subscription_id = {query.SubscriptionId} AND activity_ts BETWEEN {from} AND {to}{filters}
                 ORDER BY activity_ts, marketo_guid
                """));
            from = to + 1;
        }

        return queries;
    }

    /// <summary>The columns <see cref="ReadRecord"/> (a page) and the window stream read, in their order.</summary>
    private const string RecordColumns = "marketo_guid, lead_id, activity_ts, activity_type_id, campaign_id, primary_attribute_value_id, " +
        "primary_attribute_value, attributes, action_result";

    public Task<IReadOnlyList<ActivityRecord>> ReadPageAsync(ActivityPageQuery query, CancellationToken ct)
    {
        using var connection = Open();
        var limit = Math.Max(0, query.Limit);
        var highest = ScalarOn(connection, string.Create(CultureInfo.InvariantCulture,
            $"SELECT COALESCE(MAX(marketo_guid), 0) FROM activity WHERE subscription_id = {query.SubscriptionId}"));
        if (limit == 0 || highest <= query.AfterMarketoGuid)
        {
            return Task.FromResult<IReadOnlyList<ActivityRecord>>([]);
        }

        // Without a bound, ORDER BY marketo_guid LIMIT n sorts everything after the position, on every page. A GUID range
        // lets the zone maps skip the rest; it widens until it holds a full page or reaches the highest GUID. The first
        // `limit` rows of (after, upper] are the first `limit` rows after `after` overall, so nothing is skipped.
        var span = Math.Max(4096L, limit * 16L);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var upper = highest - query.AfterMarketoGuid <= span ? highest : query.AfterMarketoGuid + span;
            var sql = new StringBuilder(256);
            sql.Append(CultureInfo.InvariantCulture, $"""
                SELECT {RecordColumns}
                  FROM activity
                 WHERE subscription_id = {query.SubscriptionId} AND marketo_guid > {query.AfterMarketoGuid} AND marketo_guid <= {upper}
                   AND activity_ts >= {query.Since.ToUnixTimeSeconds()}
                """);
            AppendIn(sql, "activity_type_id", query.ActivityTypeIds);
            AppendIn(sql, "primary_attribute_value_id", query.PrimaryAttributeValueIds);
            AppendIn(sql, "lead_id", query.LeadIds);
            sql.Append(CultureInfo.InvariantCulture, $" ORDER BY marketo_guid LIMIT {limit}");

            var page = new List<ActivityRecord>(Math.Min(limit, 1000));
            using (var command = connection.CreateCommand())
            {
                command.CommandText = sql.ToString();
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    page.Add(ReadRecord(reader));
                }
            }

            if (page.Count >= limit || upper >= highest)
            {
                return Task.FromResult<IReadOnlyList<ActivityRecord>>(page);
            }

            span = span > long.MaxValue / 8 ? long.MaxValue : span * 8;
        }
    }

    public Task<IReadOnlyList<long>> ListMembersAsync(int subscriptionId, long listId, int limit, CancellationToken ct)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
            SELECT lead_id FROM (
                SELECT lead_id, arg_max(activity_type_id, (activity_ts, marketo_guid)) AS last_type
                  FROM activity
                 WHERE subscription_id = {subscriptionId} AND activity_type_id IN (24, 25) AND primary_attribute_value_id = {listId}
                 GROUP BY lead_id)
             WHERE last_type = 24
             ORDER BY lead_id
             LIMIT {Math.Max(0, limit)}
            """);
        var members = new List<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            members.Add(reader.GetInt64(0));
        }

        return Task.FromResult<IReadOnlyList<long>>(members);
    }

    private static void AppendIn<T>(StringBuilder sql, string column, IReadOnlyList<T>? values)
        where T : IFormattable
    {
        if (values is null)
        {
            return;
        }

        if (values.Count == 0)
        {
            sql.Append(" AND false");
            return;
        }

        sql.Append(" AND ").Append(column).Append(" IN (");
        for (var i = 0; i < values.Count; i++)
        {
            sql.Append(i == 0 ? "" : ",").Append(values[i].ToString(null, CultureInfo.InvariantCulture));
        }

        sql.Append(')');
    }

    private static ActivityRecord ReadRecord(System.Data.Common.DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetInt64(1),
        DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(2)),
        reader.GetInt32(3),
        reader.IsDBNull(4) ? null : reader.GetInt64(4),
        reader.IsDBNull(5) ? null : reader.GetInt64(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8));

    public Task<long> CountAsync(int subscriptionId, CancellationToken ct) =>
        Task.FromResult(Scalar(string.Create(CultureInfo.InvariantCulture, $"SELECT COUNT(*) FROM activity WHERE subscription_id = {subscriptionId}")));

    public Task<long> MaxMarketoGuidAsync(CancellationToken ct) =>
        Task.FromResult(Scalar("SELECT COALESCE(MAX(marketo_guid), 0) FROM activity"));

    public async Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await _appendLock.WaitAsync(ct);
        try
        {
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"DELETE FROM activity WHERE subscription_id = {subscriptionId}");
            return command.ExecuteNonQuery();
        }
        finally
        {
            _appendLock.Release();
        }
    }

    /// <summary>
    /// Writes a copy of the database into a new file as one transaction sees it (DuckDB's <c>COPY FROM DATABASE</c>):
    /// appends that commit while it runs are in the copy entirely or not at all.
    /// </summary>
    public Task CopyToAsync(string path, CancellationToken ct) => Task.Run(() =>
    {
        using var connection = Open();
        var source = "";
        using (var name = connection.CreateCommand())
        {
            name.CommandText = "SELECT current_database()";
            source = Convert.ToString(name.ExecuteScalar(), CultureInfo.InvariantCulture)!;
        }

        Execute(connection, $"ATTACH '{path.Replace("'", "''", StringComparison.Ordinal)}' AS spillway_snapshot");
        try
        {
            Execute(connection, $"COPY FROM DATABASE \"{source.Replace("\"", "\"\"", StringComparison.Ordinal)}\" TO spillway_snapshot");
        }
        finally
        {
            Execute(connection, "DETACH spillway_snapshot");
        }
    }, ct);

    public void Dispose()
    {
        _keeper.Dispose();
        _appendLock.Dispose();
    }

    private DuckDBConnection Open()
    {
        var connection = new DuckDBConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static long ScalarOn(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private long Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
