using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// <c>POST /_spillway/admin/subscriptions/{munchkinId}/import/activities|leads</c>: one file as the body, loaded by a
/// running server with the import's own rules (idempotent, bad records reported by line), a body beyond the 1 MB limit
/// of every other call, and a 400/404/401 problem for a bad request.
/// </summary>
public abstract class AdminImportTests : StoreTestBase
{
    private const string Activities = "/_spillway/admin/subscriptions/" + SpillwayTestServer.MunchkinId + "/import/activities";
    private const string Leads = "/_spillway/admin/subscriptions/" + SpillwayTestServer.MunchkinId + "/import/leads";

    private static StringContent Body(string text) => new(text, Encoding.UTF8, "application/octet-stream");

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Activities_load_once_and_a_bad_line_is_reported_while_the_rest_loads()
    {
        await using var server = await StartAsync();
        const string File = "marketoGUID,leadId,activityDate,activityTypeId\n11,1,2026-01-10T00:00:00Z,1\n12,2,2026-01-10T00:00:00Z,1\n13,abc,2026-01-10T00:00:00Z,1\n";

        var first = await OkAsync(await server.Admin.PostAsync(Activities + "?format=csv", Body(File)));
        // read counts the records that parsed; the bad line is refused.
        Assert.Equal((2, 2, 0, 1), (first.GetProperty("read").GetInt64(), first.GetProperty("added").GetInt64(), first.GetProperty("unchanged").GetInt64(),
            first.GetProperty("refused").GetInt64()));
        var issue = Assert.Single(first.GetProperty("issues").EnumerateArray().ToList());
        Assert.Equal(4, issue.GetProperty("line").GetInt64());

        var again = await OkAsync(await server.Admin.PostAsync(Activities + "?format=csv", Body(File)));
        Assert.Equal((0, 2), (again.GetProperty("added").GetInt64(), again.GetProperty("unchanged").GetInt64()));
        var subscription = await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None);
        Assert.Equal(2, await server.Services.GetRequiredService<IActivityStore>().CountAsync(subscription!.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Leads_load_by_id_from_a_body_beyond_the_1_MB_limit_of_other_calls()
    {
        await using var server = await StartAsync();
        var text = new StringBuilder();
        for (var id = 1; id <= 20_000; id++)
        {
            text.Append("{\"id\":").Append(id).Append(",\"email\":\"lead").Append(id).Append("@example.com\",\"company\":\"Example Corporation of Somewhere\"}\n");
        }

        Assert.True(text.Length > 1024 * 1024);
        var loaded = await OkAsync(await server.Admin.PostAsync(Leads + "?format=ndjson", Body(text.ToString())));
        Assert.Equal((20_000, 20_000, 0), (loaded.GetProperty("read").GetInt64(), loaded.GetProperty("added").GetInt64(), loaded.GetProperty("refused").GetInt64()));
        var again = await OkAsync(await server.Admin.PostAsync(Leads + "?format=ndjson", Body(text.ToString())));
        Assert.Equal((0, 0, 20_000), (again.GetProperty("added").GetInt64(), again.GetProperty("replaced").GetInt64(), again.GetProperty("unchanged").GetInt64()));

        // Any other admin call keeps the limit.
        var big = new StringContent("{\"munchkinId\":\"" + new string('x', 1_100_000) + "\"}", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await server.Admin.PostAsync("/_spillway/admin/subscriptions", big)).StatusCode);
    }

    [Fact]
    public async Task A_bad_request_is_a_problem_and_loads_nothing()
    {
        await using var server = await StartAsync();
        var noFormat = await server.Admin.PostAsync(Activities, Body("x"));
        Assert.Equal(HttpStatusCode.BadRequest, noFormat.StatusCode);
        Assert.Contains("format must be csv, tsv, ssv or ndjson", await noFormat.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var header = await server.Admin.PostAsync(Activities + "?format=csv", Body("when,who\n1,2\n"));
        Assert.Equal(HttpStatusCode.BadRequest, header.StatusCode);
        Assert.Equal("application/problem+json", header.Content.Headers.ContentType?.MediaType);

        Assert.Equal(HttpStatusCode.NotFound,
            (await server.Admin.PostAsync("/_spillway/admin/subscriptions/999-NOP-999/import/leads?format=csv", Body("id\n1\n"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Admin.PostAsync(Leads + "?format=csv&batchSize=0", Body("id\n1\n"))).StatusCode);

        using var anonymous = server.NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(Leads + "?format=csv", Body("id\n1\n"))).StatusCode);
        var subscription = await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None);
        Assert.Equal(0, await server.Services.GetRequiredService<ILeadStore>().CountAsync(subscription!.Id, CancellationToken.None));
    }
}

public sealed class AdminImportTests_Embedded : AdminImportTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class AdminImportTests_Postgres : AdminImportTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
