using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// Leads in SQLite, next to identity and jobs: point reads and per-record upserts are its strength, writes take the
/// database lock up front, and the table is clustered on (subscription, id) so an id-ordered scan is a range read.
/// Times are Unix milliseconds, dates ISO text, booleans 0/1.
/// </summary>
internal sealed partial class SqliteLeadStore(SqliteDatabase db) : SqlLeadStore
{
    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await db.OpenAsync(ct);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, int subscriptionId, CancellationToken ct) =>
        await ((SqliteConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.Serializable, ct);

    protected override object TimeToDb(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    protected override DateTimeOffset TimeFromDb(DbDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    protected override object ValueToDb(LeadColumn column, object value) => column.Kind switch
    {
        LeadValueKind.Boolean => (bool)value ? 1L : 0L,
        LeadValueKind.Date => ((DateOnly)value).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        LeadValueKind.DateTime => ((DateTimeOffset)value).ToUnixTimeMilliseconds(),
        _ => value,
    };

    /// <summary>
    /// json_extract gives text, integers, reals and true/false as 1/0, as the typed columns hold them; a date-time is
    /// ISO text in the object and Unix milliseconds in a column.
    /// </summary>
    protected override string CustomValueSql(LeadColumn column)
    {
        var value = $"json_extract(custom, '$.{column.RestName}')";
        return column.Kind switch
        {
            LeadValueKind.Float => $"CAST({value} AS REAL)",
            LeadValueKind.DateTime => $"CAST(strftime('%s', {value}) AS INTEGER) * 1000",
            _ => value,
        };
    }

    protected override object ValueFromDb(LeadColumn column, DbDataReader reader, int ordinal) => column.Kind switch
    {
        LeadValueKind.Text => reader.GetString(ordinal),
        LeadValueKind.Integer => reader.GetInt64(ordinal),
        LeadValueKind.Float => reader.GetDouble(ordinal),
        LeadValueKind.Boolean => reader.GetInt64(ordinal) != 0,
        LeadValueKind.Date => DateOnly.ParseExact(reader.GetString(ordinal), "yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal)),
    };
}
