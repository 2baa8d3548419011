using Microsoft.Extensions.DependencyInjection;
using Npgsql;
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
    public async Task A_node_waits_for_a_migration_longer_than_its_command_timeout()
    {
        // Migration 0019 builds an index: 44 s on a store of 100 M activities, past Npgsql's 30 s command timeout, which
        // stopped every node at start. Here another session holds the migration lock past a 1 s command timeout.
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        try
        {
            await using var holder = new NpgsqlConnection(connectionString);
            await holder.OpenAsync();
            var transaction = await holder.BeginTransactionAsync();
            await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, 0)", holder, transaction) { Parameters = { new() { Value = PgSql.MigrationLock } } })
            {
                await take.ExecuteNonQueryAsync();
            }

            var impatient = new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 1 }.ConnectionString;
            await using var node = ProviderStores.Services(PostgresTestDatabase.Options(impatient));
            var migration = Task.Run(() => node.MigratePostgresStorageAsync(CancellationToken.None));
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(migration.IsCompleted, migration.Exception?.ToString() ?? "the migration did not wait for the lock");

            await transaction.RollbackAsync();
            Assert.Equal(PostgresMigrator.Scripts.Count, await migration.WaitAsync(TimeSpan.FromSeconds(60)));
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

    [Fact]
    public async Task The_list_members_read_takes_only_the_lists_changes_from_the_list_change_index()
    {
        // On a large subscription, reading through its activities ran past the command timeout (migration 0019). A
        // subscription of 20,000 activities, 40 of them changes of list 7 (20 leads added, 20 removed), analysed: the plan reads the list's changes from
        // the partial index alone, not the subscription's activities.
        var (sub, _) = await NewSubscriptionAsync();
        var rows = Enumerable.Range(1, 20_000)
            .Select(i => i % 500 == 0
                ? new ActivityRecord(i, i / 500, Day.AddMinutes(i), 24 + (i / 500 % 2), null, 7, "List 7", "{}", null)
                : new ActivityRecord(i, 1000 + (i % 500), Day.AddMinutes(i), 1, null, 3, "Page", "{}", null))
            .ToList();
        Assert.Equal(20_000, await Activities.AppendAsync(sub.Id, rows, CancellationToken.None));
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using (var analyze = new NpgsqlCommand("ANALYZE activity", connection))
        {
            await analyze.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + PostgresActivityStore.ListMembersSql, connection)
        {
            Parameters = { new() { Value = sub.Id }, new() { Value = 7L }, new() { Value = 100 } },
        };
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }

        var text = string.Join("\n", plan);
        // A partition's copy of the index is named after its columns; the default partition is empty (a scan of nothing).
        Assert.True(text.Contains("Index Only Scan using activity_p202601_subscription_id_primary_attribute_value_id", StringComparison.Ordinal), text);
        Assert.False(text.Contains("Seq Scan on activity_p", StringComparison.Ordinal), text);
        Assert.Equal(20, (await Stores.Pages.ListMembersAsync(sub.Id, 7, 100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_new_batch_becomes_visible_only_after_every_earlier_range_has_ended()
    {
        // Another node's batch of three, its GUIDs taken and its transaction still open.
        await using var other = new NpgsqlConnection(_connectionString);
        await other.OpenAsync();
        var transaction = await other.BeginTransactionAsync();
        var otherFirst = await ScalarAsync<long>(other, transaction, "SELECT first FROM spillway_take_guids(3)");

        var append = Stores.Writer.AppendNewAsync(1, [NewActivity("a"), NewActivity("b")], CancellationToken.None);
        await Task.Delay(500);
        Assert.False(append.IsCompleted);
        Assert.Equal(0, await Activities.CountAsync(1, CancellationToken.None));

        // The other batch fails: its range is never handed out again, and the waiting batch commits after it.
        await transaction.RollbackAsync();
        await ScalarAsync<bool>(other, null, "SELECT pg_advisory_unlock_all() IS NULL");
        Assert.Equal(otherFirst + 3, await append);
        var rows = await Stores.Pages.ReadPageAsync(new ActivityPageQuery(1, Day.AddDays(-1), 0, null, null, null, 10), CancellationToken.None);
        Assert.Equal([otherFirst + 3, otherFirst + 4], rows.Select(r => r.MarketoGuid));
        Assert.Equal(["a", "b"], rows.Select(r => r.PrimaryAttributeValue));
    }

    [Fact]
    public async Task An_import_waits_for_the_ranges_being_inserted_and_skips_their_guids()
    {
        await Activities.AppendAsync(1, [NewActivity("first") with { MarketoGuid = 40 }], CancellationToken.None);

        // Another node's new batch has taken 41-42 and not yet inserted them.
        await using var other = new NpgsqlConnection(_connectionString);
        await other.OpenAsync();
        var transaction = await other.BeginTransactionAsync();
        Assert.Equal(41, await ScalarAsync<long>(other, transaction, "SELECT first FROM spillway_take_guids(2)"));

        // An import of 42 and 50 waits for that batch (had it taken 42 first, the batch would fail on its own GUID),
        // then finds 42 taken; a new batch afterwards starts above 50.
        var import = Activities.AppendAsync(1, [NewActivity("x") with { MarketoGuid = 42 }, NewActivity("y") with { MarketoGuid = 50 }], CancellationToken.None);
        await Task.Delay(500);
        Assert.False(import.IsCompleted);
        await ScalarAsync<int>(other, transaction, "INSERT INTO activity_key VALUES (1, 42) RETURNING 1");
        await ScalarAsync<int>(other, transaction,
            "INSERT INTO activity (subscription_id, marketo_guid, lead_id, activity_date, activity_type_id, attributes) " +
            "VALUES (1, 42, 5, '2026-01-15T12:00:00Z', 1, '{}') RETURNING 1");
        await transaction.CommitAsync();
        await ScalarAsync<bool>(other, null, "SELECT pg_advisory_unlock_all() IS NULL");
        Assert.Equal(1, await import);
        Assert.Equal(51, await Stores.Writer.AppendNewAsync(1, [NewActivity("z")], CancellationToken.None));
        var rows = await Stores.Pages.ReadPageAsync(new ActivityPageQuery(1, Day.AddDays(-1), 0, null, null, null, 10), CancellationToken.None);
        Assert.Equal([40L, 42, 50, 51], rows.Select(r => r.MarketoGuid));
        Assert.Equal(["first", null, "y", "z"], rows.Select(r => r.PrimaryAttributeValue));
    }

    [Fact]
    public async Task A_new_batch_that_fails_releases_its_range_and_its_guids_are_not_handed_out_again()
    {
        var nodes = await NodesAsync(2);
        Assert.Equal(1, await nodes[0].Writer.AppendNewAsync(1, [NewActivity("a")], CancellationToken.None));

        // A key stored behind the sequence's back (as a node of an earlier version could): the next range's first GUID.
        await PostgresTestDatabase.ExecuteAsync(_connectionString!, "INSERT INTO activity_key VALUES (1, 2)");
        var failed = await Assert.ThrowsAsync<PostgresException>(() =>
            nodes[0].Writer.AppendNewAsync(1, [NewActivity("b"), NewActivity("c")], CancellationToken.None));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, failed.SqlState);

        // Another node's batch waits for the failed range only until its failure, and takes the GUIDs after it.
        Assert.Equal(4, await nodes[1].Writer.AppendNewAsync(1, [NewActivity("d")], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        var rows = await Stores.Pages.ReadPageAsync(new ActivityPageQuery(1, Day.AddDays(-1), 0, null, null, null, 10), CancellationToken.None);
        Assert.Equal([1L, 4], rows.Select(r => r.MarketoGuid));
        Assert.Equal(["a", "d"], rows.Select(r => r.PrimaryAttributeValue));
    }

    private static readonly DateTimeOffset Day = new(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);

    private static ActivityRecord NewActivity(string name) => new(0, 5, Day, 1, null, null, name, "{}", null);

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
