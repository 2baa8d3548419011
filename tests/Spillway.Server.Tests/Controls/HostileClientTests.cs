using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Clients that start a download and then stop reading (or vanish) must not hold the subscription's concurrent-call
/// slots: a stalled download is cut after <c>Spillway:Downloads:StallSeconds</c>, a closed one ends at once.
/// </summary>
public abstract class HostileClientTests : StoreTestBase
{
    private const int Slots = 3;

    [Fact]
    public async Task Downloads_that_stop_reading_are_cut_and_free_their_slots()
    {
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Spillway:Downloads:StallSeconds"] = "2" },
            new { concurrentCalls = Slots });
        var (id, size, token) = await LargeExportAsync(server);
        var (otherId, otherSecret) = await server.CreateApiUserAsync("other@example.com", "Read-Only Activity");
        using var other = await server.AuthorizedClientAsync(otherId, otherSecret);

        var stalled = new List<Socket>();
        try
        {
            for (var i = 0; i < Slots; i++)
            {
                stalled.Add(await StartDownloadAsync(server.BaseAddress, id, token));
            }

            // The stalled downloads hold every slot for now...
            var watch = Stopwatch.StartNew();
            var first = await other.GetAsync("/bulk/v1/activities/export.json");
            Assert.Equal("615", await CodeOrOkAsync(first));

            // ...and lose them within the stall period (plus the time to fill the socket buffers).
            string code;
            while ((code = await CodeOrOkAsync(await other.GetAsync("/bulk/v1/activities/export.json"))) != "ok")
            {
                Assert.Equal("615", code);
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"still 615 after {watch.Elapsed} (file of {size} bytes)");
                await Task.Delay(200);
            }

            Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), $"admitted after only {watch.Elapsed}");

            // The stalled connections were closed by the server: reading them drains what was buffered, then ends.
            foreach (var socket in stalled)
            {
                Assert.True(await DrainsToEndAsync(socket, size), "a stalled download's connection is still open");
            }
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }

        // A reading client still gets the whole file.
        using var client = await server.AuthorizedClientAsync();
        Assert.Equal(size, (await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync()).LongLength);
    }

    [Fact]
    public async Task Downloads_whose_connection_closes_free_their_slots_at_once()
    {
        // No stall limit: the slot must come back because the connection ended, not because of a timer.
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Spillway:Downloads:StallSeconds"] = "0" },
            new { concurrentCalls = Slots });
        var (id, _, token) = await LargeExportAsync(server);
        using var client = await server.AuthorizedClientAsync();

        for (var round = 0; round < 3; round++)
        {
            var sockets = new List<Socket>();
            for (var i = 0; i < Slots; i++)
            {
                sockets.Add(await StartDownloadAsync(server.BaseAddress, id, token));
            }

            foreach (var socket in sockets)
            {
                socket.LingerState = new LingerOption(true, 0); // a reset, like a killed client
                socket.Dispose();
            }

            var watch = Stopwatch.StartNew();
            while (await CodeOrOkAsync(await client.GetAsync("/bulk/v1/activities/export.json")) != "ok")
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"round {round}: slots still held after {watch.Elapsed}");
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A completed export of several MB (more than the loopback socket buffers hold), its size and a token.</summary>
    private static async Task<(string Id, long Size, string Token)> LargeExportAsync(SpillwayTestServer server)
    {
        await server.SeedAsync(60_000, 2);
        using var client = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();
        var (id, job) = await Marketo.CompleteAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        var size = job.GetProperty("fileSize").GetInt64();
        Assert.True(size > 12 * 1024 * 1024, $"precondition: a file larger than the socket buffers ({size} bytes)");
        return (id, size, client.DefaultRequestHeaders.Authorization!.Parameter!);
    }

    /// <summary>Sends a file request on a raw socket with a small receive window and waits for the first bytes; never reads more.</summary>
    private static async Task<Socket> StartDownloadAsync(Uri address, string id, string token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(address.Host, address.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"GET /bulk/v1/activities/export/{id}/file.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"));
        var head = new byte[64];
        var n = await socket.ReceiveAsync(head);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(head, 0, n), StringComparison.Ordinal);
        return socket;
    }

    /// <summary>Reads until the server closes (true) or 10 s pass (false); fewer bytes than the file arrive when it was cut.</summary>
    private static async Task<bool> DrainsToEndAsync(Socket socket, long fileSize)
    {
        var buffer = new byte[256 * 1024];
        long total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                total += n;
            }
        }
        catch (SocketException)
        {
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        Assert.True(total < fileSize, $"a stalled download got all {total} bytes");
        return true;
    }

    private static async Task<string> CodeOrOkAsync(HttpResponseMessage response)
    {
        var envelope = await Marketo.EnvelopeAsync(response);
        return envelope.GetProperty("success").GetBoolean() ? "ok" : envelope.GetProperty("errors")[0].GetProperty("code").GetString()!;
    }
}

public sealed class HostileClientTests_Embedded : HostileClientTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class HostileClientTests_Postgres : HostileClientTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
