using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Spillway.Server.Storage.Embedded;

internal sealed partial class SqliteLeadStore
{
    /// <summary>
    /// One statement with numbered parameters, bound by position through SQLite's own API, inside the caller's write
    /// transaction. Through Microsoft.Data.Sqlite every execution looked each of the ~80 named parameters up by name in
    /// SQLite's list of names (a linear scan with a string compare per entry): over a third of a seed's CPU went to
    /// those compares (`perf`, 200,000 leads), more than the inserts themselves.
    /// </summary>
    protected override Task PutBatchAsync(DbConnection connection, DbTransaction tx, int subscriptionId, IReadOnlyList<LeadRecord> batch,
        IReadOnlyList<LeadColumn> custom, CancellationToken ct)
    {
        var db = ((SqliteConnection)connection).Handle!;
        var columns = LeadColumns.All;
        Check(db, raw.sqlite3_prepare_v2(db, NumberedPutSql, out var statement));
        using (statement)
        {
            for (var n = 0; n < batch.Count; n++)
            {
                if ((n & 1023) == 0)
                {
                    ct.ThrowIfCancellationRequested();
                }

                var lead = batch[n];
                Check(db, raw.sqlite3_reset(statement));
                Check(db, raw.sqlite3_bind_int64(statement, 1, subscriptionId));
                Check(db, raw.sqlite3_bind_int64(statement, 2, lead.Id));
                Check(db, raw.sqlite3_bind_int64(statement, 3, lead.CreatedAt.ToUnixTimeMilliseconds()));
                Check(db, raw.sqlite3_bind_int64(statement, 4, lead.UpdatedAt.ToUnixTimeMilliseconds()));
                Check(db, raw.sqlite3_bind_int64(statement, 5, lead.FieldsUpdatedAt.ToUnixTimeMilliseconds()));
                for (var i = 0; i < columns.Count; i++)
                {
                    var column = columns[i];
                    BindValue(db, statement, 6 + i, lead.Fields.TryGetValue(column.RestName, out var value) ? ValueToDb(column, value) : null);
                }

                BindValue(db, statement, 6 + columns.Count, CustomToJson(lead.Fields, custom));
                var rc = raw.sqlite3_step(statement);
                if (rc != raw.SQLITE_DONE)
                {
                    Check(db, rc);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The put with numbered parameters: ?1-?5 the key and times, then one per column of <see cref="LeadColumns.All"/>, then the custom fields.</summary>
    private static readonly string NumberedPutSql =
        $"INSERT INTO lead ({PutColumns}) VALUES ({string.Join(", ", Enumerable.Range(1, 5 + LeadColumns.All.Count + 1).Select(i => "?" + i.ToString(CultureInfo.InvariantCulture)))}) " +
        $"ON CONFLICT (subscription_id, id) DO UPDATE SET {PutUpdateSet}";

    private static void BindValue(sqlite3 db, sqlite3_stmt statement, int index, object? value) => Check(db, value switch
    {
        null => raw.sqlite3_bind_null(statement, index),
        long integer => raw.sqlite3_bind_int64(statement, index, integer),
        int integer => raw.sqlite3_bind_int64(statement, index, integer),
        double number => raw.sqlite3_bind_double(statement, index, number),
        string text => raw.sqlite3_bind_text(statement, index, text),
        _ => throw new InvalidOperationException($"A lead put cannot bind a {value.GetType().Name}."),
    });
}
