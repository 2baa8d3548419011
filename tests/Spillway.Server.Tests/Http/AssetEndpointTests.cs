using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// The marketing world over HTTP: programs, channels, smart campaigns (Asset API and the older Lead API campaign
/// endpoints), emails, forms and landing pages, and the referential closure of seeded activities against them.
/// </summary>
public abstract class AssetEndpointTests : StoreTestBase
{
    private static async Task<HttpClient> ClientAsync(SpillwayTestServer server, params string[] permissions)
    {
        var (id, secret) = await server.CreateApiUserAsync($"assets-{Guid.NewGuid():N}@example.com", permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static async Task<JsonElement> AssetAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement.Clone();
        Assert.Equal(["success", "errors", "requestId", "warnings"], root.EnumerateObject().Select(p => p.Name).Take(4));
        return root;
    }

    private static List<JsonElement> Results(JsonElement envelope)
    {
        Assert.True(envelope.GetProperty("success").GetBoolean(), envelope.ToString());
        return envelope.TryGetProperty("result", out var result) ? [.. result.EnumerateArray()] : [];
    }

    private static string AssetError(JsonElement envelope)
    {
        Assert.False(envelope.GetProperty("success").GetBoolean());
        return Assert.Single(envelope.GetProperty("errors").EnumerateArray()).GetProperty("code").GetString()!;
    }

    private static async Task<List<JsonElement>> CampaignsAsync(HttpClient client, string path) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync(path))).GetProperty("result").EnumerateArray()];

    [Fact]
    public async Task Assets_need_read_only_assets_and_campaigns_need_read_only_campaign()
    {
        await using var server = await StartAsync();
        using var activityOnly = await server.AuthorizedClientAsync();
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/asset/v1/programs.json"), "603");
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/asset/v1/smartCampaign/8497.json"), "603");
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/v1/campaigns.json"), "603");

        using var assets = await ClientAsync(server, "Read-Only Assets");
        Assert.NotEmpty(Results(await AssetAsync(assets, "/rest/asset/v1/programs.json")));
        await Marketo.ErrorAsync(await assets.GetAsync("/rest/v1/campaigns/8497.json"), "603");

        using var campaigns = await ClientAsync(server, "Read-Write Campaign");
        Assert.Single(await CampaignsAsync(campaigns, "/rest/v1/campaigns/8497.json"));
        await Marketo.ErrorAsync(await campaigns.GetAsync("/rest/asset/v1/program/1001.json"), "603");

        // Read-only endpoints: a write verb on their paths is a method Marketo does not support there.
        await Marketo.ErrorAsync(await assets.PostAsync("/rest/asset/v1/programs.json", Marketo.Json("{}")), "605");
        await Marketo.ErrorAsync(await campaigns.DeleteAsync("/rest/v1/campaigns/8497.json"), "605");
    }

    [Fact]
    public async Task Programs_page_by_offset_and_maxReturn_and_are_found_by_id_and_name()
    {
        await using var server = await StartAsync();
        using var client = await ClientAsync(server, "Read-Only Assets");

        var first = Results(await AssetAsync(client, "/rest/asset/v1/programs.json"));
        Assert.Equal(AssetEndpoints.DefaultMaxReturn, first.Count);
        var rest = Results(await AssetAsync(client, "/rest/asset/v1/programs.json?offset=20&maxReturn=200"));
        var ids = first.Concat(rest).Select(p => p.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(MarketingWorld.Programs.Select(p => p.Id), ids);
        var beyond = await AssetAsync(client, "/rest/asset/v1/programs.json?offset=25");
        Assert.Empty(Results(beyond));
        Assert.Equal(AssetEndpoints.NoAssetsFound, Assert.Single(beyond.GetProperty("warnings").EnumerateArray()).GetString());

        var program = Assert.Single(Results(await AssetAsync(client, "/rest/asset/v1/program/1670.json")));
        Assert.Equal("MembershipTest1", program.GetProperty("name").GetString());
        Assert.Equal("Default", program.GetProperty("workspace").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\+0000$", program.GetProperty("createdAt").GetString());
        var webinar = Assert.Single(Results(await AssetAsync(client, "/rest/asset/v1/program/byName.json?name=2024-01%20Webinar%20-%20Data%20Mesh%20Basics")));
        Assert.Equal(1038, webinar.GetProperty("id").GetInt64());
        Assert.Equal("Webinar", webinar.GetProperty("channel").GetString());
        Assert.Equal("Event", webinar.GetProperty("type").GetString());

        var engagement = Results(await AssetAsync(client, "/rest/asset/v1/programs.json?status=on&maxReturn=200"));
        Assert.NotEmpty(engagement);
        Assert.All(engagement, p => Assert.Equal("Engagement", p.GetProperty("type").GetString()));

        Assert.Empty(Results(await AssetAsync(client, "/rest/asset/v1/program/999999.json")));
        Assert.Equal("1001", AssetError(await AssetAsync(client, "/rest/asset/v1/program/abc.json")));
        Assert.Equal("1003", AssetError(await AssetAsync(client, "/rest/asset/v1/programs.json?maxReturn=201")));
        Assert.Equal("1003", AssetError(await AssetAsync(client, "/rest/asset/v1/programs.json?maxReturn=0")));
        Assert.Equal("1003", AssetError(await AssetAsync(client, "/rest/asset/v1/programs.json?offset=-1")));
        Assert.Equal("1001", AssetError(await AssetAsync(client, "/rest/asset/v1/programs.json?maxReturn=ten")));
        Assert.Equal("701", AssetError(await AssetAsync(client, "/rest/asset/v1/program/byName.json")));
    }

    [Fact]
    public async Task Channels_carry_progression_statuses_with_a_success_step()
    {
        await using var server = await StartAsync();
        using var client = await ClientAsync(server, "Read-Only Assets");
        var channels = Results(await AssetAsync(client, "/rest/asset/v1/channels.json?maxReturn=200"));
        Assert.Equal(MarketingWorld.Channels.Count, channels.Count);
        var programChannels = Results(await AssetAsync(client, "/rest/asset/v1/programs.json?maxReturn=200"))
            .Select(p => p.GetProperty("channel").GetString()).ToHashSet();
        Assert.Subset(channels.Select(c => c.GetProperty("name").GetString()).ToHashSet(), programChannels);
        foreach (var channel in channels)
        {
            var statuses = channel.GetProperty("progressionStatuses").EnumerateArray().ToList();
            Assert.Equal("Not in Program", statuses[0].GetProperty("name").GetString());
            Assert.Contains(statuses, s => s.GetProperty("success").GetBoolean());
            Assert.Equal(Enumerable.Range(0, statuses.Count), statuses.Select(s => s.GetProperty("step").GetInt32()));
        }
    }

    [Fact]
    public async Task Smart_campaigns_browse_filter_and_resolve_by_id_on_both_apis()
    {
        await using var server = await StartAsync();
        using var client = await ClientAsync(server, "Read-Only Assets", "Read-Only Campaign");

        var all = Results(await AssetAsync(client, "/rest/asset/v1/smartCampaigns.json?maxReturn=200"));
        Assert.Equal(MarketingWorld.Campaigns.Count, all.Count);
        var active = Results(await AssetAsync(client, "/rest/asset/v1/smartCampaigns.json?maxReturn=200&isActive=true"));
        Assert.NotEmpty(active);
        Assert.True(active.Count < all.Count);
        Assert.All(active, c => Assert.True(c.GetProperty("isActive").GetBoolean()));
        Assert.Equal("1001", AssetError(await AssetAsync(client, "/rest/asset/v1/smartCampaigns.json?isActive=maybe")));

        var byId = Assert.Single(Results(await AssetAsync(client, "/rest/asset/v1/smartCampaign/8510.json")));
        Assert.Equal(MarketingWorld.CampaignById(8510)!.Name, byId.GetProperty("name").GetString());
        Assert.Equal(MarketingWorld.CampaignById(8510)!.Program.Id, byId.GetProperty("parentProgramId").GetInt64());
        Assert.Empty(Results(await AssetAsync(client, "/rest/asset/v1/smartCampaign/1.json")));

        // The older endpoint pages by nextPageToken; the pages together are every campaign once.
        var page = await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/campaigns.json?batchSize=25"));
        var seen = page.GetProperty("result").EnumerateArray().Select(c => c.GetProperty("id").GetInt64()).ToList();
        while (page.TryGetProperty("nextPageToken", out var token))
        {
            page = await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/campaigns.json?batchSize=25&nextPageToken=" + Uri.EscapeDataString(token.GetString()!)));
            seen.AddRange(page.GetProperty("result").EnumerateArray().Select(c => c.GetProperty("id").GetInt64()));
        }

        Assert.Equal(MarketingWorld.Campaigns.Select(c => c.Id), seen);
        var program = MarketingWorld.Programs[1];
        var ofProgram = await CampaignsAsync(client, "/rest/v1/campaigns.json?programName=" + Uri.EscapeDataString(program.Name));
        Assert.NotEmpty(ofProgram);
        Assert.All(ofProgram, c => Assert.Equal(program.Id, c.GetProperty("programId").GetInt64()));
        var two = await CampaignsAsync(client, "/rest/v1/campaigns.json?id=8497,8523");
        Assert.Equal([8497L, 8523L], two.Select(c => c.GetProperty("id").GetInt64()));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", two[0].GetProperty("createdAt").GetString());

        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/campaigns/1.json"), "1013");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/campaigns/x.json"), "1001");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/campaigns.json?batchSize=301"), "1003");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/campaigns.json?nextPageToken=nonsense"), "1003");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/campaigns.json?id=a"), "1001");
    }

    [Fact]
    public async Task Every_program_campaign_email_form_and_page_a_seeded_export_names_resolves()
    {
        await using var server = await StartWithRoomAsync();
        await server.SeedAsync(20_000, 2, seed: 7);
        var (id, secret) = await server.CreateApiUserAsync("closure@example.com", "Read-Only Activity", "Read-Only Assets", "Read-Only Campaign");
        using var client = await server.AuthorizedClientAsync(id, secret);
        var now = server.Clock.GetUtcNow();
        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));

        var byPath = new Dictionary<string, HashSet<long>>();
        void Need(string path, long value)
        {
            if (!byPath.TryGetValue(path, out var set))
            {
                byPath[path] = set = [];
            }

            set.Add(value);
        }

        using var reader = new MarketoCsvReader(new MemoryStream(file));
        Assert.True(reader.Read());
        var header = Enumerable.Range(0, reader.FieldCount).Select(reader.GetString).ToList();
        int Column(string name) => header.IndexOf(name) is var i and >= 0 ? i : throw new InvalidOperationException(name);
        var (typeColumn, campaignColumn, primaryColumn) = (Column("activityTypeId"), Column("campaignId"), Column("primaryAttributeValueId"));
        var rows = 0;
        while (reader.Read())
        {
            rows++;
            Assert.True(reader.TryGetInt64(typeColumn, out var type));
            if (!reader.IsNull(campaignColumn) && reader.GetBytes(campaignColumn).Length > 0)
            {
                Assert.True(reader.TryGetInt64(campaignColumn, out var campaign));
                Need("/rest/v1/campaigns/{0}.json", campaign);
            }

            if (!reader.TryGetInt64(primaryColumn, out var primary))
            {
                continue;
            }

            switch (type)
            {
                case 104 or 113: Need("/rest/asset/v1/program/{0}.json", primary); break;
                case 47: Need("/rest/asset/v1/smartCampaign/{0}.json", primary); break;
                case 6 or 7 or 8 or 9 or 10 or 11 or 27: Need("/rest/asset/v1/email/{0}.json", primary); break;
                case 2: Need("/rest/asset/v1/form/{0}.json", primary); break;
                case 1: Need("/rest/asset/v1/landingPage/{0}.json", primary); break;
                case 24 or 25: Assert.Contains(MarketingWorld.StaticListsToSeed, l => l.Id == primary); break;
                default: break;
            }
        }

        Assert.True(rows > 10_000, $"precondition: a full window ({rows} rows)");
        Assert.Equal(6, byPath.Count);
        foreach (var (template, ids) in byPath)
        {
            foreach (var value in ids)
            {
                var path = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, value);
                var found = template.StartsWith("/rest/v1/", StringComparison.Ordinal)
                    ? await CampaignsAsync(client, path)
                    : Results(await AssetAsync(client, path));
                Assert.True(found.Count == 1, $"{path} does not resolve");
                Assert.Equal(value, found[0].GetProperty("id").GetInt64());
            }
        }
    }
}

public sealed class AssetEndpointTests_Embedded : AssetEndpointTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class AssetEndpointTests_Postgres : AssetEndpointTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
