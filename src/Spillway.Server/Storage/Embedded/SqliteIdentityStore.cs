using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

internal sealed class SqliteIdentityStore(SqliteDatabase db) : IIdentityStore
{
    private const int UniqueViolation = 19; // SQLITE_CONSTRAINT

    public async Task<Subscription?> CreateSubscriptionAsync(string munchkinId, string name, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "INSERT INTO subscription (munchkin_id, name, overrides, created_at) VALUES ($m, $n, '{}', $t) RETURNING id")
            .With("$m", munchkinId).With("$n", name).With("$t", now.Ms());
        try
        {
            var id = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            return new Subscription(id, munchkinId, name, SubscriptionLimitOverrides.None, SqliteExtensions.FromMs(now.Ms()));
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == UniqueViolation)
        {
            return null;
        }
    }

    public Task<Subscription?> FindSubscriptionAsync(string munchkinId, CancellationToken ct) =>
        OneSubscriptionAsync("WHERE munchkin_id = $k", munchkinId, ct);

    public Task<Subscription?> GetSubscriptionAsync(int subscriptionId, CancellationToken ct) =>
        OneSubscriptionAsync("WHERE id = $k", subscriptionId, ct);

    public async Task<IReadOnlyList<Subscription>> ListSubscriptionsAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT id, munchkin_id, name, overrides, created_at FROM subscription ORDER BY id");
        return await ReadSubscriptionsAsync(cmd, ct);
    }

    public async Task<bool> SetSubscriptionOverridesAsync(int subscriptionId, SubscriptionLimitOverrides overrides, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "UPDATE subscription SET overrides = $o WHERE id = $id")
            .With("$o", JsonSerializer.Serialize(overrides, StorageJson.Default.SubscriptionLimitOverrides)).With("$id", subscriptionId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ApiUser?> CreateApiUserAsync(int subscriptionId, string email, IReadOnlyList<string> permissions, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "INSERT INTO api_user (subscription_id, email, permissions, created_at) VALUES ($s, $e, $p, $t) RETURNING id")
            .With("$s", subscriptionId).With("$e", email).With("$p", JsonSerializer.Serialize(permissions, StorageJson.Default.IReadOnlyListString))
            .With("$t", now.Ms());
        try
        {
            var id = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            return new ApiUser(id, subscriptionId, email, permissions, SqliteExtensions.FromMs(now.Ms()));
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == UniqueViolation)
        {
            return null;
        }
    }

    public async Task<ApiUser?> GetApiUserAsync(int apiUserId, CancellationToken ct) =>
        (await UsersAsync("WHERE id = $k", apiUserId, ct)).FirstOrDefault();

    public async Task<ApiUser?> FindApiUserAsync(int subscriptionId, string email, CancellationToken ct)
    {
        var users = await ListApiUsersAsync(subscriptionId, ct);
        return users.FirstOrDefault(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase));
    }

    public Task<IReadOnlyList<ApiUser>> ListApiUsersAsync(int subscriptionId, CancellationToken ct) =>
        UsersAsync("WHERE subscription_id = $k", subscriptionId, ct);

    public async Task<bool> SetPermissionsAsync(int apiUserId, IReadOnlyList<string> permissions, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "UPDATE api_user SET permissions = $p WHERE id = $id")
            .With("$p", JsonSerializer.Serialize(permissions, StorageJson.Default.IReadOnlyListString)).With("$id", apiUserId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task AddCredentialAsync(ApiCredential credential, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "INSERT INTO api_credential (client_id, api_user_id, secret_hash, created_at) VALUES ($c, $u, $h, $t)")
            .With("$c", credential.ClientId).With("$u", credential.ApiUserId).With("$h", credential.SecretHash).With("$t", credential.CreatedAt.Ms());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<ApiCredential?> FindCredentialAsync(string clientId, CancellationToken ct) =>
        (await CredentialsAsync("WHERE client_id = $k", clientId, ct)).FirstOrDefault();

    public Task<IReadOnlyList<ApiCredential>> ListCredentialsAsync(int apiUserId, CancellationToken ct) =>
        CredentialsAsync("WHERE api_user_id = $k", apiUserId, ct);

    public async Task<bool> ReplaceSecretAsync(string clientId, string secretHash, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using var update = SqliteDatabase.Command(c, tx, "UPDATE api_credential SET secret_hash = $h WHERE client_id = $c")
            .With("$h", secretHash).With("$c", clientId);
        if (await update.ExecuteNonQueryAsync(ct) != 1)
        {
            return false;
        }

        await using var revoke = SqliteDatabase.Command(c, tx, "DELETE FROM access_token WHERE client_id = $c").With("$c", clientId);
        await revoke.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<AccessToken> GetOrIssueTokenAsync(AccessToken candidate, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using (var find = SqliteDatabase.Command(c, tx,
            "SELECT token, client_id, api_user_id, subscription_id, issued_at, expires_at FROM access_token " +
            "WHERE client_id = $c AND expires_at > $now ORDER BY expires_at DESC LIMIT 1")
            .With("$c", candidate.ClientId).With("$now", now.Ms()))
        {
            var existing = await ReadTokenAsync(find, ct);
            if (existing is not null)
            {
                return existing;
            }
        }

        await using var insert = SqliteDatabase.Command(c, tx,
            "INSERT INTO access_token (token, client_id, api_user_id, subscription_id, issued_at, expires_at) VALUES ($t, $c, $u, $s, $i, $e)")
            .With("$t", candidate.Token).With("$c", candidate.ClientId).With("$u", candidate.ApiUserId).With("$s", candidate.SubscriptionId)
            .With("$i", candidate.IssuedAt.Ms()).With("$e", candidate.ExpiresAt.Ms());
        await insert.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return candidate with { IssuedAt = SqliteExtensions.FromMs(candidate.IssuedAt.Ms()), ExpiresAt = SqliteExtensions.FromMs(candidate.ExpiresAt.Ms()) };
    }

    public async Task<AccessToken?> FindTokenAsync(string token, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var find = SqliteDatabase.Command(c, null,
            "SELECT token, client_id, api_user_id, subscription_id, issued_at, expires_at FROM access_token WHERE token = $t").With("$t", token);
        return await ReadTokenAsync(find, ct);
    }

    public async Task<int> DeleteExpiredTokensAsync(DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "DELETE FROM access_token WHERE expires_at < $b").With("$b", before.Ms());
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<AccessToken?> ReadTokenAsync(SqliteCommand cmd, CancellationToken ct)
    {
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct)
            ? new AccessToken(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), SqliteExtensions.FromMs(r.GetInt64(4)), SqliteExtensions.FromMs(r.GetInt64(5)))
            : null;
    }

    private async Task<Subscription?> OneSubscriptionAsync(string where, object key, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT id, munchkin_id, name, overrides, created_at FROM subscription " + where).With("$k", key);
        return (await ReadSubscriptionsAsync(cmd, ct)).FirstOrDefault();
    }

    private static async Task<IReadOnlyList<Subscription>> ReadSubscriptionsAsync(SqliteCommand cmd, CancellationToken ct)
    {
        var list = new List<Subscription>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var overrides = JsonSerializer.Deserialize(r.GetString(3), StorageJson.Default.SubscriptionLimitOverrides) ?? SubscriptionLimitOverrides.None;
            list.Add(new Subscription(r.GetInt32(0), r.GetString(1), r.GetString(2), overrides, SqliteExtensions.FromMs(r.GetInt64(4))));
        }

        return list;
    }

    private async Task<IReadOnlyList<ApiUser>> UsersAsync(string where, object key, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT id, subscription_id, email, permissions, created_at FROM api_user " + where + " ORDER BY id")
            .With("$k", key);
        var list = new List<ApiUser>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            var permissions = JsonSerializer.Deserialize(r.GetString(3), StorageJson.Default.IReadOnlyListString) ?? [];
            list.Add(new ApiUser(r.GetInt32(0), r.GetInt32(1), r.GetString(2), permissions, SqliteExtensions.FromMs(r.GetInt64(4))));
        }

        return list;
    }

    private async Task<IReadOnlyList<ApiCredential>> CredentialsAsync(string where, object key, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT client_id, api_user_id, secret_hash, created_at FROM api_credential " + where + " ORDER BY created_at")
            .With("$k", key);
        var list = new List<ApiCredential>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new ApiCredential(r.GetString(0), r.GetInt32(1), r.GetString(2), SqliteExtensions.FromMs(r.GetInt64(3))));
        }

        return list;
    }
}
