using System.Data.Common;
using Npgsql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Lists in PostgreSQL. A lead id set is bound as one bigint array; writes take the same per-subscription advisory lock
/// as lead writes, so a membership change and a lead delete of one subscription never interleave.
/// </summary>
internal sealed class PostgresListStore(NpgsqlDataSource dataSource) : SqlListStore
{
    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await dataSource.OpenConnectionAsync(ct);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct)
    {
        var tx = await ((NpgsqlConnection)connection).BeginTransactionAsync(ct);
        // One lock for a subscription's lead and list-membership writes (PgSql.LeadWriteLock).
        await PgSql.XactLockAsync((NpgsqlConnection)connection, tx, PgSql.LeadWriteLock, subscriptionId, ct);
        return tx;
    }

    protected override object TimeToDb(DateTimeOffset value) => value.ToUniversalTime();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    protected override string IdSet(string parameter) => $"SELECT unnest(@{parameter}::bigint[])";

    protected override object IdSetValue(IReadOnlyCollection<long> ids) => ids as long[] ?? [.. ids];
}
