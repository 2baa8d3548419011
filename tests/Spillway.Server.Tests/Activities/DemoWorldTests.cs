using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Activities;

/// <summary>One 40,000-activity world over 20 days with its default lead population, shared by the tests that inspect it.</summary>
public sealed class DemoWorldSample
{
    public static readonly DateTimeOffset From = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset To = new(2026, 3, 20, 23, 59, 59, TimeSpan.Zero);

    public DemoWorldSample()
    {
        World = DemoWorld.Create(20260301, 40_000, null, From, To);
        Leads = World.Leads().ToList();
        Rows = World.Activities(1).ToList();
    }

    public DemoWorld World { get; }

    public IReadOnlyList<LeadRecord> Leads { get; }

    public IReadOnlyList<ActivityRecord> Rows { get; }
}

public class DemoWorldTests(DemoWorldSample sample) : IClassFixture<DemoWorldSample>
{
    [Fact]
    public void Same_seed_and_counts_give_the_same_leads_and_activities_and_another_seed_does_not()
    {
        var again = DemoWorld.Create(20260301, 40_000, null, DemoWorldSample.From, DemoWorldSample.To);
        Assert.Equal(sample.Rows, again.Activities(1).ToList());
        var leads = again.Leads().ToList();
        Assert.Equal(sample.Leads.Count, leads.Count);
        for (var i = 0; i < leads.Count; i++)
        {
            Assert.Equal((sample.Leads[i].Id, sample.Leads[i].CreatedAt, sample.Leads[i].UpdatedAt), (leads[i].Id, leads[i].CreatedAt, leads[i].UpdatedAt));
            Assert.Equal(sample.Leads[i].Fields.OrderBy(f => f.Key, StringComparer.Ordinal), leads[i].Fields.OrderBy(f => f.Key, StringComparer.Ordinal));
        }

        var other = DemoWorld.Create(7, 40_000, null, DemoWorldSample.From, DemoWorldSample.To);
        Assert.NotEqual(sample.Leads.Select(l => l.Fields["title"]), other.Leads().Select(l => l.Fields["title"]));
    }

    [Fact]
    public void The_default_population_is_one_lead_per_eight_activities_with_realistic_fields()
    {
        Assert.Equal(5_000, sample.Leads.Count);
        Assert.Equal(5_000, sample.World.LeadCount);
        Assert.True(sample.Leads.Zip(sample.Leads.Skip(1)).All(p => p.First.Id < p.Second.Id && p.First.CreatedAt <= p.Second.CreatedAt),
            "ids grow with creation time");
        Assert.Contains(sample.Leads, l => l.CreatedAt < DemoWorldSample.From.AddYears(-2));
        Assert.All(sample.Leads, l => Assert.True(l.CreatedAt <= DemoWorldSample.To));
        Assert.All(sample.Leads, l => Assert.True(l.Fields.ContainsKey("email") && l.Fields.ContainsKey("lastName") && l.Fields.ContainsKey("leadStatus")));
        Assert.Equal(sample.Leads.Count, sample.Leads.Select(l => l.Fields["email"]).Distinct().Count());
        Assert.All(sample.Leads, l => Assert.True(System.Text.Ascii.IsValid((string)l.Fields["email"]), $"{l.Fields["email"]} is not ASCII"));
        Assert.InRange(sample.Leads.Count(l => l.Fields.ContainsKey("city")) / (double)sample.Leads.Count, 0.85, 0.95);
        Assert.InRange(sample.Leads.Count(l => l.Fields.Values.OfType<string>().Any(v => DemoText.Hard.Contains(v))), 20, 90);
        Assert.DoesNotContain(sample.Leads, l => l.Fields.Values.OfType<string>().Any(v => v.Contains('\0', StringComparison.Ordinal)));

        // Every value is of its column's kind, as the lead store takes it.
        foreach (var lead in sample.Leads.Take(500))
        {
            foreach (var (name, value) in lead.Fields)
            {
                var column = LeadColumns.Find(name);
                Assert.NotNull(column);
                Assert.IsType(column.Kind switch
                {
                    LeadValueKind.Integer => typeof(long),
                    LeadValueKind.Float => typeof(double),
                    LeadValueKind.Boolean => typeof(bool),
                    LeadValueKind.Date => typeof(DateOnly),
                    _ => typeof(string),
                }, value);
            }
        }
    }

