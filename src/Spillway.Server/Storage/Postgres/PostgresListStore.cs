using System.Data.Common;
using Npgsql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Lists in PostgreSQL. A lead id set is bound as one bigint array; writes take the same per-subscription advisory lock
/// as lead writes, so a membership change and a lead delete of one subscription never interleave.
/// </summary>
internal sealed class PostgresListStore(NpgsqlDataSource dataSource) : SqlListStore
{
    /// <summary>The lead store's advisory lock key: lists and leads of a subscription are written one transaction at a time.</summary>
    private const int LeadWriteLock = 0x5350_00A0;

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await dataSource.OpenConnectionAsync(ct);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct)
    {
        var tx = await ((NpgsqlConnection)connection).BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2)", (NpgsqlConnection)connection, tx);
        command.Parameters.Add(new NpgsqlParameter { Value = LeadWriteLock });
        command.Parameters.Add(new NpgsqlParameter { Value = subscriptionId });
        await command.ExecuteNonQueryAsync(ct);
        return tx;
    }

    protected override object TimeToDb(DateTimeOffset value) => value.ToUniversalTime();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    protected override string IdSet(string parameter) => $"SELECT unnest(@{parameter}::bigint[])";

    protected override object IdSetValue(IReadOnlyCollection<long> ids) => ids as long[] ?? [.. ids];
}
