using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The file endpoint's HTTP: headers, 404 and what real clients send.</summary>
public abstract class FileTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    internal static string RawHeader(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? values.ToString()
        : response.Content.Headers.NonValidated.TryGetValues(name, out var contentValues) ? contentValues.ToString()
        : "";

    private static async Task AssertPlainNotFoundAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(body.TrimStart().StartsWith('{'), "404 body is plain text, not JSON: " + body);
    }

    [Theory]
    [InlineData("CSV")]
    [InlineData("TSV")]
    [InlineData("SSV")]
    public async Task The_file_is_text_csv_utf8_with_accept_ranges_a_strong_etag_and_its_exact_bytes(string format)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)), Marketo.Activity(2, Day.AddHours(2), primaryValue: "x y,z"));
        using var client = await server.AuthorizedClientAsync();
        var (id, job) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1), extraBody: $",\"format\":\"{format}\""));

        var response = await Marketo.GetFileAsync(client, id);
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv;charset=UTF-8", RawHeader(response, "Content-Type"));
        Assert.Equal("bytes", RawHeader(response, "Accept-Ranges"));
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), response.Content.Headers.ContentLength);
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), bytes.Length);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), job.GetProperty("fileChecksum").GetString());
        var etag = response.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.StartsWith("\"", etag.Tag, StringComparison.Ordinal);
        Assert.Empty(response.Content.Headers.ContentEncoding);

        var again = await Marketo.GetFileAsync(client, id);
        Assert.Equal(etag, again.Headers.ETag);
        Assert.Equal(bytes, await again.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Different_files_have_different_etags()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)), Marketo.Activity(2, Day.AddDays(2)));
        using var client = await server.AuthorizedClientAsync();
        var (first, _) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var (second, _) = await Marketo.CompleteAsync(client, Marketo.Window(Day.AddDays(1), Day.AddDays(3)));

        var a = (await Marketo.GetFileAsync(client, first)).Headers.ETag;
        var b = (await Marketo.GetFileAsync(client, second)).Headers.ETag;

        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task The_file_is_never_compressed()
    {
        await using var server = await StartWithRoomAsync();
        await server.SeedAsync(3_000, 2);
        var now = server.Clock.GetUtcNow();
        using var client = await server.AuthorizedClientAsync();
        var (id, job) = await Marketo.CompleteAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));

        var whole = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync();
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), whole.Length);

        foreach (var (range, expected) in new (RangeHeaderValue?, byte[])[] { (null, whole), (new(0, 99), whole[..100]), (new(100, null), whole[100..]) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json");
            request.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br");
            request.Headers.Range = range;
            var response = await client.SendAsync(request);

            Assert.Empty(response.Content.Headers.ContentEncoding);
            Assert.Equal("", RawHeader(response, "Content-Encoding"));
            Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Unknown_and_malformed_ids_are_404_plain_text()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(client, Guid.NewGuid().ToString("D")));
        await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(client, "not-a-job"));
        await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(client, Guid.NewGuid().ToString("N")));
        await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(client, "..%2F..%2Fetc%2Fpasswd"));
    }

    [Fact]
    public async Task A_job_that_is_not_Completed_has_no_file()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var window = Marketo.Window(Day, Day.AddDays(1));
        var created = await Marketo.CreateAsync(client, window);
        var queued = await Marketo.CreateAsync(client, window);
        await Marketo.EnqueueAsync(client, queued);
        var cancelled = await Marketo.CreateAsync(client, window);
        await Marketo.CancelAsync(client, cancelled);

        foreach (var id in new[] { created, queued, cancelled })
        {
            await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(client, id));
            using var probe = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json");
            probe.Headers.Range = new RangeHeaderValue(0, 0);
            await AssertPlainNotFoundAsync(await client.SendAsync(probe));
        }
    }

    [Fact]
    public async Task A_Processing_job_has_no_file()
    {
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Spillway:Worker:ChunkHours"] = "1" });
        await server.SeedAsync(200_000, 30);
        var now = server.Clock.GetUtcNow();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(now.AddDays(-30), now.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);
        await Marketo.WaitAsync(client, id, "Processing");

        var response = await Marketo.GetFileAsync(client, id);
        var published = Directory.EnumerateFiles(server.ExportFilesPath).Where(f => server.ExportFilesOf(id).Contains(f)).ToList();
        var stillProcessing = (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString() == "Processing";

        Assert.True(stillProcessing, "precondition: the job was Processing while the file was asked for");
        await AssertPlainNotFoundAsync(response);
        Assert.Empty(published); // written under a temporary name, published only complete
        await Marketo.WaitAsync(client, id);
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, id)).StatusCode);
    }

    [Fact]
    public async Task Another_users_file_is_404()
    {
        await using var server = await StartWithRoomAsync();
        var (otherId, otherSecret) = await server.CreateApiUserAsync("other@example.com", "Read-Only Activity");
        using var owner = await server.AuthorizedClientAsync();
        using var other = await server.AuthorizedClientAsync(otherId, otherSecret);
        var (id, _) = await Marketo.CompleteAsync(owner, Marketo.Window(Day, Day.AddDays(1)));

        await AssertPlainNotFoundAsync(await Marketo.GetFileAsync(other, id));
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(owner, id)).StatusCode);
    }
}

public sealed class FileTests_Embedded : FileTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class FileTests_Postgres : FileTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