    [Fact]
    public void Every_activity_names_an_existing_lead_at_or_after_its_creation()
    {
        var created = sample.Leads.ToDictionary(l => l.Id, l => l.CreatedAt);
        foreach (var row in sample.Rows)
        {
            Assert.True(created.TryGetValue(row.LeadId, out var at), $"activity {row.MarketoGuid} names lead {row.LeadId}, which does not exist");
            Assert.True(row.ActivityDate >= at, $"activity {row.MarketoGuid} of lead {row.LeadId} is before its creation");
        }
    }

    [Fact]
    public void Exactly_the_leads_created_in_the_range_have_one_New_Lead_at_their_creation_as_their_first_row()
    {
        var newLeads = sample.Rows.Where(r => r.ActivityTypeId == StandardActivityTypes.NewLead).ToList();
        var inRange = sample.Leads.Where(l => l.CreatedAt >= DemoWorldSample.From).ToList();
        Assert.InRange(inRange.Count, 700, 900); // about 2 % of the activities, as in Marketo's mix
        Assert.Equal(inRange.Select(l => l.Id), newLeads.Select(r => r.LeadId));
        var byLead = sample.Leads.ToDictionary(l => l.Id);
        foreach (var row in newLeads)
        {
            var lead = byLead[row.LeadId];
            Assert.Equal(lead.CreatedAt, row.ActivityDate);
            Assert.Equal(row.LeadId, row.PrimaryAttributeValueId);
            using var attributes = JsonDocument.Parse(row.Attributes);
            var root = attributes.RootElement;
            Assert.Equal(lead.CreatedAt.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), root.GetProperty("Created Date").GetString());
            Assert.Equal(lead.Fields["originalSourceType"], root.GetProperty("Source Type").GetString());
            var firstRow = sample.Rows.First(r => r.LeadId == row.LeadId);
            Assert.Equal(row.MarketoGuid, firstRow.MarketoGuid);
        }
    }

    [Fact]
    public void Change_Data_Value_rows_chain_from_the_value_at_creation_to_the_stored_value()
    {
        var changes = sample.Rows.Where(r => r.ActivityTypeId == 13).ToList();
        Assert.InRange(changes.Count, 3_000, 4_200); // about 9 % of the activities
        var byLead = sample.Leads.ToDictionary(l => l.Id);
        var changedLeads = 0;
        foreach (var group in changes.GroupBy(r => r.LeadId))
        {
            changedLeads++;
            var lead = byLead[group.Key];
            var last = group.Max(r => r.ActivityDate);
            Assert.Equal((last, last), (lead.UpdatedAt, lead.FieldsUpdatedAt));
            foreach (var field in group.GroupBy(r => r.PrimaryAttributeValueId))
            {
                var column = LeadColumns.Find(LeadFields.Find((int)field.Key!.Value)!.Rest!.Name)!;
                var chain = field.OrderBy(r => r.MarketoGuid).Select(r => JsonDocument.Parse(r.Attributes).RootElement).ToList();
                var atCreation = Profile(lead).Fields.GetValueOrDefault(column.RestName);
                Assert.Equal(atCreation is null ? null : Text(atCreation), Old(chain[0]));
                for (var i = 1; i < chain.Count; i++)
                {
                    Assert.Equal(chain[i - 1].GetProperty("New Value").GetString(), Old(chain[i]));
                }

                Assert.Equal(chain[^1].GetProperty("New Value").GetString(), Text(lead.Fields[column.RestName]));
            }
        }

        Assert.InRange(changedLeads, 100, sample.Leads.Count / 4); // a minority of the leads changes, some many times
        Assert.Contains(changes.GroupBy(r => (r.LeadId, r.PrimaryAttributeValueId)), g => g.Count() >= 3);

        // A lead without changes was last updated at its creation.
        var changed = changes.Select(r => r.LeadId).ToHashSet();
        Assert.All(sample.Leads.Where(l => !changed.Contains(l.Id)), l => Assert.Equal(l.CreatedAt, l.UpdatedAt));
    }

    [Fact]
    public void Remove_from_List_follows_an_Add_to_List_of_the_same_lead_and_list()
    {
        var members = new HashSet<(long, long?)>();
        var removes = 0;
        foreach (var row in sample.Rows.Where(r => r.ActivityTypeId is 24 or 25))
        {
            if (row.ActivityTypeId == 24)
            {
                Assert.True(members.Add((row.LeadId, row.PrimaryAttributeValueId)), $"lead {row.LeadId} added twice to list {row.PrimaryAttributeValueId}");
            }
            else
            {
                Assert.True(members.Remove((row.LeadId, row.PrimaryAttributeValueId)), $"lead {row.LeadId} removed from list {row.PrimaryAttributeValueId} it is not on");
                removes++;
            }
        }

        Assert.InRange(removes, 150, 400);
    }

    [Fact]
    public void A_program_status_only_moves_forward_per_program_and_lead()
    {
        var status = new Dictionary<(long, long?), (long StatusId, long MemberId)>();
        foreach (var row in sample.Rows.Where(r => r.ActivityTypeId == 104))
        {
            using var attributes = JsonDocument.Parse(row.Attributes);
            var root = attributes.RootElement;
            var key = (row.LeadId, row.PrimaryAttributeValueId);
            var oldId = root.GetProperty("Old Status ID").GetInt64();
            var newId = root.GetProperty("New Status ID").GetInt64();
            var memberId = root.GetProperty("Program Member ID").GetInt64();
            if (status.TryGetValue(key, out var current))
            {
                Assert.Equal(current.StatusId, oldId);
                Assert.Equal(current.MemberId, memberId);
            }
            else
            {
                Assert.Equal(20, oldId); // Not in Program
            }

            Assert.Contains(DemoText.ProgressionSteps, s => s.OldId == oldId && s.NewId == newId);
            status[key] = (newId, memberId);
        }

        Assert.True(status.Count > 500);
        Assert.Contains(status.Values, s => s.StatusId is 24 or 26 or 28);
    }

    [Fact]
    public void Leads_can_be_many_more_than_the_default_and_activities_need_one()
    {
        var world = DemoWorld.Create(3, 2_000, 200_000, DemoWorldSample.From, DemoWorldSample.To);
        Assert.Equal(200_000, world.Leads().Count());
        var ids = world.Leads().Select(l => l.Id).ToHashSet();
        Assert.All(world.Activities(1), r => Assert.Contains(r.LeadId, ids));
        Assert.Throws<ArgumentOutOfRangeException>(() => DemoWorld.Create(3, 10, 0, DemoWorldSample.From, DemoWorldSample.To));
        Assert.Throws<ArgumentOutOfRangeException>(() => DemoWorld.Create(3, 10, DemoWorld.MaxLeads + 1, DemoWorldSample.From, DemoWorldSample.To));
        Assert.Empty(DemoWorld.Create(3, 0, 0, DemoWorldSample.From, DemoWorldSample.To).Leads());
        Assert.Single(DemoWorld.Create(3, 50, 1, DemoWorldSample.From, DemoWorldSample.To).Leads());
        Assert.All(DemoWorld.Create(3, 50, 1, DemoWorldSample.From, DemoWorldSample.To).Activities(1), r => Assert.NotEqual(12, r.ActivityTypeId));
    }

    private static DemoLeadProfile Profile(LeadRecord lead) => new(20260301, lead.Id, lead.CreatedAt.ToUnixTimeSeconds());

    private static string? Old(JsonElement attributes) => attributes.TryGetProperty("Old Value", out var old) ? old.GetString() : null;

    private static string Text(object value) => DemoLeadPlan.Format(value);
}
