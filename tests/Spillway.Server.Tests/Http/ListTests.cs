using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The job list, as real clients page it.</summary>
public abstract class ListTests : StoreTestBase
{
    private const string ListPath = "/bulk/v1/activities/export.json";
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<List<string>> CreateJobsAsync(HttpClient client, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        return ids;
    }

    private static string[] Ids(JsonElement envelope) =>
        [.. envelope.GetProperty("result").EnumerateArray().Select(j => j.GetProperty("exportId").GetString()!)];

    private static string? Token(JsonElement envelope) =>
        envelope.TryGetProperty("nextPageToken", out var token) ? token.GetString() : null;

    /// <summary>Follows nextPageToken to the end, as clients do; returns the pages.</summary>
    private static async Task<List<JsonElement>> AllPagesAsync(HttpClient client, string query)
    {
        var pages = new List<JsonElement>();
        string? token = null;
        do
        {
            var url = ListPath + "?" + query + (token is null ? "" : "&nextPageToken=" + Uri.EscapeDataString(token));
            var page = await Marketo.SuccessAsync(await client.GetAsync(url));
            pages.Add(page);
            token = Token(page);
            Assert.True(pages.Count < 100, "paging does not end");
        }
        while (token is not null);

        return pages;
    }

    private static async Task<string[]> ListAsync(HttpClient client, string query) =>
        Ids(await Marketo.SuccessAsync(await client.GetAsync(ListPath + "?" + query)));

    [Fact]
    public async Task BatchSize_defaults_to_300_and_is_at_most_300()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var ids = await CreateJobsAsync(client, 305);

        var first = await Marketo.SuccessAsync(await client.GetAsync(ListPath));
        Assert.Equal(300, Ids(first).Length);
        Assert.NotNull(Token(first));
        Assert.Equal(["requestId", "result", "success", "nextPageToken"], first.EnumerateObject().Select(p => p.Name).ToArray());

        var big = await Marketo.SuccessAsync(await client.GetAsync(ListPath + "?batchSize=1000"));
        Assert.Equal(300, Ids(big).Length);
        Assert.NotNull(Token(big));

        var second = await Marketo.SuccessAsync(await client.GetAsync(ListPath + "?nextPageToken=" + Uri.EscapeDataString(Token(first)!)));
        Assert.Equal(5, Ids(second).Length);
        Assert.Null(Token(second));
        Assert.False(second.TryGetProperty("moreResult", out _));

        var all = Ids(first).Concat(Ids(second)).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(ids.Order(), all.Order());
    }

    [Theory]
    [InlineData(20, 7)]
    [InlineData(14, 7)]
    [InlineData(7, 7)]
    [InlineData(3, 1)]
    [InlineData(5, 300)]
    public async Task Paging_has_no_duplicates_or_gaps_and_a_token_only_when_more_remain(int jobs, int batchSize)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var ids = await CreateJobsAsync(client, jobs);

        var pages = await AllPagesAsync(client, $"batchSize={batchSize}");

        Assert.Equal((jobs + batchSize - 1) / batchSize, pages.Count);
        foreach (var page in pages.SkipLast(1))
        {
            Assert.Equal(batchSize, Ids(page).Length);
            Assert.NotNull(Token(page));
        }

        Assert.Null(Token(pages[^1]));
        var all = pages.SelectMany(Ids).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(ids.Order(), all.Order());
    }

    [Fact]
    public async Task An_empty_list_still_has_a_result_and_no_token()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var envelope = await Marketo.SuccessAsync(await client.GetAsync(ListPath));

        Assert.Equal(["requestId", "result", "success"], envelope.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(0, envelope.GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task Status_filter_accepts_repeated_params_comma_lists_any_case_and_both_cancelled_spellings()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
        using var client = await server.AuthorizedClientAsync();
        var window = Marketo.Window(Day, Day.AddDays(1));

        var (completed, _) = await Marketo.CompleteAsync(client, window);

        var failed = await Marketo.CreateAsync(client, window);
        Directory.Delete(server.ExportTempPath, recursive: true); // writing fails: the job fails
        await Marketo.EnqueueAsync(client, failed);
        Assert.Equal("Failed", (await Marketo.WaitAsync(client, failed)).GetProperty("status").GetString());
        Directory.CreateDirectory(server.ExportTempPath);

        await server.SetLimitsWithRoomAsync(new { maxProcessingJobs = 0 }); // no slot: an enqueued job stays Queued
        var queued = await Marketo.CreateAsync(client, window);
        await Marketo.EnqueueAsync(client, queued);
        var cancelled = await Marketo.CreateAsync(client, window);
        await Marketo.CancelAsync(client, cancelled);
        var created = await Marketo.CreateAsync(client, window);
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, queued)).GetProperty("status").GetString());

        string[] Of(params string[] ids) => [.. ids.Order()];

        Assert.Equal(Of(completed, failed, queued, cancelled, created), (await ListAsync(client, "")).Order());
        Assert.Equal(Of(created, queued), (await ListAsync(client, "status=Created&status=Queued")).Order());
        Assert.Equal(Of(completed, failed), (await ListAsync(client, "status=Completed,Failed")).Order());
        Assert.Equal(Of(queued), (await ListAsync(client, "status=queued,processing")).Order());
        Assert.Equal(Of(cancelled), (await ListAsync(client, "status=cancelled")).Order());
        Assert.Equal(Of(cancelled), (await ListAsync(client, "status=canceled")).Order());
        Assert.Equal(Of(cancelled), (await ListAsync(client, "status=Cancelled")).Order());
        Assert.Equal(Of(cancelled), (await ListAsync(client, "status=CANCELED")).Order());
        Assert.Equal(Of(created, cancelled, completed), (await ListAsync(client, "status=created,canceled&status=COMPLETED")).Order());
        Assert.Empty(await ListAsync(client, "status=Processing"));

        // Each listed job carries its status spelled as on the wire.
        var all = (await Marketo.SuccessAsync(await client.GetAsync(ListPath))).GetProperty("result").EnumerateArray()
            .ToDictionary(j => j.GetProperty("exportId").GetString()!, j => j.GetProperty("status").GetString());
        Assert.Equal("Completed", all[completed]);
        Assert.Equal("Failed", all[failed]);
        Assert.Equal("Queued", all[queued]);
        Assert.Equal("Cancelled", all[cancelled]);
        Assert.Equal("Created", all[created]);
    }

    [Fact]
    public async Task Status_filter_pages_like_the_unfiltered_list()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var ids = await CreateJobsAsync(client, 12);
        var cancelled = ids.Where((_, i) => i % 2 == 0).ToList();
        foreach (var id in cancelled)
        {
            await Marketo.CancelAsync(client, id);
        }

        var pages = await AllPagesAsync(client, "status=cancelled&batchSize=4");

        Assert.Equal([4, 2], pages.Select(p => Ids(p).Length));
        Assert.Equal(cancelled.Order(), pages.SelectMany(Ids).Order());
    }

    [Theory]
    [InlineData("status=Done")]
    [InlineData("status=Completed,Finished")]
    [InlineData("status=Queued&status=bogus")]
    [InlineData("status=cancel")]
    public async Task An_unknown_status_is_1003(string query)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.ErrorAsync(await client.GetAsync(ListPath + "?" + query), "1003");

        Assert.Contains("'status'", message, StringComparison.Ordinal);
    }
}

public sealed class ListTests_Embedded : ListTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ListTests_Postgres : ListTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
