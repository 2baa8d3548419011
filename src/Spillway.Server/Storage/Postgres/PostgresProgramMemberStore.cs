using System.Data.Common;
using Npgsql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>Program membership in PostgreSQL beside the leads it belongs to, with native times and booleans.</summary>
internal sealed class PostgresProgramMemberStore(NpgsqlDataSource dataSource) : SqlProgramMemberStore
{
    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await dataSource.OpenConnectionAsync(ct);

    protected override object TimeToDb(DateTimeOffset value) => value.ToUniversalTime();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);
}
