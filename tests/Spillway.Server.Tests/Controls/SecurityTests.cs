using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Security: tokens unguessable and expiring, secrets hashed, the admin API (controls included) closed
/// without its key, users and subscriptions isolated, request size limits (413/414) and slow-client limits holding.
/// </summary>
public abstract class SecurityTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Tokens_are_random_uuids_with_122_bits_and_expire()
    {
        await using var server = await StartAsync();
        await server.SetLimitsWithRoomAsync(new { tokenLifetimeSeconds = 60 });
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 40; i++)
        {
            var (id, secret) = await server.CreateApiUserAsync($"t{i}@example.com", "Read-Only Activity");
            var token = await server.GetTokenAsync(id, secret);
            var parts = token.Split(':');
            Assert.Equal(2, parts.Length);
            var uuid = Guid.ParseExact(parts[0], "D");
            // Version 4 (random): 122 random bits; the version nibble and the variant bits are the only fixed ones.
            Assert.Equal('4', parts[0][14]);
            Assert.Contains(parts[0][19], "89ab");
            Assert.True(tokens.Add(token));
            Assert.NotEqual(Guid.Empty, uuid);
        }

        // The bits differ: every hex position except the fixed ones takes several values over 40 tokens.
        var positions = Enumerable.Range(0, 36).Where(p => p is not (8 or 13 or 14 or 18 or 19 or 23)).ToList();
        Assert.All(positions, p => Assert.True(tokens.Select(t => t[p]).Distinct().Count() >= 4, $"position {p}"));

        using var client = await server.AuthorizedClientAsync();
        await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));
        server.Clock.Advance(TimeSpan.FromSeconds(61));
        try
        {
            Assert.Equal("Access token expired", await Marketo.ErrorAsync(await client.GetAsync("/bulk/v1/activities/export.json"), "602"));
        }
        finally
        {
            server.Clock.Reset();
        }

        // A secret is stored hashed: no cell of the metadata store holds it.
        var cells = await server.ReadAllMetadataTextAsync();
        Assert.DoesNotContain(cells, c => c.Contains(server.ClientSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_admin_API_and_its_controls_are_closed_without_the_key()
    {
        await using var server = await StartAsync();
        var sources = server.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>();
        var admin = sources.Endpoints.OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/_spillway/admin", StringComparison.Ordinal) == true).ToList();
        Assert.True(admin.Count >= 20, $"{admin.Count} admin endpoints");
        foreach (var endpoint in admin)
        {
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var path = endpoint.RoutePattern.RawText!.Replace("{munchkinId}", SpillwayTestServer.MunchkinId, StringComparison.Ordinal)
                .Replace("{exportId}", Guid.NewGuid().ToString(), StringComparison.Ordinal).Replace("{clientId}", server.ClientId, StringComparison.Ordinal)
                .Replace("{ruleId}", "x", StringComparison.Ordinal);
            foreach (var key in new string?[] { null, "", "wrong", SpillwayTestServer.AdminKey + "x", SpillwayTestServer.AdminKey[..^1] })
            {
                using var request = new HttpRequestMessage(new HttpMethod(methods[0]), path) { Content = JsonContent.Create(new { }) };
                if (key is not null)
                {
                    request.Headers.Add("X-Spillway-Admin-Key", key);
                }

                Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.SendAsync(request)).StatusCode);
            }
        }

        // An API token opens nothing there either.
        using var client = await server.AuthorizedClientAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/_spillway/admin/subscriptions")).StatusCode);
    }

    [Fact]
    public async Task One_user_never_sees_another_users_job_and_one_subscription_never_sees_another_subscriptions_data()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 10).Select(i => Marketo.Activity(i, Day.AddMinutes(i)))]);
        using var owner = await server.AuthorizedClientAsync();
        var colleague = await server.CreateApiUserAsync("colleague@example.com", "Read-Write Activity");
        using var other = await server.AuthorizedClientAsync(colleague.ClientId, colleague.ClientSecret);
        await server.CreateSubscriptionViaAdminAsync("555-EEE-555");
        var foreign = await server.AddUserViaAdminAsync("555-EEE-555", "foreign@example.com", "Read-Write Activity");
        using var stranger = await server.AuthorizedClientAsync(foreign.ClientId, foreign.ClientSecret);

        var (id, _) = await Marketo.CompleteAsync(owner, Marketo.Window(Day, Day.AddDays(1)));
        var pending = await Marketo.CreateAsync(owner, Marketo.Window(Day, Day.AddDays(1)));
        foreach (var intruder in new[] { other, stranger })
        {
            foreach (var job in new[] { id, pending })
            {
                Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await intruder.GetAsync($"/bulk/v1/activities/export/{job}/status.json"), "610"));
                await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(intruder, job), "610");
                await Marketo.ErrorAsync(await Marketo.PostCancelAsync(intruder, job), "610");
                Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(intruder, job)).StatusCode);
            }

            var list = await Marketo.SuccessAsync(await intruder.GetAsync("/bulk/v1/activities/export.json"));
            Assert.Empty(list.GetProperty("result").EnumerateArray());
        }

        // The owner's pending job was left alone by all that.
        Assert.Equal("Created", (await Marketo.StatusAsync(owner, pending)).GetProperty("status").GetString());
        // The same window in another subscription holds none of this subscription's activities.
        var (_, foreignJob) = await Marketo.CompleteAsync(stranger, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal(0, foreignJob.GetProperty("numberOfRecords").GetInt64());
        // Controls of one subscription do not reach another: a rule on 555-EEE-555 leaves 111-AAA-111 alone.
        (await server.Admin.PostAsJsonAsync("/_spillway/admin/subscriptions/555-EEE-555/faults", new { kind = "http", status = 503 })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await stranger.GetAsync("/bulk/v1/activities/export.json")).StatusCode);
        await Marketo.SuccessAsync(await owner.GetAsync("/bulk/v1/activities/export.json"));
    }

    [Fact]
    public async Task Size_limits_answer_413_and_414()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var big = await client.PostAsync(Marketo.CreatePath, new ByteArrayContent(new byte[(1024 * 1024) + 1]) { Headers = { { "Content-Type", "application/json" } } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        var longUri = await client.GetAsync("/bulk/v1/activities/export.json?x=" + new string('a', 8 * 1024));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longUri.StatusCode);
        // Just under both limits is fine.
        await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json?x=" + new string('a', 8000)));
    }

    [Fact]
    public async Task Slow_clients_are_cut_off_by_the_header_timeout_and_the_minimum_body_rate()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0", $"--Spillway:DataPath={dataPath}", "--Spillway:AdminKey=k", "--Spillway:Demo:Enabled=false",
            "--Logging:LogLevel:Default=Warning",
        };
        if (Store == StoreKind.Postgres)
        {
            args.Add("--Spillway:Provider=Postgres");
            args.Add($"--Spillway:ConnectionString={await TestDatabases.CreatePostgresDatabaseAsync()}");
        }

        var app = Spillway.Server.SpillwayApp.Build([.. args], builder => builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(2);
            k.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(240, TimeSpan.FromSeconds(2));
        }));
        await Spillway.Server.SpillwayApp.InitializeAsync(app);
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

            // Headers that never finish: the connection is answered 408 or closed within the timeout (plus the heartbeat).
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var headerOutcome = await TrickleAsync(address, "GET /bulk/v1/activities/export.json HTTP/1.1\r\nHost: x\r\nX-Slow: ", bodyBytes: 0);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"header trickle lasted {watch.Elapsed}");
            Assert.True(headerOutcome is "closed" or "408", headerOutcome);

            // A form body (read before any token check, for the method override) sent at 5 B/s, under 240 B/s: cut after the grace period.
            watch.Restart();
            var bodyOutcome = await TrickleAsync(address,
                "POST /bulk/v1/activities/export.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n", bodyBytes: 100_000);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"body trickle lasted {watch.Elapsed}");
            Assert.True(bodyOutcome is "closed" or "408", bodyOutcome);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            try
            {
                Directory.Delete(dataPath, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Sends <paramref name="head"/>, then one byte every 200 ms; returns "408" or "closed" when the server gives up.</summary>
    private static async Task<string> TrickleAsync(Uri address, string head, int bodyBytes)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var buffer = new byte[4096];
        var reading = stream.ReadAsync(buffer).AsTask();
        var sent = 0;
        while (DateTime.UtcNow < deadline)
        {
            var done = await Task.WhenAny(reading, Task.Delay(200));
            if (done == reading)
            {
                int n;
                try
                {
                    n = await reading;
                }
                catch (IOException)
                {
                    return "closed";
                }

                var text = Encoding.ASCII.GetString(buffer, 0, n);
                return n == 0 ? "closed" : text.StartsWith("HTTP/1.1 408", StringComparison.Ordinal) ? "408" : text.Split('\r')[0];
            }

            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(bodyBytes > 0 && sent < bodyBytes ? " " : "a"));
                sent++;
            }
            catch (IOException)
            {
                return "closed";
            }
        }

        return "still open after 20 s";
    }
}

public sealed class SecurityTests_Embedded : SecurityTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class SecurityTests_Postgres : SecurityTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
