using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>The lead store contract (<see cref="ILeadStore"/>), the same facts on every provider.</summary>
public abstract class LeadStoreComplianceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly LeadColumn Email = LeadColumns.Find("email")!;

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

    private static Dictionary<string, object?> Lead(params (string Name, object? Value)[] fields) =>
        fields.ToDictionary(f => f.Name, f => f.Value, StringComparer.Ordinal);

    private Task<IReadOnlyList<LeadSyncOutcome>> SyncAsync(int subscription, LeadSyncAction action, string lookup, DateTimeOffset now,
        params Dictionary<string, object?>[] records) =>
        Leads.SyncAsync(subscription, new LeadSyncRequest(action, lookup, records), now, None);

    [Fact]
    public async Task Created_leads_get_growing_ids_per_subscription_and_every_kind_of_value_round_trips()
    {
        Assert.False(await Leads.HasLeadDatabaseAsync(1, None));
        var every = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var column in LeadColumns.All)
        {
            every[column.RestName] = column.Kind switch
            {
                LeadValueKind.Integer => 42L,
                LeadValueKind.Float => 1234.5,
                LeadValueKind.Boolean => true,
                LeadValueKind.Date => new DateOnly(1990, 7, 4),
                LeadValueKind.DateTime => T0.AddDays(-3),
                _ => column.RestName == "email" ? "Ann@Example.com" : "value of " + column.RestName + " \"é\" 東京, end",
            };
        }

        var outcomes = await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, every, Lead(("email", "bob@example.com")), Lead(("firstName", "NoEmail")));
        Assert.All(outcomes, o => Assert.Equal(LeadSyncStatus.Created, o.Status));
        Assert.Equal([1L, 2, 3], outcomes.Select(o => o.Lead!.Id));
        Assert.True(await Leads.HasLeadDatabaseAsync(1, None));
        Assert.False(await Leads.HasLeadDatabaseAsync(2, None));

        var other = await SyncAsync(2, LeadSyncAction.CreateOrUpdate, "email", T0, Lead(("email", "ann@example.com")));
        Assert.Equal(1, other[0].Lead!.Id); // ids are per subscription

        var read = await Leads.GetByIdsAsync(1, [3, 1, 99, 1], None);
        Assert.Equal([1L, 3], read.Select(l => l.Id));
        var first = read[0];
        Assert.Equal(T0, first.CreatedAt);
        Assert.Equal(T0, first.UpdatedAt);
        Assert.Equal(T0, first.FieldsUpdatedAt);
        foreach (var column in LeadColumns.All)
        {
            Assert.Equal(every[column.RestName], first.Get(column.RestName));
        }

        Assert.Equal(["firstName"], read[1].Fields.Keys);
        Assert.Equal(3, await Leads.CountAsync(1, None));
        Assert.Equal(1, await Leads.CountAsync(2, None));
    }

    [Fact]
    public async Task Create_only_skips_an_existing_email_case_insensitively_also_within_the_batch()
    {
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "ann@example.com")));
        var outcomes = await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0,
            Lead(("email", "ANN@example.com")), Lead(("email", "new@example.com")), Lead(("email", "New@Example.com")));
        Assert.Equal([LeadSyncStatus.Skipped, LeadSyncStatus.Created, LeadSyncStatus.Skipped], outcomes.Select(o => o.Status));
        Assert.Equal("1005", outcomes[0].ReasonCode);
        Assert.Equal("Lead already exists", outcomes[0].ReasonMessage);
        Assert.Equal(2, await Leads.CountAsync(1, None));
    }

    [Fact]
    public async Task Updates_change_only_what_differs_report_old_and_new_values_and_move_the_field_update_time()
    {
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "ann@example.com"), ("firstName", "Anne"), ("leadScore", 5L)));
        var later = T0.AddHours(1);
        var outcome = Assert.Single(await SyncAsync(1, LeadSyncAction.CreateOrUpdate, "email", later,
            Lead(("email", "Ann@Example.com"), ("firstName", "Ann"), ("leadScore", 5L), ("lastName", "Lee"))));
        Assert.Equal(LeadSyncStatus.Updated, outcome.Status);
        Assert.Equal(1, outcome.Lead!.Id);
        Assert.Equal([("firstName", "Anne", "Ann"), ("email", "ann@example.com", "Ann@Example.com"), ("lastName", null, "Lee")],
            outcome.Changes.Select(c => (c.Column.RestName, (string?)c.OldValue, (string?)c.NewValue)).OrderBy(c => c.RestName == "firstName" ? 0 : c.RestName == "email" ? 1 : 2));

        var stored = Assert.Single(await Leads.GetByIdsAsync(1, [1], None));
        Assert.Equal("Ann", stored.Get("firstName"));
        Assert.Equal("Lee", stored.Get("lastName"));
        Assert.Equal(T0, stored.CreatedAt);
        Assert.Equal(later, stored.UpdatedAt);
        Assert.Equal(later, stored.FieldsUpdatedAt);

        // Nothing differs: updated, no changes, times kept. A null clears a field.
        var same = Assert.Single(await SyncAsync(1, LeadSyncAction.UpdateOnly, "email", later.AddHours(1), Lead(("email", "Ann@Example.com"), ("firstName", "Ann"))));
        Assert.Equal(LeadSyncStatus.Updated, same.Status);
        Assert.Empty(same.Changes);
        Assert.Equal(later, Assert.Single(await Leads.GetByIdsAsync(1, [1], None)).UpdatedAt);
        var cleared = Assert.Single(await SyncAsync(1, LeadSyncAction.UpdateOnly, "id", later.AddHours(2), Lead(("id", 1L), ("leadScore", null))));
        var change = Assert.Single(cleared.Changes);
        Assert.Equal((5L, null), (change.OldValue, change.NewValue));
        Assert.Null(Assert.Single(await Leads.GetByIdsAsync(1, [1], None)).Get("leadScore"));
    }

    [Fact]
    public async Task Update_only_skips_unknown_and_ambiguous_leads_and_a_missing_lookup_value()
    {
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "a@example.com")), Lead(("firstName", "B")));
        // Give lead 2 the same email through its id: now two leads match a@example.com.
        Assert.Equal(LeadSyncStatus.Updated, (await SyncAsync(1, LeadSyncAction.UpdateOnly, "id", T0, Lead(("id", 2L), ("email", "A@example.com"))))[0].Status);
        var outcomes = await SyncAsync(1, LeadSyncAction.UpdateOnly, "email", T0,
            Lead(("email", "nobody@example.com")), Lead(("email", "a@example.com"), ("city", "Oslo")), Lead(("city", "Oslo")));
        Assert.Equal(["1004", "1007", "1003"], outcomes.Select(o => o.ReasonCode));
        Assert.Equal(["Lead not found", "Multiple leads match the lookup criteria", "Value for lookup field 'email' not specified"],
            outcomes.Select(o => o.ReasonMessage));
        Assert.Equal("1004", (await SyncAsync(1, LeadSyncAction.UpdateOnly, "id", T0, Lead(("id", 77L), ("city", "x"))))[0].ReasonCode);
        Assert.All(await Leads.GetByIdsAsync(1, [1, 2], None), l => Assert.Null(l.Get("city")));
    }

    [Fact]
    public async Task Find_pages_by_id_and_counts_up_to_a_cap()
    {
        var records = Enumerable.Range(1, 7).Select(i => Lead(("email", $"u{i}@example.com"), ("numberOfEmployees", (long)i))).ToArray();
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, records);
        object[] wanted = ["U2@example.com", "u3@example.com", "u5@example.com", "u6@example.com", "nobody@example.com"];
        var page1 = await Leads.FindAsync(1, Email, wanted, 0, 3, None);
        Assert.Equal([2L, 3, 5], page1.Select(l => l.Id));
        var page2 = await Leads.FindAsync(1, Email, wanted, page1[^1].Id, 3, None);
        Assert.Equal([6L], page2.Select(l => l.Id));
        Assert.Equal(4, await Leads.CountMatchesAsync(1, Email, wanted, 100, None));
        Assert.Equal(2, await Leads.CountMatchesAsync(1, Email, wanted, 2, None));
        Assert.Equal([4L, 7], (await Leads.FindAsync(1, LeadColumns.Id, [7L, 4L, 40L], 0, 10, None)).Select(l => l.Id));
        Assert.Equal([3L], (await Leads.FindAsync(1, LeadColumns.Find("numberOfEmployees")!, [3L], 0, 10, None)).Select(l => l.Id));
        Assert.Empty(await Leads.FindAsync(2, Email, wanted, 0, 10, None));
    }

    [Fact]
    public async Task Delete_returns_what_existed_never_reuses_an_id_and_the_lead_database_stays_on()
    {
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "a@example.com"), ("firstName", "Ann")), Lead(("email", "b@example.com")));
        var deleted = await Leads.DeleteAsync(1, [2, 2, 9], None);
        Assert.Equal(2, Assert.Single(deleted).Id);
        Assert.Equal("b@example.com", deleted[0].Get("email"));
        Assert.Empty(await Leads.DeleteAsync(1, [2], None));
        Assert.Equal(3, (await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "c@example.com"))))[0].Lead!.Id);

        Assert.Equal(2, (await Leads.DeleteAsync(1, [1, 3], None)).Count);
        Assert.Equal(0, await Leads.CountAsync(1, None));
        Assert.True(await Leads.HasLeadDatabaseAsync(1, None));

        await SyncAsync(2, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "z@example.com")));
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "d@example.com")));
        Assert.Equal(1, await Leads.DeleteSubscriptionAsync(1, None));
        Assert.False(await Leads.HasLeadDatabaseAsync(1, None));
        Assert.Equal(1, (await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "e@example.com"))))[0].Lead!.Id);
        Assert.Equal(1, await Leads.CountAsync(2, None));
    }

    [Fact]
    public async Task Concurrent_syncs_of_one_email_create_one_lead()
    {
        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(() => SyncAsync(1, LeadSyncAction.CreateOrUpdate, "email", T0, Lead(("email", "race@example.com")))));
        var outcomes = (await Task.WhenAll(tasks)).Select(o => Assert.Single(o)).ToList();
        Assert.Single(outcomes, o => o.Status == LeadSyncStatus.Created);
        Assert.Equal(7, outcomes.Count(o => o.Status == LeadSyncStatus.Updated));
        Assert.Equal(1, await Leads.CountAsync(1, None));
    }

    [Fact]
    public async Task StreamLeads_reads_a_window_in_id_order_with_only_the_requested_columns_and_no_deleted_lead()
    {
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0.AddDays(-2), Lead(("email", "early@example.com")));
        await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "ann@example.com"), ("leadScore", 7L), ("urgency", 0.25),
            ("unsubscribed", false), ("dateOfBirth", new DateOnly(1990, 7, 4))), Lead(("email", "gone@example.com")), Lead(("firstName", "Bob")));
        await SyncAsync(2, LeadSyncAction.CreateOnly, "email", T0, Lead(("email", "other@example.com")));
        await Leads.DeleteAsync(1, [3], None);
        await SyncAsync(1, LeadSyncAction.UpdateOnly, "email", T0.AddDays(5), Lead(("email", "early@example.com"), ("city", "Paris")));

        var streamer = (ILeadWindowStreamer)Leads;
        string[] fields = ["dateOfBirth", "id", "email", "leadScore", "urgency", "unsubscribed", "createdAt", "updatedAt"];
        var rows = new RowCollector(fields);
        await streamer.StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.CreatedAt, T0.AddMinutes(-1), T0, fields), rows, None);
        Assert.Equal(
        [
            "1990-07-04|2|ann@example.com|7|0.25|False|" + T0.ToUnixTimeSeconds() + "|" + T0.ToUnixTimeSeconds(),
            "null|4|null|null|null|null|" + T0.ToUnixTimeSeconds() + "|" + T0.ToUnixTimeSeconds(),
        ], rows.Rows);

        var updated = new RowCollector(["id", "city"]);
        await streamer.StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.FieldsUpdatedAt, T0.AddDays(4), T0.AddDays(6), ["id", "city"]), updated, None);
        Assert.Equal(["1|Paris"], updated.Rows);
        var created = new RowCollector(["id"]);
        await streamer.StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.CreatedAt, T0.AddDays(4), T0.AddDays(6), ["id"]), created, None);
        Assert.Empty(created.Rows);
    }

    [Fact]
    public async Task StreamLeads_hands_over_thousands_of_rows_in_order_with_text_byte_for_byte_and_stops_when_cancelled()
    {
        // More rows than a store reads ahead in one batch, text of every width UTF-8 has, and an empty string beside a null.
        const int count = 2_500;
        for (var first = 1; first <= count; first += 300)
        {
            var records = Enumerable.Range(first, Math.Min(300, count - first + 1)).Select(i => Lead(("email", $"l{i}@example.com"),
                ("firstName", i % 3 == 0 ? $"Zoë \"山田\", {i}\n🚀" : i % 3 == 1 ? "" : null), ("annualRevenue", i * 0.5))).ToArray();
            await SyncAsync(1, LeadSyncAction.CreateOnly, "email", T0, records);
        }

        var streamer = (ILeadWindowStreamer)Leads;
        string[] fields = ["id", "firstName", "annualRevenue"];
        var rows = new RowCollector(fields);
        await streamer.StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.CreatedAt, T0, T0, fields), rows, None);
        var expected = Enumerable.Range(1, count).Select(i => i + "|" + (i % 3 == 0 ? $"Zoë \"山田\", {i}\n🚀" : i % 3 == 1 ? "" : "null") + "|"
            + (i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, rows.Rows);

        using var cancel = new CancellationTokenSource();
        var seen = 0;
        var stopping = new CallbackSink(_ =>
        {
            if (++seen == 1_500)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            streamer.StreamLeadsAsync(new LeadExtractQuery(1, LeadExtractFilterKind.CreatedAt, T0, T0, fields), stopping, cancel.Token));
        Assert.InRange(seen, 1_500, count - 1);
    }

    private sealed class CallbackSink(Action<ILeadRow> onRow) : ILeadRowSink
    {
        public void WriteRow(ILeadRow row) => onRow(row);
    }

    private sealed class RowCollector(string[] fields) : ILeadRowSink
    {
        public List<string> Rows { get; } = [];

        public void WriteRow(ILeadRow row)
        {
            var cells = new string[fields.Length];
            for (var i = 0; i < fields.Length; i++)
            {
                cells[i] = row.IsNull(i) ? "null" : LeadExtractColumns.Find(fields[i])!.Kind switch
                {
                    LeadValueKind.Integer => row.GetInteger(i).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    LeadValueKind.Float => row.GetFloat(i).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    LeadValueKind.Boolean => row.GetBoolean(i).ToString(),
                    LeadValueKind.Date => row.GetDate(i).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                    LeadValueKind.DateTime => row.GetDateTime(i).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => System.Text.Encoding.UTF8.GetString(row.GetText(i)),
                };
            }

            Rows.Add(string.Join('|', cells));
        }
    }
}

public sealed class EmbeddedLeadStoreComplianceTests : LeadStoreComplianceTests
{
    protected override async Task<(ILeadStore Leads, Func<ValueTask> Dispose)> CreateStoreAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "leads-" + Guid.NewGuid().ToString("N"));
        var services = await ProviderStores.InitializedAsync(EmbeddedStores.Options(folder));
        return (services.GetRequiredService<ILeadStore>(), async () =>
        {
            await services.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
        );
    }
}

public sealed class PostgresLeadStoreComplianceTests : LeadStoreComplianceTests
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
