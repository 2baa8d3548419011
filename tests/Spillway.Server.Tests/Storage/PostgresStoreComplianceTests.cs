using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>The store compliance suite on PostgreSQL (a fresh schema per test), plus PostgreSQL-only facts.</summary>
public sealed class PostgresStoreComplianceTests : StoreComplianceTests
{
    private string? _connectionString;

    protected override async Task<StoreSet> CreateStoresAsync()
    {
        var (stores, connectionString) = await PostgresTestDatabase.CreateStoresAsync();
        _connectionString = connectionString;
        return stores;
    }

    /// <summary>Other nodes: separate data sources and store instances over the same schema.</summary>
    protected override Task<IReadOnlyList<StoreSet>> OpenOtherNodesAsync(int count) =>
        Task.FromResult<IReadOnlyList<StoreSet>>(
            [.. Enumerable.Range(0, count).Select(_ => PostgresTestDatabase.OpenNode(_connectionString!))]);

    [Fact]
    public void Missing_connection_string_fails_with_a_clear_message()
    {
        var error = Assert.Throws<InvalidOperationException>(() => PostgresTestDatabase.FromEnvironment(null));
        Assert.Contains("SPILLWAY_TEST_POSTGRES is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/test.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrations_are_numbered_and_safe_when_many_nodes_start_at_once()
    {
        var scripts = PostgresMigrator.Scripts;
        Assert.NotEmpty(scripts);
        Assert.Equal(1, scripts[0].Version);
        Assert.Equal(scripts.Select(s => s.Version).Order(), scripts.Select(s => s.Version));

        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        try
        {
            var nodes = Enumerable.Range(0, 6)
                .Select(_ => ProviderStores.Services(PostgresTestDatabase.Options(connectionString)))
                .ToList();
            var applied = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.MigratePostgresStorageAsync(CancellationToken.None))));
            Assert.Equal(scripts.Count, applied.Sum());
            Assert.Single(applied, a => a > 0);
            Assert.Equal(0, await nodes[0].MigratePostgresStorageAsync(CancellationToken.None));
            Assert.Equal(scripts.Count,
                await PostgresTestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM schema_version"));
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
        finally
        {
            await drop();
        }
    }

    [Fact]
    public async Task Appends_create_monthly_partitions_and_leave_the_default_partition_empty()
    {
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        try
        {
            await using var services = await ProviderStores.InitializedAsync(PostgresTestDatabase.Options(connectionString));
            var activities = services.GetRequiredService<IActivityStore>();
            var months = new[] { "2025-11-30T23:59:59Z", "2025-12-01T00:00:00Z", "2026-01-15T00:00:00Z", "2026-01-31T23:59:59.999999Z" };
            var batch = months.Select((m, i) => new ActivityRecord(i + 1, 1, DateTimeOffset.Parse(m, System.Globalization.CultureInfo.InvariantCulture),
                1, null, null, null, "{}", null)).ToList();
            Assert.Equal(4, await activities.AppendAsync(1, batch, CancellationToken.None));

            // A second store instance (another node) finds the partitions already there.
            await using var other = ProviderStores.Services(PostgresTestDatabase.Options(connectionString));
            Assert.Equal(1, await other.GetRequiredService<IActivityStore>().AppendAsync(1,
                [batch[0] with { MarketoGuid = 99 }], CancellationToken.None));

            Assert.Equal(3, await PostgresTestDatabase.ScalarAsync<long>(connectionString,
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid " +
                "WHERE i.inhparent = 'activity'::regclass AND c.relname LIKE 'activity_p%'"));
            Assert.Equal(0, await PostgresTestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM activity_default"));
            Assert.Equal(2, await PostgresTestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM activity_p202601"));
        }
        finally
        {
            await drop();
        }
    }
}
