using System.Data;
using System.Data.Common;
using System.Text;

using static Spillway.Server.Storage.SqlCommands;

namespace Spillway.Server.Storage;

internal abstract partial class SqlLeadStore
{
    public async Task StreamLeadsAsync(LeadExtractQuery query, ILeadRowSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(sink);
        var columns = new LeadColumn[query.Fields.Count];
        for (var i = 0; i < columns.Length; i++)
        {
            columns[i] = LeadExtractColumns.Find(query.Fields[i], query.CustomColumns) ?? throw new ArgumentException($"Unknown lead field '{query.Fields[i]}'.", nameof(query));
        }

        // The window column has an index with the subscription (lead_created, lead_fields_updated); the sort by id is
        // over the window's rows only, and only the requested columns leave the database. A list's members are a range
        // of the member table's key, already in lead id order.
        var parameters = new List<KeyValuePair<string, object>>();
        void AddValue(string name, object value) => parameters.Add(new(name, value));
        var sql = new StringBuilder("SELECT ");
        sql.AppendJoin(", ", columns.Select(c => c.IsCustom ? CustomValueSql(c) : c.ColumnName));
        sql.Append(" FROM lead WHERE subscription_id = @s AND ");
        AddValue("s", query.SubscriptionId);
        switch (query.Filter)
        {
            case LeadExtractFilterKind.CreatedAt or LeadExtractFilterKind.FieldsUpdatedAt:
                var timeColumn = query.Filter == LeadExtractFilterKind.CreatedAt ? "created_at" : "fields_updated_at";
                sql.Append(timeColumn).Append(" >= @start AND ").Append(timeColumn).Append(" <= @end");
                AddValue("start", TimeToDb(query.StartAt));
                AddValue("end", TimeToDb(query.EndAt));
                break;
            case LeadExtractFilterKind.StaticList:
                // One statement: the membership it reads is the list as it was when the statement began.
                sql.Append("id IN (SELECT lead_id FROM list_member WHERE subscription_id = @s AND list_id = @list)");
                AddValue("list", query.ListId);
                break;
            case LeadExtractFilterKind.SmartList:
                (query.SmartListRule ?? throw new ArgumentException("A smart list read needs its rule.", nameof(query)))
                    .AppendSql(sql, "rule", AddValue);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(query), query.Filter, "Unknown lead extract filter.");
        }

        sql.Append(" ORDER BY id");
        await ReadLeadsAsync(sql.ToString(), parameters, columns, sink, ct);
    }

    /// <summary>
    /// Runs the extract's query (<paramref name="parameters"/> named without the <c>@</c>) and hands each row to the sink;
    /// a store may read its engine's rows more directly.
    /// </summary>
    protected virtual async Task ReadLeadsAsync(string sql, IReadOnlyList<KeyValuePair<string, object>> parameters, LeadColumn[] columns,
        ILeadRowSink sink, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, sql);
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        var row = new ReaderRow(this, reader, columns);
        while (await reader.ReadAsync(ct))
        {
            // A provider that already holds the next rows (Npgsql buffers them) returns them without looking at the token.
            ct.ThrowIfCancellationRequested();
            sink.WriteRow(row);
        }
    }

    /// <summary>The current row of the reader. Sequential access: the sink reads each column once, in order.</summary>
    private sealed class ReaderRow(SqlLeadStore store, DbDataReader reader, LeadColumn[] columns) : ILeadRow
    {
        private byte[] _text = new byte[1024];

        public bool IsNull(int column) => reader.IsDBNull(column);

        public ReadOnlySpan<byte> GetText(int column)
        {
            var value = reader.GetString(column);
            var max = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (max > _text.Length)
            {
                _text = new byte[Math.Max(max, _text.Length * 2)];
            }

            return _text.AsSpan(0, Encoding.UTF8.GetBytes(value, _text));
        }

        public long GetInteger(int column) => reader.GetInt64(column);

        public double GetFloat(int column) => reader.GetDouble(column);

        public bool GetBoolean(int column) => (bool)store.ValueFromDb(columns[column], reader, column);

        public DateOnly GetDate(int column) => (DateOnly)store.ValueFromDb(columns[column], reader, column);

        public DateTimeOffset GetDateTime(int column) => store.TimeFromDb(reader, column);
    }
}
