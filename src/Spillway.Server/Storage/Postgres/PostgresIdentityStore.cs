using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>Subscriptions, API users, credentials and tokens in PostgreSQL.</summary>
internal sealed class PostgresIdentityStore(NpgsqlDataSource dataSource) : IIdentityStore
{
    private const string SubscriptionColumns = "id, munchkin_id, name, overrides::text, created_at";
    private const string UserColumns = "id, subscription_id, email, permissions, created_at";
    private const string CredentialColumns = "client_id, api_user_id, secret_hash, created_at";
    private const string TokenColumns = "token, client_id, api_user_id, subscription_id, issued_at, expires_at";

    public async Task<Subscription?> CreateSubscriptionAsync(string munchkinId, string name, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"""
            INSERT INTO subscription (munchkin_id, name, created_at) VALUES ($1, $2, $3)
            ON CONFLICT ((lower(munchkin_id))) DO NOTHING
            RETURNING {SubscriptionColumns}
            """,
            Text(munchkinId), Text(name), Time(now));
        return await ReadOneAsync(command, ReadSubscription, ct);
    }

    public async Task<Subscription?> FindSubscriptionAsync(string munchkinId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {SubscriptionColumns} FROM subscription WHERE lower(munchkin_id) = lower($1)", Text(munchkinId));
        return await ReadOneAsync(command, ReadSubscription, ct);
    }

    public async Task<Subscription?> GetSubscriptionAsync(int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {SubscriptionColumns} FROM subscription WHERE id = $1", Int(subscriptionId));
        return await ReadOneAsync(command, ReadSubscription, ct);
    }

    public async Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(CancellationToken ct)
    {
        await using var command = Command(dataSource, $"SELECT {SubscriptionColumns} FROM subscription ORDER BY id");
        return await ReadAllAsync(command, ReadSubscription, ct);
    }

    public async Task<bool> SetSubscriptionOverridesAsync(int subscriptionId, SubscriptionLimitOverrides overrides, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        await using var command = Command(dataSource, "UPDATE subscription SET overrides = $2 WHERE id = $1",
            Int(subscriptionId), P(JsonSerializer.Serialize(overrides, StorageJson.Default.SubscriptionLimitOverrides), NpgsqlDbType.Jsonb));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public async Task<ApiUser?> CreateApiUserAsync(int subscriptionId, string email, IReadOnlyList<string> permissions,
        DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        await using var command = Command(dataSource,
            $"""
            INSERT INTO api_user (subscription_id, email, permissions, created_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (subscription_id, (lower(email))) DO NOTHING
            RETURNING {UserColumns}
            """,
            Int(subscriptionId), Text(email), P(permissions.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text), Time(now));
        return await ReadOneAsync(command, ReadUser, ct);
    }

    public async Task<ApiUser?> GetApiUserAsync(int apiUserId, CancellationToken ct)
    {
        await using var command = Command(dataSource, $"SELECT {UserColumns} FROM api_user WHERE id = $1", Int(apiUserId));
        return await ReadOneAsync(command, ReadUser, ct);
    }

    public async Task<ApiUser?> FindApiUserAsync(int subscriptionId, string email, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {UserColumns} FROM api_user WHERE subscription_id = $1 AND lower(email) = lower($2)", Int(subscriptionId), Text(email));
        return await ReadOneAsync(command, ReadUser, ct);
    }

    public async Task<IReadOnlyList<ApiUser>> ListApiUsersAsync(int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {UserColumns} FROM api_user WHERE subscription_id = $1 ORDER BY id", Int(subscriptionId));
        return await ReadAllAsync(command, ReadUser, ct);
    }

    public async Task<bool> SetPermissionsAsync(int apiUserId, IReadOnlyList<string> permissions, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        await using var command = Command(dataSource, "UPDATE api_user SET permissions = $2 WHERE id = $1",
            Int(apiUserId), P(permissions.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public async Task AddCredentialAsync(ApiCredential credential, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(credential);
        await using var command = Command(dataSource,
            "INSERT INTO api_credential (client_id, api_user_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
            Text(credential.ClientId), Int(credential.ApiUserId), Text(credential.SecretHash), Time(credential.CreatedAt));
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<ApiCredential?> FindCredentialAsync(string clientId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {CredentialColumns} FROM api_credential WHERE client_id = $1", Text(clientId));
        return await ReadOneAsync(command, ReadCredential, ct);
    }

    public async Task<IReadOnlyList<ApiCredential>> ListCredentialsAsync(int apiUserId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {CredentialColumns} FROM api_credential WHERE api_user_id = $1 ORDER BY created_at, client_id",
            Int(apiUserId));
        return await ReadAllAsync(command, ReadCredential, ct);
    }

    public async Task<bool> ReplaceSecretAsync(string clientId, string secretHash, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // Same lock as GetOrIssueTokenAsync: a token issued concurrently is either revoked here or issued after.
        await XactLockAsync(connection, transaction, ClientTokenLock, clientId, ct);
        await using var update = Command(connection, transaction,
            "UPDATE api_credential SET secret_hash = $2 WHERE client_id = $1", Text(clientId), Text(secretHash));
        var updated = await update.ExecuteNonQueryAsync(ct) > 0;
        if (updated)
        {
            await using var revoke = Command(connection, transaction, "DELETE FROM access_token WHERE client_id = $1", Text(clientId));
            await revoke.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return updated;
    }

    public async Task<AccessToken> GetOrIssueTokenAsync(AccessToken candidate, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // One issuer per client id at a time, on every node: the second caller sees the first one's token.
        await XactLockAsync(connection, transaction, ClientTokenLock, candidate.ClientId, ct);

        AccessToken? current;
        await using (var find = Command(connection, transaction,
            $"SELECT {TokenColumns} FROM access_token WHERE client_id = $1 AND expires_at > $2 ORDER BY expires_at DESC, token LIMIT 1",
            Text(candidate.ClientId), Time(now)))
        {
            current = await ReadOneAsync(find, ReadToken, ct);
        }

        if (current is null)
        {
            await using var insert = Command(connection, transaction,
                $"""
                INSERT INTO access_token (token, client_id, api_user_id, subscription_id, issued_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TokenColumns}
                """,
                Text(candidate.Token), Text(candidate.ClientId), Int(candidate.ApiUserId), Int(candidate.SubscriptionId),
                Time(candidate.IssuedAt), Time(candidate.ExpiresAt));
            current = await ReadOneAsync(insert, ReadToken, ct);
        }

        await transaction.CommitAsync(ct);
        return current!;
    }

    public async Task<AccessToken?> FindTokenAsync(string token, CancellationToken ct)
    {
        await using var command = Command(dataSource, $"SELECT {TokenColumns} FROM access_token WHERE token = $1", Text(token));
        return await ReadOneAsync(command, ReadToken, ct);
    }

    public async Task<int> DeleteExpiredTokensAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var command = Command(dataSource, "DELETE FROM access_token WHERE expires_at < $1", Time(before));
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static Subscription ReadSubscription(NpgsqlDataReader r) => new(
        r.GetInt32(0), r.GetString(1), r.GetString(2),
        JsonSerializer.Deserialize(r.GetString(3), StorageJson.Default.SubscriptionLimitOverrides) ?? SubscriptionLimitOverrides.None,
        r.GetTime(4));

    private static ApiUser ReadUser(NpgsqlDataReader r) =>
        new(r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.GetFieldValue<string[]>(3), r.GetTime(4));

    private static ApiCredential ReadCredential(NpgsqlDataReader r) => new(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetTime(3));

    private static AccessToken ReadToken(NpgsqlDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetTime(4), r.GetTime(5));

    internal static async Task<T?> ReadOneAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken ct)
        where T : class
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? read(reader) : null;
    }

    internal static async Task<IReadOnlyList<T>> ReadAllAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var list = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(read(reader));
        }

        return list;
    }
}
