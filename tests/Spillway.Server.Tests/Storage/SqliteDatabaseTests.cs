using Microsoft.Data.Sqlite;
using Spillway.Server.Storage.Embedded;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// The metadata database applies its per-connection settings once per pooled connection, not on every open: a reused
/// connection must still enforce foreign keys (the cascades of subscription and user deletes depend on them) and keep
/// synchronous = NORMAL, and a connection the pool creates anew must get them too.
/// </summary>
public sealed class SqliteDatabaseTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "sqlite-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase _db = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _db = new SqliteDatabase(Path.Combine(_folder, "metadata.db"));
        await _db.MigrateAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_reused_pooled_connection_keeps_its_settings()
    {
        SQLitePCL.sqlite3 first;
        await using (var c = await _db.OpenAsync(CancellationToken.None))
        {
            first = c.Handle!;
            await AssertSettingsAsync(c);
        }

        await using (var c = await _db.OpenAsync(CancellationToken.None))
        {
            // The same physical connection (so this is the path that skips the PRAGMAs).
            Assert.Same(first, c.Handle);
            await AssertSettingsAsync(c);
            await AssertForeignKeysEnforcedAsync(c);
        }
    }

    [Fact]
    public async Task Connections_opened_side_by_side_and_after_the_pool_is_cleared_get_the_settings()
    {
        await using (var a = await _db.OpenAsync(CancellationToken.None))
        await using (var b = await _db.OpenAsync(CancellationToken.None))
        {
            Assert.NotSame(a.Handle, b.Handle);
            await AssertSettingsAsync(a);
            await AssertSettingsAsync(b);
        }

        SqliteConnection.ClearAllPools();
        await using (var c = await _db.OpenAsync(CancellationToken.None))
        {
            await AssertSettingsAsync(c);
            await AssertForeignKeysEnforcedAsync(c);
        }
    }

    private static async Task AssertSettingsAsync(SqliteConnection c)
    {
        Assert.Equal(1L, await ScalarAsync(c, "PRAGMA foreign_keys"));
        Assert.Equal(1L, await ScalarAsync(c, "PRAGMA synchronous")); // 1 = NORMAL
    }

    private static async Task AssertForeignKeysEnforcedAsync(SqliteConnection c)
    {
        // An API user of a subscription that does not exist.
        await using var insert = c.CreateCommand();
        insert.CommandText = "INSERT INTO api_user (subscription_id, email, permissions, created_at) VALUES (987654, 'x@example.com', '[]', 0)";
        var error = await Assert.ThrowsAsync<SqliteException>(() => insert.ExecuteNonQueryAsync());
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
    }

    private static async Task<long> ScalarAsync(SqliteConnection c, string sql)
    {
        await using var command = c.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
