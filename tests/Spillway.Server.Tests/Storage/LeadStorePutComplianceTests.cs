using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>The bulk put of the lead store (<see cref="ILeadStore.PutAsync"/>), the same facts on every provider.</summary>
public abstract class LeadStorePutComplianceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 30, 0, 123, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private ILeadStore? _leads;
    private Func<ValueTask>? _dispose;

    protected abstract Task<(ILeadStore Leads, Func<ValueTask> Dispose)> CreateStoreAsync();

    private ILeadStore Leads => _leads ?? throw new InvalidOperationException("store not created");

    public async Task InitializeAsync() => (_leads, _dispose) = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        if (_dispose is not null)
        {
            await _dispose();
        }
    }

    private static Dictionary<string, object> EveryField(string tag)
    {
        var every = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var column in LeadColumns.All)
        {
            every[column.RestName] = column.Kind switch
            {
                LeadValueKind.Integer => 42L,
                LeadValueKind.Float => 1234.5,
                LeadValueKind.Boolean => true,
                LeadValueKind.Date => new DateOnly(1990, 7, 4),
                LeadValueKind.DateTime => T0.AddDays(-3).AddMilliseconds(7),
                _ => column.RestName == "email" ? tag + "@Example.com" : tag + " of " + column.RestName + " \"é\" 東京, end\r\nnext\ttab",
            };
        }

        return every;
    }

    [Fact]
    public async Task Put_stores_every_kind_of_value_and_the_times_exactly_and_turns_the_lead_database_on()
    {
        Assert.False(await Leads.HasLeadDatabaseAsync(1, None));
        var every = EveryField("ann");
        var lead = new LeadRecord(7, T0.AddDays(-30), T0, T0.AddSeconds(-5), every);
        var sparse = new LeadRecord(3, T0, T0, T0, new Dictionary<string, object> { ["firstName"] = "Bob" });
        await Leads.PutAsync(1, [lead, sparse], None);

        Assert.True(await Leads.HasLeadDatabaseAsync(1, None));
        Assert.False(await Leads.HasLeadDatabaseAsync(2, None));
        Assert.Equal(2, await Leads.CountAsync(1, None));
        var read = await Leads.GetByIdsAsync(1, [3, 7], None);
        Assert.Equal([3L, 7], read.Select(l => l.Id));
        Assert.Equal(["firstName"], read[0].Fields.Keys);
        var stored = read[1];
        Assert.Equal((lead.CreatedAt, lead.UpdatedAt, lead.FieldsUpdatedAt), (stored.CreatedAt, stored.UpdatedAt, stored.FieldsUpdatedAt));
        Assert.Equal(LeadColumns.All.Count, stored.Fields.Count);
        foreach (var column in LeadColumns.All)
        {
            Assert.Equal(every[column.RestName], stored.Get(column.RestName));
        }

        // The stored lead is found like a synced one (case-insensitive email).
        Assert.Equal([7L], (await Leads.FindAsync(1, LeadColumns.Find("email")!, ["ANN@example.com"], 0, 10, None)).Select(l => l.Id));
    }

    [Fact]
    public async Task Put_replaces_a_lead_whole_and_the_last_record_of_a_repeated_id_wins()
    {
        await Leads.PutAsync(1, [new LeadRecord(1, T0, T0, T0, EveryField("first"))], None);
        var replacement = new LeadRecord(1, T0.AddDays(-1), T0.AddDays(2), T0.AddDays(1), new Dictionary<string, object>
        {
            ["email"] = "second@example.com",
            ["leadScore"] = 9L,
        });
        var loser = new LeadRecord(1, T0, T0, T0, new Dictionary<string, object> { ["email"] = "loser@example.com" });
        await Leads.PutAsync(1, [loser, replacement], None);

        var stored = Assert.Single(await Leads.GetByIdsAsync(1, [1], None));
        Assert.Equal(T0.AddDays(-1), stored.CreatedAt);
        Assert.Equal(T0.AddDays(2), stored.UpdatedAt);
        Assert.Equal(T0.AddDays(1), stored.FieldsUpdatedAt);
        Assert.Equal(new Dictionary<string, object> { ["email"] = "second@example.com", ["leadScore"] = 9L }, stored.Fields);
        Assert.Equal(1, await Leads.CountAsync(1, None));
    }

    [Fact]
    public async Task Put_moves_the_id_sequence_past_the_largest_id_and_never_back()
    {
        await Leads.SyncAsync(1, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email", [new Dictionary<string, object?> { ["email"] = "a@example.com" }]), T0, None);
        await Leads.PutAsync(1, [new LeadRecord(50, T0, T0, T0, new Dictionary<string, object>()), new LeadRecord(20, T0, T0, T0, new Dictionary<string, object>())], None);
        await Leads.PutAsync(1, [new LeadRecord(10, T0, T0, T0, new Dictionary<string, object>())], None);
        var created = await Leads.SyncAsync(1, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email", [new Dictionary<string, object?> { ["email"] = "b@example.com" }]), T0, None);
        Assert.Equal(51, created[0].Lead!.Id);
        Assert.Equal([1L, 10, 20, 50, 51], (await Leads.GetByIdsAsync(1, [1, 10, 20, 50, 51], None)).Select(l => l.Id));

        // Another subscription's sequence is its own.
        await Leads.PutAsync(2, [new LeadRecord(5, T0, T0, T0, new Dictionary<string, object>())], None);
        var other = await Leads.SyncAsync(2, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email", [new Dictionary<string, object?> { ["email"] = "c@example.com" }]), T0, None);
        Assert.Equal(6, other[0].Lead!.Id);
    }

    [Fact]
    public async Task Put_of_many_leads_spans_batches_and_a_wrong_value_writes_nothing()
    {
        var many = Enumerable.Range(1, 25_001).Select(i => new LeadRecord(i, T0.AddSeconds(i), T0.AddSeconds(i), T0.AddSeconds(i),
            new Dictionary<string, object> { ["email"] = $"u{i}@example.com", ["leadScore"] = (long)i })).ToList();
        await Leads.PutAsync(1, many, None);
        Assert.Equal(25_001, await Leads.CountAsync(1, None));
        var last = Assert.Single(await Leads.GetByIdsAsync(1, [25_001], None));
        Assert.Equal(25_001L, last.Get("leadScore"));

        await Assert.ThrowsAsync<ArgumentException>(() => Leads.PutAsync(3,
            [new LeadRecord(1, T0, T0, T0, new Dictionary<string, object>()), new LeadRecord(2, T0, T0, T0, new Dictionary<string, object> { ["leadScore"] = "9" })], None));
        await Assert.ThrowsAsync<ArgumentException>(() => Leads.PutAsync(3, [new LeadRecord(1, T0, T0, T0, new Dictionary<string, object> { ["noSuchField"] = "x" })], None));
        await Assert.ThrowsAsync<ArgumentException>(() => Leads.PutAsync(3, [new LeadRecord(0, T0, T0, T0, new Dictionary<string, object>())], None));
        await Assert.ThrowsAsync<ArgumentException>(() => Leads.PutAsync(3, [new LeadRecord(1, T0, T0, T0, new Dictionary<string, object> { ["city"] = "a\0b" })], None));
        Assert.False(await Leads.HasLeadDatabaseAsync(3, None));
        Assert.Equal(0, await Leads.CountAsync(3, None));
    }
}

public sealed class EmbeddedLeadStorePutComplianceTests : LeadStorePutComplianceTests
{
    protected override async Task<(ILeadStore Leads, Func<ValueTask> Dispose)> CreateStoreAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "leadput-" + Guid.NewGuid().ToString("N"));
        var services = await ProviderStores.InitializedAsync(EmbeddedStores.Options(folder));
        return (services.GetRequiredService<ILeadStore>(), async () =>
        {
            await services.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
        );
    }
}

public sealed class PostgresLeadStorePutComplianceTests : LeadStorePutComplianceTests
{
    protected override async Task<(ILeadStore Leads, Func<ValueTask> Dispose)> CreateStoreAsync()
    {
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        var services = await ProviderStores.InitializedAsync(PostgresTestDatabase.Options(connectionString));
        return (services.GetRequiredService<ILeadStore>(), async () =>
        {
            await services.DisposeAsync();
            await drop();
        }
        );
    }
}
