using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Range requests on the file, as real clients send them.</summary>
public abstract class RangeTests : StoreTestBase
{
    /// <summary>A completed export of a few thousand seeded activities: its id, its whole bytes and its status.</summary>
    private static async Task<(string Id, byte[] Whole, JsonElement Job)> ExportAsync(SpillwayTestServer server, HttpClient client)
    {
        await server.SeedAsync(3_000, 2);
        var now = server.Clock.GetUtcNow();
        var (id, job) = await Marketo.CompleteAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        var whole = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync();
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), whole.Length);
        Assert.True(whole.Length > 10_000, "precondition: a file of some size");
        return (id, whole, job);
    }

    private static async Task<HttpResponseMessage> GetRangeAsync(HttpClient client, string id, string? range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json");
        if (range is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation("Range", range));
        }

        return await client.SendAsync(request);
    }

    private static async Task AssertPartialAsync(HttpResponseMessage response, byte[] whole, long first, long last)
    {
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/{whole.Length}", FileTests.RawHeader(response, "Content-Range"));
        Assert.Equal(last - first + 1, response.Content.Headers.ContentLength);
        Assert.Equal("bytes", FileTests.RawHeader(response, "Accept-Ranges"));
        Assert.Equal("text/csv;charset=UTF-8", FileTests.RawHeader(response, "Content-Type"));
        Assert.Equal(whole[(int)first..(int)(last + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    private static async Task AssertWholeAsync(HttpResponseMessage response, byte[] whole)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", FileTests.RawHeader(response, "Content-Range"));
        Assert.Equal(whole.Length, response.Content.Headers.ContentLength);
        Assert.Equal(whole, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Probe_bytes_0_0_is_206_with_one_byte()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);

        var response = await GetRangeAsync(client, id, "bytes=0-0");

        await AssertPartialAsync(response, whole, 0, 0);
        Assert.Equal([(byte)'m'], whole[..1]);
    }

    [Fact]
    public async Task A_closed_range_an_open_range_and_a_suffix_range_are_206()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);
        var n = whole.Length;

        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=10-19"), whole, 10, 19);
        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=725-999"), whole, 725, 999);
        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes={n - 1}-{n - 1}"), whole, n - 1, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=0-"), whole, 0, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes={n - 5}-"), whole, n - 5, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=-7"), whole, n - 7, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes=-{n}"), whole, 0, n - 1);
    }

    [Fact]
    public async Task A_range_past_the_end_is_clipped_to_the_file()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);
        var n = whole.Length;

        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes=5-{n + 100}"), whole, 5, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes={n - 3}-{n}"), whole, n - 3, n - 1);
        await AssertPartialAsync(await GetRangeAsync(client, id, $"bytes=-{n + 1000}"), whole, 0, n - 1);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(4096)]
    [InlineData(10_000)]
    public async Task Fixed_size_chunks_reassemble_to_the_whole_file(int chunk)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, job) = await ExportAsync(server, client);
        var size = job.GetProperty("fileSize").GetInt64();

        var assembled = new List<byte>();
        for (long first = 0; first < size; first += chunk)
        {
            var last = Math.Min(size, first + chunk) - 1;
            var response = await GetRangeAsync(client, id, $"bytes={first}-{first + chunk - 1}");
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal($"bytes {first}-{last}/{size}", FileTests.RawHeader(response, "Content-Range"));
            assembled.AddRange(await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(whole, assembled.ToArray());
        Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(assembled.ToArray())));
    }

    [Fact]
    public async Task Resuming_after_N_bytes_gives_the_rest()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);

        var head = await (await GetRangeAsync(client, id, "bytes=0-4999")).Content.ReadAsByteArrayAsync();
        var rest = await (await GetRangeAsync(client, id, $"bytes={head.Length}-")).Content.ReadAsByteArrayAsync();

        Assert.Equal(whole, head.Concat(rest).ToArray());
    }

    [Fact]
    public async Task An_unsatisfiable_range_is_416_with_the_size()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);
        var n = whole.Length;

        foreach (var range in new[] { $"bytes={n}-", $"bytes={n}-{n + 10}", $"bytes={n + 1000}-{n + 2000}", "bytes=-0" })
        {
            var response = await GetRangeAsync(client, id, range);
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
            Assert.Equal($"bytes */{n}", FileTests.RawHeader(response, "Content-Range"));
        }
    }

    [Theory]
    [InlineData("bytes=x-y")]
    [InlineData("bytes=5-2")]
    [InlineData("items=0-1")]
    [InlineData("bytes=")]
    [InlineData("bytes=--1")]
    [InlineData("bytes 0-99")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("bytes=0-0,-1")]
    public async Task A_malformed_or_multi_range_gets_the_whole_file(string range)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);

        await AssertWholeAsync(await GetRangeAsync(client, id, range), whole);
    }

    [Fact]
    public async Task No_range_is_200_with_the_whole_file_and_accept_ranges()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, whole, _) = await ExportAsync(server, client);

        var response = await GetRangeAsync(client, id, null);

        Assert.Equal("bytes", FileTests.RawHeader(response, "Accept-Ranges"));
        await AssertWholeAsync(response, whole);
    }

    [Fact]
    public async Task An_empty_file_answers_a_probe_for_its_header_line()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var day = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var (id, job) = await Marketo.CompleteAsync(client, Marketo.Window(day, day.AddDays(1)));
        Assert.Equal(0, job.GetProperty("numberOfRecords").GetInt64());
        var whole = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync();

        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=0-0"), whole, 0, 0);
        await AssertPartialAsync(await GetRangeAsync(client, id, "bytes=0-"), whole, 0, whole.Length - 1);
    }
}

public sealed class RangeTests_Embedded : RangeTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class RangeTests_Postgres : RangeTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
