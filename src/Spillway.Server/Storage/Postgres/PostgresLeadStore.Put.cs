using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Spillway.Server.Storage.Postgres;

internal sealed partial class PostgresLeadStore
{
    /// <summary>
    /// A batch is one binary COPY into a temporary table and one INSERT ... ON CONFLICT from it: two round trips for
    /// ten thousand leads instead of ten thousand.
    /// </summary>
    protected override async Task PutBatchAsync(DbConnection connection, DbTransaction tx, int subscriptionId, IReadOnlyList<LeadRecord> batch,
        IReadOnlyList<LeadColumn> custom, CancellationToken ct)
    {
        var npgsql = (NpgsqlConnection)connection;
        await using (var stage = new NpgsqlCommand(
            "CREATE TEMP TABLE lead_put (LIKE lead INCLUDING DEFAULTS) ON COMMIT DROP", npgsql, (NpgsqlTransaction)tx))
        {
            await stage.ExecuteNonQueryAsync(ct);
        }

        await using (var copy = await npgsql.BeginBinaryImportAsync($"COPY lead_put ({PutColumns}) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var lead in batch)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(subscriptionId, NpgsqlDbType.Integer, ct);
                await copy.WriteAsync(lead.Id, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(lead.CreatedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(lead.UpdatedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(lead.FieldsUpdatedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                foreach (var column in LeadColumns.All)
                {
                    if (!lead.Fields.TryGetValue(column.RestName, out var value))
                    {
                        await copy.WriteNullAsync(ct);
                        continue;
                    }

                    switch (column.Kind)
                    {
                        case LeadValueKind.Integer:
                            await copy.WriteAsync((long)value, NpgsqlDbType.Bigint, ct);
                            break;
                        case LeadValueKind.Float:
                            await copy.WriteAsync((double)value, NpgsqlDbType.Double, ct);
                            break;
                        case LeadValueKind.Boolean:
                            await copy.WriteAsync((bool)value, NpgsqlDbType.Boolean, ct);
                            break;
                        case LeadValueKind.Date:
                            await copy.WriteAsync((DateOnly)value, NpgsqlDbType.Date, ct);
                            break;
                        case LeadValueKind.DateTime:
                            await copy.WriteAsync(((DateTimeOffset)value).ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
                            break;
                        default:
                            await copy.WriteAsync((string)value, NpgsqlDbType.Text, ct);
                            break;
                    }
                }

                await copy.WriteAsync(CustomToJson(lead.Fields, custom), NpgsqlDbType.Jsonb, ct);
            }

            await copy.CompleteAsync(ct);
        }

        await using var upsert = new NpgsqlCommand(
            $"INSERT INTO lead ({PutColumns}) SELECT {PutColumns} FROM lead_put ON CONFLICT (subscription_id, id) DO UPDATE SET {PutUpdateSet}",
            npgsql, (NpgsqlTransaction)tx);
        await upsert.ExecuteNonQueryAsync(ct);
    }
}
