using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>The list store contract (<see cref="IListStore"/>), the same facts on every provider.</summary>
public abstract class ListStoreComplianceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private ServiceProvider? _services;
    private Func<ValueTask>? _dispose;

    protected abstract Task<(ServiceProvider Services, Func<ValueTask> Dispose)> CreateStoresAsync();

    private IListStore Lists => _services!.GetRequiredService<IListStore>();

    private ILeadStore Leads => _services!.GetRequiredService<ILeadStore>();

    public async Task InitializeAsync() => (_services, _dispose) = await CreateStoresAsync();

    public async Task DisposeAsync()
    {
        if (_dispose is not null)
        {
            await _dispose();
        }
    }

    /// <summary>Creates <paramref name="count"/> leads in the subscription; returns their ids in order.</summary>
    private async Task<long[]> LeadsAsync(int subscription, int count, Func<int, Dictionary<string, object?>>? fields = null)
    {
        var records = Enumerable.Range(0, count).Select(i => (IReadOnlyDictionary<string, object?>)(fields?.Invoke(i) ?? [])).ToList();
        var outcomes = await Leads.SyncAsync(subscription, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email", records), T0, None);
        return [.. outcomes.Select(o => o.Lead!.Id)];
    }

    private static StaticList List(long id, string name, string? program = null) => new(id, name, null, program is null ? null : 1000, program, T0, T0);

    [Fact]
    public async Task Lists_are_per_subscription_ordered_by_id_and_a_put_replaces_the_name_but_keeps_created_and_members()
    {
        await Lists.PutListAsync(1, List(4214, "MPS Inbound", "GL_OP_ALL_2021"), None);
        await Lists.PutListAsync(1, List(4201, "MPS Outbound"), None);
        await Lists.PutListAsync(2, List(4201, "Other subscription"), None);
        var ids = await LeadsAsync(1, 2);
        await Lists.AddMembersAsync(1, 4201, ids, T0, None);

        Assert.Equal(new long[] { 4201L, 4214 }, (await Lists.GetListsAsync(1, None)).Select(l => l.Id));
        var inbound = (await Lists.FindListAsync(1, 4214, None))!;
        Assert.Equal(("MPS Inbound", (long?)1000, "GL_OP_ALL_2021", T0), (inbound.Name, inbound.ProgramId, inbound.ProgramName, inbound.CreatedAt));
        Assert.Null(await Lists.FindListAsync(1, 9999, None));
        Assert.Equal("Other subscription", (await Lists.FindListAsync(2, 4201, None))!.Name);

        await Lists.PutListAsync(1, List(4201, "Renamed") with { Description = "d", CreatedAt = T0.AddDays(5), UpdatedAt = T0.AddDays(5) }, None);
        var renamed = (await Lists.FindListAsync(1, 4201, None))!;
        Assert.Equal(("Renamed", "d", T0, T0.AddDays(5)), (renamed.Name, renamed.Description, renamed.CreatedAt, renamed.UpdatedAt));
        Assert.Equal(ids, await Lists.GetMembersAsync(1, 4201, 0, 10, None));
    }

    [Fact]
    public async Task Add_and_remove_report_what_changed_and_which_leads_do_not_exist()
    {
        await Lists.PutListAsync(1, List(7, "L"), None);
        var ids = await LeadsAsync(1, 3);
        var added = await Lists.AddMembersAsync(1, 7, [ids[2], ids[0], 999, ids[0]], T0, None);
        Assert.Equal([ids[0], ids[2]], added.Changed);
        Assert.Equal([999L], added.Missing);

        var again = await Lists.AddMembersAsync(1, 7, [ids[0], ids[1]], T0.AddHours(1), None);
        Assert.Equal([ids[1]], again.Changed);
        Assert.Empty(again.Missing);

        Assert.Equal(ids, await Lists.GetMembersAsync(1, 7, 0, 10, None));
        Assert.Equal(new long[] { ids[1], ids[2] }, await Lists.GetMembersAsync(1, 7, ids[0], 10, None));
        Assert.Equal(new long[] { ids[0] }, await Lists.GetMembersAsync(1, 7, 0, 1, None));
        Assert.Equal(3, await Lists.CountMembersAsync(1, 7, 100, None));
        Assert.Equal(2, await Lists.CountMembersAsync(1, 7, 2, None));
        Assert.Equal(new HashSet<long> { ids[1] }, await Lists.MembersAmongAsync(1, 7, [ids[1], 999], None));

        var removed = await Lists.RemoveMembersAsync(1, 7, [ids[1], ids[1], 999], None);
        Assert.Equal([ids[1]], removed.Changed);
        Assert.Equal([999L], removed.Missing);
        Assert.Empty((await Lists.RemoveMembersAsync(1, 7, [ids[1]], None)).Changed);
        Assert.Equal(new long[] { ids[0], ids[2] }, await Lists.GetMembersAsync(1, 7, 0, 10, None));

        // Another subscription's lead with the same id is not this subscription's lead.
        await Lists.PutListAsync(2, List(7, "L"), None);
        Assert.Equal(new long[] { ids[0] }, (await Lists.AddMembersAsync(2, 7, [ids[0]], T0, None)).Missing);
    }

    [Fact]
    public async Task Deleting_a_lead_removes_it_from_every_list_and_reset_clears_lists_members_and_smart_lists()
    {
        await Lists.PutListAsync(1, List(1, "A"), None);
        await Lists.PutListAsync(1, List(2, "B"), None);
        await Lists.PutSmartListAsync(1, new SmartList(9, "Hot", null, SmartListRule.Create("leadScore", SmartListOperator.AtLeast, "50"), T0, T0), None);
        var ids = await LeadsAsync(1, 3);
        await Lists.AddMembersAsync(1, 1, ids, T0, None);
        await Lists.AddMembersAsync(1, 2, ids, T0, None);

        await Leads.DeleteAsync(1, [ids[1]], None);
        Assert.Equal(new long[] { ids[0], ids[2] }, await Lists.GetMembersAsync(1, 1, 0, 10, None));
        Assert.Equal(new long[] { ids[0], ids[2] }, await Lists.GetMembersAsync(1, 2, 0, 10, None));

        Assert.Equal(2, await Lists.DeleteSubscriptionAsync(1, None));
        Assert.Empty(await Lists.GetListsAsync(1, None));
        Assert.Empty(await Lists.GetSmartListsAsync(1, None));
        Assert.Empty(await Lists.GetMembersAsync(1, 1, 0, 10, None));
        Assert.Equal(2, await Leads.CountAsync(1, None));
    }

    [Fact]
    public async Task Smart_lists_round_trip_and_their_rules_select_leads_in_the_extract_stream()
    {
        var rules = new[]
        {
            new SmartList(1, "Germany", "country is Germany", SmartListRule.Create("country", SmartListOperator.Is, "Germany"), T0, T0),
            new SmartList(2, "Example", null, SmartListRule.Create("email", SmartListOperator.EndsWith, "@example.com"), T0, T0),
            new SmartList(3, "Hot", null, SmartListRule.Create("leadScore", SmartListOperator.AtLeast, "50"), T0, T0),
        };
        foreach (var list in rules.Reverse())
        {
            await Lists.PutSmartListAsync(1, list, None);
        }

        Assert.Equal(rules, await Lists.GetSmartListsAsync(1, None));
        var ids = await LeadsAsync(1, 5, i => i switch
        {
            0 => new() { ["country"] = "GERMANY", ["email"] = "a@example.com", ["leadScore"] = 50L },
            1 => new() { ["country"] = "Austria", ["email"] = "b@example.community", ["leadScore"] = 49L },
            2 => new() { ["email"] = "c_1@EXAMPLE.COM", ["leadScore"] = 90L },
            3 => new() { ["email"] = "d@exampleXcom" },
            _ => new() { ["country"] = "germany" },
        });

        async Task<long[]> Stream(SmartListRule rule)
        {
            var sink = new IdSink();
            await ((ILeadWindowStreamer)Leads).StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.SmartList, T0, T0, ["id"]) { SmartListRule = rule },
                sink, None);
            return [.. sink.Ids];
        }

        Assert.Equal(new long[] { ids[0], ids[4] }, await Stream(rules[0].Rule));
        Assert.Equal(new long[] { ids[0], ids[2] }, await Stream(rules[1].Rule));
        Assert.Equal(new long[] { ids[0], ids[2] }, await Stream(rules[2].Rule));
        Assert.Throws<ArgumentException>(() => SmartListRule.Create("leadScore", SmartListOperator.Is, "5"));
        Assert.Throws<ArgumentException>(() => SmartListRule.Create("shoeSize", SmartListOperator.Is, "5"));
    }

    [Fact]
    public async Task A_large_list_is_added_in_one_call_and_streams_in_lead_id_order()
    {
        const int Count = 5_000;
        await Lists.PutListAsync(1, List(1, "Big"), None);
        var ids = await LeadsAsync(1, Count);
        var change = await Lists.AddMembersAsync(1, 1, [.. ids.Reverse()], T0, None);
        Assert.Equal(Count, change.Changed.Count);
        Assert.Equal(Count, await Lists.CountMembersAsync(1, 1, long.MaxValue, None));

        // Every other lead leaves; the stream reads the remaining members only, in id order.
        await Lists.RemoveMembersAsync(1, 1, [.. ids.Where((_, i) => i % 2 == 1)], None);
        var sink = new IdSink();
        await ((ILeadWindowStreamer)Leads).StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.StaticList, T0, T0, ["id"]) { ListId = 1 },
            sink, None);
        Assert.Equal(ids.Where((_, i) => i % 2 == 0), sink.Ids);
    }

    private sealed class IdSink : ILeadRowSink
    {
        public List<long> Ids { get; } = [];

        public void WriteRow(ILeadRow row) => Ids.Add(row.GetInteger(0));
    }
}

public sealed class EmbeddedListStoreComplianceTests : ListStoreComplianceTests
{
    protected override async Task<(ServiceProvider Services, Func<ValueTask> Dispose)> CreateStoresAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "lists-" + Guid.NewGuid().ToString("N"));
        var services = await ProviderStores.InitializedAsync(EmbeddedStores.Options(folder));
        return (services, async () =>
        {
            await services.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
        );
    }
}

public sealed class PostgresListStoreComplianceTests : ListStoreComplianceTests
{
    protected override async Task<(ServiceProvider Services, Func<ValueTask> Dispose)> CreateStoresAsync()
    {
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        var services = await ProviderStores.InitializedAsync(PostgresTestDatabase.Options(connectionString));
        return (services, async () =>
        {
            await services.DisposeAsync();
            await drop();
        }
        );
    }
}
