using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>Program membership in SQLite beside the leads it belongs to; times are Unix milliseconds, booleans 0/1.</summary>
internal sealed class SqliteProgramMemberStore(SqliteDatabase db) : SqlProgramMemberStore
{
    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await db.OpenAsync(ct);

    // The write lock up front, as the lead store takes it: a deferred transaction that upgrades later can fail busy.
    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        await ((SqliteConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.Serializable, ct);

    protected override object TimeToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
}
