using System.Net;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Retention (file 7 days after finishedAt, job record 30 days, list 7 days after createdAt).</summary>
public abstract class RetentionTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset FinishedAt(JsonElement job) =>
        DateTimeOffset.Parse(job.GetProperty("finishedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<string[]> ListIdsAsync(HttpClient client) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json")))
            .GetProperty("result").EnumerateArray().Select(j => j.GetProperty("exportId").GetString()!)];

    [Fact]
    public async Task The_file_is_404_after_7_days_while_the_status_still_says_Completed()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)), Marketo.Activity(2, Day.AddHours(2)));
        var client = await server.AuthorizedClientAsync();
        var (id, completed) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var finishedAt = FinishedAt(completed);

        server.Clock.SetNow(finishedAt.AddDays(7).AddMinutes(-1));
        await server.SweepAsync();
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        var stillThere = await Marketo.GetFileAsync(client, id);
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        Assert.Equal(completed.GetProperty("fileSize").GetInt64(), (await stillThere.Content.ReadAsByteArrayAsync()).Length);

        server.Clock.SetNow(finishedAt.AddDays(7).AddMinutes(1));
        await server.SweepAsync();
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        var gone = await Marketo.GetFileAsync(client, id);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("text/plain", gone.Content.Headers.ContentType?.MediaType);
        using (var probe = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json"))
        {
            probe.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 0);
            Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(probe)).StatusCode);
        }

        Assert.Equal(completed.ToString(), (await Marketo.StatusAsync(client, id)).ToString());
        Assert.Empty(server.ExportFilesOf(id));
        client.Dispose();
    }

    [Fact]
    public async Task A_second_store_on_the_same_export_folder_never_removes_the_first_stores_files()
    {
        // Two servers over two different stores, one export folder: each sweep sees only its own store's files, so the
        // other's Completed file (a job it has never heard of) is not an orphan to it.
        var shared = Path.Combine(Path.GetTempPath(), "spillway-tests", "shared-exports-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?> { ["Spillway:ExportPath"] = shared };
        try
        {
            await using var first = await StartWithRoomAsync(settings);
            await using var second = await StartWithRoomAsync(settings);
            await first.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
            await second.AppendAsync(Marketo.Activity(2, Day.AddHours(2)));
            using var firstClient = await first.AuthorizedClientAsync();
            using var secondClient = await second.AuthorizedClientAsync();
            var (firstId, firstJob) = await Marketo.CompleteAsync(firstClient, Marketo.Window(Day, Day.AddDays(1)));
            var (secondId, secondJob) = await Marketo.CompleteAsync(secondClient, Marketo.Window(Day, Day.AddDays(1)));

            await second.SweepAsync();
            await first.SweepAsync();

            Assert.Equal(2, ExportFolders.StoreFolders(shared).Count);
            foreach (var (client, id, job) in new[] { (firstClient, firstId, firstJob), (secondClient, secondId, secondJob) })
            {
                var file = await Marketo.GetFileAsync(client, id);
                Assert.Equal(HttpStatusCode.OK, file.StatusCode);
                Assert.Equal(job.GetProperty("fileSize").GetInt64(), (await file.Content.ReadAsByteArrayAsync()).Length);
            }

            // A store's own orphan (a file no job of it owns) is still removed.
            var stray = Path.Combine(ExportFolders.StoreFolders(shared)[0], "files", $"{Guid.NewGuid():N}.1.csv");
            await File.WriteAllTextAsync(stray, "stray");
            await first.SweepAsync();
            await second.SweepAsync();
            Assert.False(File.Exists(stray), "an orphan file in a store's own folder survived its sweep");
        }
        finally
        {
            if (Directory.Exists(shared))
            {
                Directory.Delete(shared, recursive: true);
            }
        }
    }

    [Fact]
    public async Task The_file_is_404_once_7_days_have_passed_even_before_a_sweep_ran()
    {
        await using var server = await StartWithRoomAsync();
        var client = await server.AuthorizedClientAsync();
        var (id, completed) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        server.Clock.SetNow(FinishedAt(completed).AddDays(7).AddSeconds(1));
        client.Dispose();
        client = await server.AuthorizedClientAsync();

        Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, id)).StatusCode);
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        client.Dispose();
    }

    [Fact]
    public async Task The_job_record_is_gone_after_30_days()
    {
        await using var server = await StartWithRoomAsync();
        var client = await server.AuthorizedClientAsync();
        var (completedId, completed) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var cancelledId = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.CancelAsync(client, cancelledId);
        var finishedAt = FinishedAt(completed);

        server.Clock.SetNow(finishedAt.AddDays(30).AddMinutes(-1));
        await server.SweepAsync();
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, completedId)).GetProperty("status").GetString());
        Assert.Equal("Cancelled", (await Marketo.StatusAsync(client, cancelledId)).GetProperty("status").GetString());

        server.Clock.SetNow(finishedAt.AddDays(30).AddMinutes(1));
        await server.SweepAsync();
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        foreach (var id in new[] { completedId, cancelledId })
        {
            Assert.Equal("Requested resource not found",
                await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json"), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await Marketo.PostCancelAsync(client, id), "610"));
            Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, id)).StatusCode);
        }

        client.Dispose();
    }

    [Fact]
    public async Task The_list_shows_only_jobs_created_in_the_last_7_days()
    {
        await using var server = await StartWithRoomAsync();
        var start = server.Clock.GetUtcNow();
        var client = await server.AuthorizedClientAsync();
        var old = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var oldCreatedAt = DateTimeOffset.Parse((await Marketo.StatusAsync(client, old)).GetProperty("createdAt").GetString()!,
            System.Globalization.CultureInfo.InvariantCulture);

        server.Clock.SetNow(start.AddDays(6));
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        var recent = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal([old, recent], await ListIdsAsync(client));

        server.Clock.SetNow(oldCreatedAt.AddDays(7).AddSeconds(5));
        await server.SweepAsync();
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        Assert.Equal([recent], await ListIdsAsync(client));
        // Out of the list, but the job record lives on (30 days).
        Assert.Equal("Created", (await Marketo.StatusAsync(client, old)).GetProperty("status").GetString());
        client.Dispose();
    }
}

public sealed class RetentionTests_Embedded : RetentionTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class RetentionTests_Postgres : RetentionTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
