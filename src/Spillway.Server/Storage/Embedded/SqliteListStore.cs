using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// Lists in SQLite, beside the leads they name (a member row's foreign key needs the lead table in the same database).
/// A lead id set is bound as one JSON array and read with <c>json_each</c>, so a statement takes any number of ids.
/// </summary>
internal sealed class SqliteListStore(SqliteDatabase db) : SqlListStore
{
    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await db.OpenAsync(ct);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct) =>
        await ((SqliteConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.Serializable, ct);

    protected override object TimeToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    protected override string IdSet(string parameter) => $"SELECT value FROM json_each(@{parameter})";

    protected override object IdSetValue(IReadOnlyCollection<long> ids)
    {
        var json = new StringBuilder(ids.Count * 8 + 2).Append('[');
        foreach (var id in ids)
        {
            json.Append(json.Length > 1 ? "," : "").Append(id.ToString(CultureInfo.InvariantCulture));
        }

        return json.Append(']').ToString();
    }
}
