using Microsoft.Extensions.DependencyInjection;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Leads.Programs;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>The program member store contract (<see cref="IProgramMemberStore"/>) and the membership seed derivation, the same facts on every provider.</summary>
public abstract class ProgramMemberStoreComplianceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 30, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly MarketingProgram Webinar = MarketingWorld.Programs.First(p => p.Channel.Name == "Webinar");
    private static readonly MarketingProgram Nurture = MarketingWorld.Programs.First(p => p.Type == "Engagement");

    private ServiceProvider? _services;
    private Func<ValueTask>? _cleanup;

    protected abstract Task<(ServiceProvider Services, Func<ValueTask> Cleanup)> CreateServicesAsync();

    private IServiceProvider Services => _services ?? throw new InvalidOperationException("store not created");

    private IProgramMemberStore Members => Services.GetRequiredService<IProgramMemberStore>();

    private ILeadStore Leads => Services.GetRequiredService<ILeadStore>();

    public async Task InitializeAsync() => (_services, _cleanup) = await CreateServicesAsync();

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        if (_cleanup is not null)
        {
            await _cleanup();
        }
    }

    private async Task CreateLeadsAsync(int subscription, int count)
    {
        var records = Enumerable.Range(1, count)
            .Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["email"] = $"lead{i}@example.com" }).ToList();
        var outcomes = await Leads.SyncAsync(subscription, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email", records), T0, None);
        Assert.All(outcomes, o => Assert.Equal(LeadSyncStatus.Created, o.Status));
    }

    private static ProgramMember Member(MarketingProgram program, long lead, string status = "Registered", bool success = false, bool exhausted = false,
        string? cadence = null, int updatedDays = 0) =>
        new(program.Id, lead, status, success ? "Attended the webinar" : null, success, success ? T0.AddDays(1) : null, T0, AcquiredBy: lead % 2 == 0,
            exhausted, cadence, cadence is null ? null : "Track 1", T0, T0.AddDays(updatedDays));

    private Task<IReadOnlyList<ProgramMember>> ReadAsync(ProgramMemberQuery query) => Members.ReadAsync(query, None);

    [Fact]
    public async Task A_put_writes_only_members_the_subscription_has_round_trips_every_field_and_replaces_by_program_and_lead()
    {
        await CreateLeadsAsync(1, 2);
        await CreateLeadsAsync(2, 1);
        var ann = Member(Webinar, 1, "Attended", success: true);
        var bob = Member(Nurture, 2, "Member", exhausted: true, cadence: "paus", updatedDays: 3);
        Assert.Equal(2, await Members.PutAsync(1, [ann, bob, Member(Webinar, 99)], None));
        Assert.Equal(2, await Members.CountAsync(1, None));
        Assert.Equal(0, await Members.CountAsync(2, None));

        var all = await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id, Nurture.Id], 10));
        Assert.Equal(Webinar.Id < Nurture.Id ? [ann, bob] : [bob, ann], all);

        var moved = ann with { StatusName = "Attended On-demand", UpdatedAt = T0.AddDays(5) };
        Assert.Equal(1, await Members.PutAsync(1, [moved], None));
        Assert.Equal(moved, Assert.Single(await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id], 10))));
        Assert.Equal(2, await Members.CountAsync(1, None));
        Assert.Empty(await ReadAsync(new ProgramMemberQuery(2, [Webinar.Id, Nurture.Id], 10)));
    }

    [Fact]
    public async Task Every_filter_narrows_the_read_and_pages_go_on_after_program_and_lead()
    {
        await CreateLeadsAsync(1, 6);
        await Members.PutAsync(1,
        [
            Member(Webinar, 1, "Invited"),
            Member(Webinar, 2, "Registered"),
            Member(Webinar, 3, "Attended", success: true, updatedDays: 10),
            Member(Nurture, 1, "Member", cadence: "norm"),
            Member(Nurture, 4, "Member", exhausted: true, cadence: "paus"),
            Member(Nurture, 5, "Engaged", success: true, cadence: "norm"),
        ], None);
        var both = new List<long> { Webinar.Id, Nurture.Id };
        static IEnumerable<(long, long)> Keys(IEnumerable<ProgramMember> page) => page.Select(m => (m.ProgramId, m.LeadId));

        var everyone = await ReadAsync(new ProgramMemberQuery(1, both, 100));
        Assert.Equal(everyone.OrderBy(m => m.ProgramId).ThenBy(m => m.LeadId), everyone);
        Assert.Equal(6, everyone.Count);

        Assert.Equal([(Webinar.Id, 1L), (Webinar.Id, 2L)], Keys(await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id], 100) { StatusNames = ["Invited", "Registered"] })));
        Assert.Equal([(Nurture.Id, 4L)], Keys(await ReadAsync(new ProgramMemberQuery(1, both, 100) { IsExhausted = true })));
        Assert.Equal([(Nurture.Id, 1L), (Nurture.Id, 5L)], Keys(await ReadAsync(new ProgramMemberQuery(1, both, 100) { NurtureCadence = "norm" })));
        Assert.Equal(2, (await ReadAsync(new ProgramMemberQuery(1, both, 100) { ReachedSuccess = true })).Count);
        Assert.Equal([(Webinar.Id, 1L), (Nurture.Id, 1L)], Keys((await ReadAsync(new ProgramMemberQuery(1, both, 100) { LeadIds = [1] })).OrderBy(m => m.ProgramId != Webinar.Id)));
        Assert.Equal([(Webinar.Id, 3L)], Keys(await ReadAsync(new ProgramMemberQuery(1, both, 100) { UpdatedFrom = T0.AddDays(9), UpdatedTo = T0.AddDays(11) })));
        Assert.Equal(5, (await ReadAsync(new ProgramMemberQuery(1, both, 100) { UpdatedTo = T0.AddDays(1) })).Count);
        Assert.Empty(await ReadAsync(new ProgramMemberQuery(1, both, 100) { StatusNames = [] }));
        Assert.Empty(await ReadAsync(new ProgramMemberQuery(1, [], 100)));

        // Two at a time from the start, each page after the last key of the one before, gives everyone once, in order.
        var paged = new List<ProgramMember>();
        var query = new ProgramMemberQuery(1, both, 2);
        while (true)
        {
            var page = await ReadAsync(query);
            paged.AddRange(page);
            if (page.Count < 2)
            {
                break;
            }

            query = query with { AfterProgramId = page[^1].ProgramId, AfterLeadId = page[^1].LeadId };
        }

        Assert.Equal(everyone, paged);
    }

    [Fact]
    public async Task A_deleted_lead_leaves_every_program_and_a_reset_of_the_leads_or_the_members_clears_them()
    {
        await CreateLeadsAsync(1, 3);
        await CreateLeadsAsync(2, 1);
        await Members.PutAsync(1, [Member(Webinar, 1), Member(Nurture, 1, cadence: "norm"), Member(Webinar, 2), Member(Webinar, 3)], None);
        await Members.PutAsync(2, [Member(Webinar, 1)], None);

        Assert.Single(await Leads.DeleteAsync(1, [1], None));
        Assert.Equal([2L, 3L], (await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id, Nurture.Id], 10))).Select(m => m.LeadId));
        Assert.Equal(1, await Members.CountAsync(2, None));

        // A deleted lead cannot be made a member again.
        Assert.Equal(0, await Members.PutAsync(1, [Member(Webinar, 1)], None));

        await Leads.DeleteSubscriptionAsync(1, None);
        Assert.Equal(0, await Members.CountAsync(1, None));
        Assert.Equal(1, await Members.CountAsync(2, None));
        Assert.Equal(1, await Members.DeleteSubscriptionAsync(2, None));
        Assert.Equal(0, await Members.CountAsync(2, None));
    }

    [Fact]
    public async Task Seeded_memberships_follow_each_lead_s_program_activities_in_time_order()
    {
        await CreateLeadsAsync(1, 2);
        var guid = 1000L;
        ActivityRecord Status(long lead, MarketingProgram program, int hours, string status, bool acquired = false) => new(
            ++guid, lead, T0.AddHours(hours), ProgramMembershipWorld.ChangeStatusInProgression, null, program.Id, program.Name,
            $$"""{"New Status":"{{status}}","Acquired By":{{(acquired ? "true" : "false")}},"Success":true}""", null);
        ActivityRecord Track(long lead, MarketingProgram program, int hours, string track) => new(
            ++guid, lead, T0.AddHours(hours), ProgramMembershipWorld.AddToNurture, null, program.Id, program.Name, $$"""{"Track Name":"{{track}}"}""", null);

        // Stored out of time order (marketoGUID order is not activityDate order), and one activity of a lead that does not exist.
        await Services.GetRequiredService<IActivityStore>().AppendAsync(1,
        [
            Status(1, Webinar, 30, "Attended"),
            Status(1, Webinar, 10, "Invited", acquired: true),
            Status(1, Webinar, 20, "Registered"),
            Status(1, Webinar, 40, "Registered"),
            Track(2, Nurture, 5, "Onboarding"),
            Status(2, Nurture, 6, "Member"),
            Track(2, Nurture, 8, "Advanced"),
            Status(77, Webinar, 1, "Invited"),
        ], None);

        var world = new ProgramMembershipWorld(Services.GetRequiredService<IActivityPageReader>(), Members);
        Assert.Equal(2, await world.SeedAsync(1, None));
        var members = await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id, Nurture.Id], 10));
        var webinar = Assert.Single(members, m => m.ProgramId == Webinar.Id);
        Assert.Equal(new ProgramMember(Webinar.Id, 1, "Registered", null, ReachedSuccess: true, ReachedSuccessDate: T0.AddHours(30),
            MembershipDate: T0.AddHours(10), AcquiredBy: true, IsExhausted: false, NurtureCadence: null, TrackName: null,
            CreatedAt: T0.AddHours(10), UpdatedAt: T0.AddHours(40)), webinar);
        var nurture = Assert.Single(members, m => m.ProgramId == Nurture.Id);
        Assert.Equal(new ProgramMember(Nurture.Id, 2, "Member", null, ReachedSuccess: false, ReachedSuccessDate: null,
            MembershipDate: T0.AddHours(5), AcquiredBy: false, IsExhausted: false, NurtureCadence: "norm", TrackName: "Advanced",
            CreatedAt: T0.AddHours(5), UpdatedAt: T0.AddHours(8)), nurture);

        // Seeding again derives the same memberships, not more.
        Assert.Equal(2, await world.SeedAsync(1, None));
        Assert.Equal(members, await ReadAsync(new ProgramMemberQuery(1, [Webinar.Id, Nurture.Id], 10)));
    }
}

public sealed class EmbeddedProgramMemberStoreComplianceTests : ProgramMemberStoreComplianceTests
{
    protected override async Task<(ServiceProvider Services, Func<ValueTask> Cleanup)> CreateServicesAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "members-" + Guid.NewGuid().ToString("N"));
        var services = await ProviderStores.InitializedAsync(EmbeddedStores.Options(folder));
        return (services, () =>
        {
            Directory.Delete(folder, recursive: true);
            return ValueTask.CompletedTask;
        }
        );
    }
}

public sealed class PostgresProgramMemberStoreComplianceTests : ProgramMemberStoreComplianceTests
{
    protected override async Task<(ServiceProvider Services, Func<ValueTask> Cleanup)> CreateServicesAsync()
    {
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        var services = await ProviderStores.InitializedAsync(PostgresTestDatabase.Options(connectionString));
        return (services, async () => await drop());
    }
}
