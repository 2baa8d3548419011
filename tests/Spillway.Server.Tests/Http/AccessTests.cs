using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Permissions, job ownership, subscription isolation; and the admin API's key.</summary>
public abstract class AccessTests : StoreTestBase
{
    private const string OtherMunchkin = "222-BBB-222";
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<HttpClient> ClientOfAsync(SpillwayTestServer server, string email, params string[] permissions)
    {
        var (id, secret) = await server.AddUserViaAdminAsync(SpillwayTestServer.MunchkinId, email, permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static async Task<string> CompletedJobAsync(SpillwayTestServer server, HttpClient client)
    {
        await server.AppendAsync(new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", "{}", null));
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, id)).GetProperty("status").GetString());
        return id;
    }

    private static IEnumerable<Func<HttpClient, Task<HttpResponseMessage>>> EveryActivityEndpoint(string id) =>
    [
        c => c.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1)))),
        c => c.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null),
        c => c.GetAsync($"/bulk/v1/activities/export/{id}/status.json"),
        c => c.GetAsync($"/bulk/v1/activities/export/{id}/file.json"),
        c => c.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", null),
        c => c.GetAsync("/bulk/v1/activities/export.json"),
        c => c.GetAsync("/rest/v1/activities/types.json"),
    ];

    [Theory]
    [InlineData("Read-Only Lead")]
    [InlineData("Read-Write Lead", "Read-Only Activity Metadata")]
    [InlineData]
    public async Task A_user_without_activity_permission_gets_603_on_every_bulk_endpoint_and_types(params string[] permissions)
    {
        await using var server = await StartAsync();
        using var owner = await server.AuthorizedClientAsync();
        var id = await CompletedJobAsync(server, owner);
        using var client = await ClientOfAsync(server, "nobody@example.com", permissions);

        foreach (var call in EveryActivityEndpoint(id))
        {
            Assert.Equal("Access denied", await Marketo.ErrorAsync(await call(client), "603"));
        }

        var unknown = Guid.NewGuid().ToString();
        Assert.Equal("Access denied", await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{unknown}/file.json"), "603"));
        Assert.Equal("Access denied", await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{unknown}/status.json"), "603"));
        Assert.Equal("Completed", (await Marketo.StatusAsync(owner, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Read_Only_Activity_is_enough_for_the_whole_bulk_flow_and_types()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", "{}", null));
        using var client = await ClientOfAsync(server, "reader@example.com", "Read-Only Activity");

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal(1, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Length);

        var listed = await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));
        Assert.Single(listed.GetProperty("result").EnumerateArray());
        var cancelId = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var cancelled = await client.PostAsync($"/bulk/v1/activities/export/{cancelId}/cancel.json", null);
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(cancelled)).GetProperty("status").GetString());
        Assert.NotEmpty((await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"))).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Another_users_job_is_indistinguishable_from_an_unknown_one()
    {
        await using var server = await StartAsync();
        using var owner = await server.AuthorizedClientAsync();
        var completed = await CompletedJobAsync(server, owner);
        var created = await Marketo.CreateAsync(owner, Marketo.Window(Day, Day.AddDays(1)));
        using var other = await ClientOfAsync(server, "other@example.com", "Read-Write Activity");
        var unknown = Guid.NewGuid().ToString();

        foreach (var id in new[] { completed, created, unknown })
        {
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await other.GetAsync($"/bulk/v1/activities/export/{id}/status.json"), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await other.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await other.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", null), "610"));
        }

        var foreignFile = await other.GetAsync($"/bulk/v1/activities/export/{completed}/file.json");
        var unknownFile = await other.GetAsync($"/bulk/v1/activities/export/{unknown}/file.json");
        Assert.Equal(HttpStatusCode.NotFound, foreignFile.StatusCode);
        Assert.Equal("text/plain", foreignFile.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, unknownFile.StatusCode);
        Assert.Equal(unknownFile.Content.Headers.ContentType?.ToString(), foreignFile.Content.Headers.ContentType?.ToString());
        Assert.Equal(await unknownFile.Content.ReadAsStringAsync(), await foreignFile.Content.ReadAsStringAsync());

        var otherOwn = await Marketo.CreateAsync(other, Marketo.Window(Day, Day.AddDays(1)));
        var list = await Marketo.SuccessAsync(await other.GetAsync("/bulk/v1/activities/export.json"));
        var listed = list.GetProperty("result").EnumerateArray().Select(j => j.GetProperty("exportId").GetString()).ToList();
        Assert.Equal([otherOwn], listed);

        // The owner's jobs are untouched by the other user's enqueue and cancel, and the owner still sees them.
        Assert.Equal("Created", (await Marketo.StatusAsync(owner, created)).GetProperty("status").GetString());
        Assert.Equal("Completed", (await Marketo.StatusAsync(owner, completed)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/bulk/v1/activities/export/{completed}/file.json")).StatusCode);
        var ownerList = (await Marketo.SuccessAsync(await owner.GetAsync("/bulk/v1/activities/export.json"))).GetProperty("result")
            .EnumerateArray().Select(j => j.GetProperty("exportId").GetString()).ToHashSet();
        Assert.Equal(new HashSet<string?> { completed, created }, ownerList);
    }

    [Fact]
    public async Task Another_subscriptions_user_sees_neither_the_jobs_nor_the_data()
    {
        await using var server = await StartAsync();
        using var owner = await server.AuthorizedClientAsync();
        var completed = await CompletedJobAsync(server, owner);
        await server.CreateSubscriptionViaAdminAsync(OtherMunchkin);
        var (clientId, secret) = await server.AddUserViaAdminAsync(OtherMunchkin, "tester@example.com", "Read-Write Activity");
        using var stranger = await server.AuthorizedClientAsync(clientId, secret);

        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await stranger.GetAsync($"/bulk/v1/activities/export/{completed}/status.json"), "610"));
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await stranger.PostAsync($"/bulk/v1/activities/export/{completed}/cancel.json", null), "610"));
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/bulk/v1/activities/export/{completed}/file.json")).StatusCode);
        Assert.Empty((await Marketo.SuccessAsync(await stranger.GetAsync("/bulk/v1/activities/export.json"))).GetProperty("result").EnumerateArray());

        var (file, job) = await Marketo.ExportAsync(stranger, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal(0, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(1, Encoding.UTF8.GetString(file).Count(c => c == '\n'));

        var (ownerFile, ownerJob) = await Marketo.ExportAsync(owner, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal(1, ownerJob.GetProperty("numberOfRecords").GetInt64());
        Assert.Contains("\n100,8,", Encoding.UTF8.GetString(ownerFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_API_is_closed_without_the_key_and_with_a_wrong_key()
    {
        await using var server = await StartAsync();
        using var noKey = server.NewClient();
        using var wrongKey = server.NewClient();
        wrongKey.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", SpillwayTestServer.AdminKey + "x");
        using var bearer = await server.AuthorizedClientAsync();

        foreach (var client in new[] { noKey, wrongKey, bearer })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/_spillway/admin/subscriptions")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = OtherMunchkin })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync($"/_spillway/admin/credentials/{server.ClientId}/rotate", null)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/_spillway/admin/clock", new { advanceSeconds = 86400 })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/users",
                new { email = "intruder@example.com", permissions = new[] { "Read-Write Activity" } })).StatusCode);
        }

        // Nothing happened: no subscription, no rotation, no clock jump, no user.
        var subscriptions = await server.Admin.GetAsync("/_spillway/admin/subscriptions");
        Assert.Equal(HttpStatusCode.OK, subscriptions.StatusCode);
        using var json = JsonDocument.Parse(await subscriptions.Content.ReadAsStringAsync());
        Assert.DoesNotContain(json.RootElement.EnumerateArray(), s => s.GetProperty("munchkinId").GetString() == OtherMunchkin);
        Assert.Equal(HttpStatusCode.OK, (await server.TokenByQueryAsync(server.ClientId, server.ClientSecret)).StatusCode);
        Assert.InRange(server.Clock.Offset, TimeSpan.Zero, TimeSpan.Zero);
        var users = await server.Admin.GetStringAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/users");
        Assert.DoesNotContain("intruder@example.com", users, StringComparison.Ordinal);
    }
}

public sealed class AccessTests_Embedded : AccessTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class AccessTests_Postgres : AccessTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
