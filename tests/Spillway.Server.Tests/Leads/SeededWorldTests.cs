using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>
/// The seeded world over HTTP on every store: the admin seed writes leads first, and an exported activity window only
/// names leads that Get Leads by Filter Type finds, none before its creation, with the Change Data Value chains ending
/// at the stored values.
/// </summary>
public abstract class SeededWorldTests : StoreTestBase
{
    [Fact]
    public async Task Every_exported_activity_names_a_lead_that_exists_and_change_chains_end_at_the_stored_values()
    {
        await using var server = await StartWithRoomAsync();
        var response = await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/seed",
            new { activities = 6_000, daysBack = 10, seed = 5, leads = 900 });
        response.EnsureSuccessStatusCode();
        using (var seeded = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal(6_000, seeded.RootElement.GetProperty("added").GetInt64());
            Assert.Equal(900, seeded.RootElement.GetProperty("leads").GetInt64());
        }

        var (id, secret) = await server.CreateApiUserAsync("world@example.com", ["Read-Only Lead", "Read-Only Activity"]);
        using var client = await server.AuthorizedClientAsync(id, secret);
        var now = server.Clock.GetUtcNow();
        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-11), now.AddHours(1), extraBody:
            ""","fields":["marketoGUID","leadId","activityDate","activityTypeId","primaryAttributeValueId","attributes"]"""));
        var rows = Csv(Encoding.UTF8.GetString(file)).Skip(1).Select(r => (
            Guid: long.Parse(r[0], CultureInfo.InvariantCulture), Lead: long.Parse(r[1], CultureInfo.InvariantCulture),
            Date: DateTimeOffset.Parse(r[2], CultureInfo.InvariantCulture), Type: int.Parse(r[3], CultureInfo.InvariantCulture),
            Primary: r[4], Attributes: r[5])).ToList();
        Assert.Equal(6_000, rows.Count);

        var changeFields = rows.Where(r => r.Type == 13).Select(r => LeadFields.Find(int.Parse(r.Primary, CultureInfo.InvariantCulture))!.Rest!.Name).Distinct().ToList();
        var leads = new Dictionary<long, JsonElement>();
        foreach (var chunk in rows.Select(r => r.Lead).Distinct().Chunk(300))
        {
            var envelope = await Marketo.SuccessAsync(await client.GetAsync(
                $"/rest/v1/leads.json?filterType=id&filterValues={string.Join(',', chunk)}&fields=id,createdAt,updatedAt,{string.Join(',', changeFields)}"));
            foreach (var lead in envelope.GetProperty("result").EnumerateArray())
            {
                leads[lead.GetProperty("id").GetInt64()] = lead.Clone();
            }

            Assert.All(chunk, leadId => Assert.True(leads.ContainsKey(leadId), $"lead {leadId} of an activity is not found"));
        }

        foreach (var row in rows)
        {
            Assert.True(row.Date >= leads[row.Lead].GetProperty("createdAt").GetDateTimeOffset(), $"activity {row.Guid} is before its lead's creation");
        }

        // One New Lead per lead created in the window, at its creation.
        var createdInWindow = leads.Values.Where(l => l.GetProperty("createdAt").GetDateTimeOffset() >= now.AddDays(-10)).ToList();
        Assert.NotEmpty(createdInWindow);
        var newLeadRows = rows.Where(r => r.Type == 12).ToList();
        Assert.Equal(newLeadRows.Count, newLeadRows.Select(r => r.Lead).Distinct().Count());
        Assert.All(newLeadRows, r => Assert.Equal(leads[r.Lead].GetProperty("createdAt").GetDateTimeOffset(), r.Date));

        // The last Change Data Value of a lead's field is its stored value, and the lead was last updated then.
        var chains = 0;
        foreach (var group in rows.Where(r => r.Type == 13).GroupBy(r => r.Lead))
        {
            var lead = leads[group.Key];
            Assert.Equal(group.Max(r => r.Date), lead.GetProperty("updatedAt").GetDateTimeOffset());
            foreach (var field in group.GroupBy(r => r.Primary))
            {
                var ordered = field.OrderBy(r => r.Guid).Select(r => JsonDocument.Parse(r.Attributes).RootElement.Clone()).ToList();
                for (var i = 1; i < ordered.Count; i++)
                {
                    Assert.Equal(ordered[i - 1].GetProperty("New Value").GetString(), ordered[i].GetProperty("Old Value").GetString());
                }

                var name = LeadFields.Find(int.Parse(field.Key, CultureInfo.InvariantCulture))!.Rest!.Name;
                AssertSameValue(ordered[^1].GetProperty("New Value").GetString()!, lead.GetProperty(name));
                chains++;
            }
        }

        Assert.True(chains > 100, $"only {chains} change chains");
    }

    [Fact]
    public async Task Reset_clears_the_seeded_leads_and_seeding_again_rebuilds_the_same_ones()
    {
        await using var server = await StartWithRoomAsync();
        var seedPath = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/seed";
        (await server.Admin.PostAsJsonAsync(seedPath, new { activities = 800, daysBack = 3, seed = 9, leads = 150 })).EnsureSuccessStatusCode();
        var (id, secret) = await server.CreateApiUserAsync("reset@example.com", ["Read-Only Lead", "Read-Only Activity"]);
        using var client = await server.AuthorizedClientAsync(id, secret);
        var before = await LeadsAsync(client);
        Assert.Equal(150, before.Count);

        (await server.Admin.PostAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/reset", null)).EnsureSuccessStatusCode();
        Assert.Empty(await LeadsAsync(client, before));

        (await server.Admin.PostAsJsonAsync(seedPath, new { activities = 800, daysBack = 3, seed = 9, leads = 150 })).EnsureSuccessStatusCode();
        Assert.Equal(before.Keys.Order(), (await LeadsAsync(client, before)).Keys.Order());
    }

    /// <summary>The emails of the leads with the given ids (or with ids 1000 to 7999, where a small seeded world lives), by id.</summary>
    private static async Task<Dictionary<long, string>> LeadsAsync(HttpClient client, Dictionary<long, string>? known = null)
    {
        var ids = known?.Keys.ToList() ?? [.. Enumerable.Range(1000, 7000).Select(i => (long)i)];
        var found = new Dictionary<long, string>();
        foreach (var chunk in ids.Chunk(300))
        {
            var envelope = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/leads.json?filterType=id&filterValues={string.Join(',', chunk)}&fields=id,email"));
            foreach (var lead in envelope.GetProperty("result").EnumerateArray())
            {
                found[lead.GetProperty("id").GetInt64()] = lead.GetProperty("email").GetString()!;
            }
        }

        return found;
    }

    private static void AssertSameValue(string changed, JsonElement stored)
    {
        switch (stored.ValueKind)
        {
            case JsonValueKind.Number:
                Assert.Equal(double.Parse(changed, CultureInfo.InvariantCulture), stored.GetDouble());
                break;
            case JsonValueKind.True or JsonValueKind.False:
                Assert.Equal(changed, stored.GetBoolean() ? "true" : "false");
                break;
            default:
                Assert.Equal(changed, stored.GetString());
                break;
        }
    }

    /// <summary>RFC 4180 rows: quoted cells may hold the delimiter, doubled quotes and line breaks.</summary>
    private static List<string[]> Csv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(cell.ToString());
                cell.Clear();
            }
            else if (c == '\n')
            {
                row.Add(cell.ToString());
                cell.Clear();
                rows.Add([.. row]);
                row.Clear();
            }
            else
            {
                cell.Append(c);
            }
        }

        return rows;
    }
}

public sealed class SeededWorldTests_Embedded : SeededWorldTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class SeededWorldTests_Postgres : SeededWorldTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
