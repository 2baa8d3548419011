using System.Data.Common;
using Npgsql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Leads in PostgreSQL with native types. A transaction-scoped advisory lock per subscription serialises its lead
/// writes across nodes, so two concurrent syncs of the same email never both create a lead.
/// </summary>
internal sealed partial class PostgresLeadStore(NpgsqlDataSource dataSource) : SqlLeadStore
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

    protected override object ValueToDb(LeadColumn column, object value) =>
        value is DateTimeOffset time ? time.ToUniversalTime() : value;

    protected override string CustomValueSql(LeadColumn column)
    {
        var value = $"(custom ->> '{column.RestName}')";
        return column.Kind switch
        {
            LeadValueKind.Integer => value + "::bigint",
            LeadValueKind.Float => value + "::double precision",
            LeadValueKind.Boolean => value + "::boolean",
            LeadValueKind.Date => value + "::date",
            LeadValueKind.DateTime => value + "::timestamptz",
            _ => value,
        };
    }

    protected override string JsonParameterSql(string parameter) => $"CAST(@{parameter} AS jsonb)";

    protected override object ValueFromDb(LeadColumn column, DbDataReader reader, int ordinal) => column.Kind switch
    {
        LeadValueKind.Text => reader.GetString(ordinal),
        LeadValueKind.Integer => reader.GetInt64(ordinal),
        LeadValueKind.Float => reader.GetDouble(ordinal),
        LeadValueKind.Boolean => reader.GetBoolean(ordinal),
        LeadValueKind.Date => reader.GetFieldValue<DateOnly>(ordinal),
        _ => reader.GetFieldValue<DateTimeOffset>(ordinal),
    };
}
