using Spillway.Server.Activities.Catalog;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Lists;

/// <summary>
/// The lists of the demo world: the static lists that Add to List (24) and Remove from List (25) name, with the ids the
/// activity catalogue gives them, and a few smart lists. Static membership is what the activities say: for each list
/// and lead, the latest of its Add and Remove activities (by activity time, then marketoGUID) decides, and only leads
/// that exist become members.
/// </summary>
public sealed class ListWorld(IListStore lists, IActivityPageReader activities, ISubscriptionClock clock)
{
    /// <summary>When the seeded lists say they were created: the demo world's programs are older than any seeded activity.</summary>
    public static readonly DateTimeOffset CreatedAt = new(2021, 1, 4, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The seeded smart lists: (id, name, rule). Each is a single rule over a standard lead field.</summary>
    public static IReadOnlyList<(long Id, string Name, SmartListRule Rule)> SmartListsToSeed { get; } =
    [
        (5101, "Leads in Germany", SmartListRule.Create("country", SmartListOperator.Is, "Germany")),
        (5102, "Example.com Contacts", SmartListRule.Create("email", SmartListOperator.EndsWith, "@example.com")),
        (5103, "Hot Leads", SmartListRule.Create("leadScore", SmartListOperator.AtLeast, "50")),
        (5104, "Enterprise Accounts", SmartListRule.Create("numberOfEmployees", SmartListOperator.AtLeast, "1000")),
    ];

    /// <summary>
    /// Creates (or refreshes) the seeded static and smart lists of the subscription and sets each static list's members
    /// to what its Add and Remove activities leave, at the subscription clock's now. Returns how many members the
    /// static lists have.
    /// </summary>
    public async Task<long> SeedAsync(int subscriptionId, CancellationToken ct)
    {
        var now = clock.NowOf(subscriptionId);
        long members = 0;
        foreach (var (id, programId, name) in MarketingWorld.StaticListsToSeed)
        {
            var program = MarketingWorld.ProgramById(programId);
            await lists.PutListAsync(subscriptionId, new StaticList(id, name, null, program?.Id, program?.Name, CreatedAt, CreatedAt), ct);
            var wanted = await activities.ListMembersAsync(subscriptionId, id, int.MaxValue, ct);
            var current = await lists.GetMembersAsync(subscriptionId, id, 0, int.MaxValue, ct);
            var gone = current.Except(wanted).ToList();
            if (gone.Count > 0)
            {
                await lists.RemoveMembersAsync(subscriptionId, id, gone, ct);
            }

            await lists.AddMembersAsync(subscriptionId, id, wanted.Except(current).ToList(), now, ct);
            members += await lists.CountMembersAsync(subscriptionId, id, long.MaxValue, ct);
        }

        foreach (var (id, name, rule) in SmartListsToSeed)
        {
            await lists.PutSmartListAsync(subscriptionId, new SmartList(id, name, rule.ToString(), rule, CreatedAt, CreatedAt), ct);
        }

        return members;
    }
}
