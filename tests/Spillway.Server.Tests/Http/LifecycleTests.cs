using System.Globalization;
using System.Net;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The job lifecycle.</summary>
public abstract class LifecycleTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A worker that reads the window in hour-long chunks, so a seeded 30-day export runs for seconds.</summary>
    private static Dictionary<string, string?> SlowChunks => new() { ["Spillway:Worker:ChunkHours"] = "1" };

    private static DateTimeOffset At(JsonElement job, string member) =>
        DateTimeOffset.ParseExact(job.GetProperty(member).GetString()!, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal);

    private static string[] Members(JsonElement job) => [.. job.EnumerateObject().Select(p => p.Name)];

    /// <summary>Seeds 200,000 activities over the last 30 days and returns a create body for all of them.</summary>
    private static async Task<string> LargeWindowAsync(SpillwayTestServer server)
    {
        await server.SeedAsync(200_000, 30);
        var now = server.Clock.GetUtcNow();
        return Marketo.Window(now.AddDays(-30), now.AddDays(1));
    }

    [Fact]
    public async Task A_job_goes_Created_Queued_Processing_Completed_with_ordered_timestamps()
    {
        await using var server = await StartWithRoomAsync(SlowChunks);
        var body = await LargeWindowAsync(server);
        using var client = await server.AuthorizedClientAsync();

        // The job runs for about a second; a test process starved on a loaded machine can miss that between two
        // polls, so a job seen only Completed is run again (at most three times) until its Processing state is seen.
        JsonElement created = default, queued = default, processing = default;
        var id = "";
        for (var attempt = 1; ; attempt++)
        {
            created = Marketo.Job(await Marketo.SuccessAsync(await Marketo.PostCreateAsync(client, body)));
            id = created.GetProperty("exportId").GetString()!;
            Assert.Equal("Created", created.GetProperty("status").GetString());
            Assert.Equal(["exportId", "format", "status", "createdAt"], Members(await Marketo.StatusAsync(client, id)));

            queued = await Marketo.EnqueueAsync(client, id);
            Assert.Equal("Queued", queued.GetProperty("status").GetString());
            Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt"], Members(queued));

            processing = await Marketo.WaitAsync(client, id, "Processing", "Completed");
            if (processing.GetProperty("status").GetString() == "Processing")
            {
                break;
            }

            Assert.True(attempt < 3, "three jobs in a row completed before a status call saw them Processing");
        }

        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt", "startedAt"], Members(processing));

        var completed = await Marketo.WaitAsync(client, id);
        Assert.Equal("Completed", completed.GetProperty("status").GetString());
        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt", "startedAt", "finishedAt", "numberOfRecords", "fileSize", "fileChecksum"],
            Members(completed));
        Assert.True(At(completed, "createdAt") <= At(completed, "queuedAt"));
        Assert.True(At(completed, "queuedAt") <= At(completed, "startedAt"));
        Assert.True(At(completed, "startedAt") <= At(completed, "finishedAt"));
        Assert.Equal(At(created, "createdAt"), At(completed, "createdAt"));
        Assert.Equal(At(queued, "queuedAt"), At(completed, "queuedAt"));
        Assert.Equal(At(processing, "startedAt"), At(completed, "startedAt"));
        Assert.True(completed.GetProperty("numberOfRecords").GetInt64() > 100_000);
    }

    [Fact]
    public async Task A_job_failed_by_an_engine_error_tells_the_client_no_internals_and_logs_them_under_its_incident()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
        var log = LogCapture.AttachTo(server);
        using var client = await server.AuthorizedClientAsync();

        // The folder of the runs' temporary files becomes a file: every export fails inside the engine, with a message
        // that names server paths.
        var temp = server.ExportTempPath;
        Directory.Delete(temp, recursive: true);
        await File.WriteAllTextAsync(temp, "not a folder");

        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);
        var failed = await Marketo.WaitAsync(client, id);
        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        var errorMsg = failed.GetProperty("errorMsg").GetString()!;
        var match = System.Text.RegularExpressions.Regex.Match(errorMsg, @"^Export failed: internal error \(incident ([0-9a-f]{12})\)$");
        Assert.True(match.Success, errorMsg);
        var incident = match.Groups[1].Value;
        Assert.DoesNotContain("/", errorMsg, StringComparison.Ordinal);
        Assert.DoesNotContain("tmp", errorMsg, StringComparison.Ordinal);

        var logged = Assert.Single(log.Entries, e => e.Message.Contains(incident, StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, logged.Level);
        Assert.Contains(id, logged.Message, StringComparison.Ordinal);
        Assert.NotNull(logged.Exception);
        Assert.Contains(temp, logged.Exception.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_reads_Queued_or_later_as_soon_as_enqueue_returns()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
        using var client = await server.AuthorizedClientAsync();

        for (var i = 0; i < 15; i++)
        {
            var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
            Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, id)).GetProperty("status").GetString());
            var status = (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString();
            Assert.Contains(status, new[] { "Queued", "Processing", "Completed" });
            // The re-enqueue race some clients have: a poll never says Created again, so no client re-enqueues.
            await Marketo.WaitAsync(client, id);
        }
    }

    [Fact]
    public async Task With_a_paused_worker_status_reads_exactly_Queued_after_enqueue()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var queued = await Marketo.EnqueueAsync(client, id);
        var status = await Marketo.StatusAsync(client, id);

        Assert.Equal("Queued", status.GetProperty("status").GetString());
        Assert.Equal(queued.GetProperty("queuedAt").GetString(), status.GetProperty("queuedAt").GetString());
        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt"], Members(status));
    }

    [Fact]
    public async Task Enqueue_of_a_Queued_job_is_1029_Job_already_queued()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var queued = await Marketo.EnqueueAsync(client, id);

        Assert.Equal("Job already queued", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "1029"));
        var after = await Marketo.StatusAsync(client, id);
        Assert.Equal("Queued", after.GetProperty("status").GetString());
        Assert.Equal(queued.GetProperty("queuedAt").GetString(), after.GetProperty("queuedAt").GetString());
    }

    [Fact]
    public async Task Concurrent_enqueues_of_one_job_queue_it_once()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Marketo.PostEnqueueAsync(client, id)));

        var successes = 0;
        foreach (var response in responses)
        {
            var envelope = await Marketo.EnvelopeAsync(response);
            if (envelope.GetProperty("success").GetBoolean())
            {
                successes++;
                Assert.Equal("Queued", Marketo.Job(envelope).GetProperty("status").GetString());
            }
            else
            {
                Assert.Equal("Job already queued", await Marketo.ErrorAsync(response, "1029"));
            }
        }

        Assert.Equal(1, successes);
    }

    [Fact]
    public async Task Concurrent_cancels_all_succeed()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Marketo.PostCancelAsync(client, id)));

        foreach (var response in responses)
        {
            Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(response)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Enqueue_of_a_Processing_job_is_1029_Job_already_queued()
    {
        await using var server = await StartWithRoomAsync(SlowChunks);
        var body = await LargeWindowAsync(server);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, body);
        await Marketo.EnqueueAsync(client, id);
        await Marketo.WaitAsync(client, id, "Processing");

        var response = await Marketo.PostEnqueueAsync(client, id);
        var status = (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString();

        Assert.Equal("Processing", status); // still running when the second enqueue was answered
        Assert.Equal("Job already queued", await Marketo.ErrorAsync(response, "1029"));
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Enqueue_of_a_Completed_job_is_1003()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var (id, _) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var message = await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "1003");

        Assert.Equal("Export job is Completed and cannot be enqueued", message);
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Enqueue_of_a_Cancelled_job_is_1003()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.CancelAsync(client, id);

        var message = await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "1003");

        Assert.Equal("Export job is Cancelled and cannot be enqueued", message);
        Assert.Equal("Cancelled", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_Failed_job_keeps_its_timestamps_has_errorMsg_and_cannot_be_enqueued_or_cancelled()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        // Take the worker's scratch folder away: writing the file fails, so the job fails.
        Directory.Delete(server.ExportTempPath, recursive: true);
        await Marketo.EnqueueAsync(client, id);

        var failed = await Marketo.WaitAsync(client, id);

        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt", "startedAt", "finishedAt", "errorMsg"], Members(failed));
        Assert.False(string.IsNullOrWhiteSpace(failed.GetProperty("errorMsg").GetString()));
        Assert.True(At(failed, "startedAt") <= At(failed, "finishedAt"));
        Assert.Equal("Export job is Failed and cannot be enqueued", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "1003"));
        Assert.Equal("Export job is Failed and cannot be cancelled", await Marketo.ErrorAsync(await Marketo.PostCancelAsync(client, id), "1003"));
        Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, id)).StatusCode);
    }

    [Fact]
    public async Task Cancel_of_a_Created_job_keeps_createdAt_only_and_is_idempotent()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var cancelled = await Marketo.CancelAsync(client, id);
        var again = await Marketo.CancelAsync(client, id);
        var status = await Marketo.StatusAsync(client, id);

        foreach (var job in new[] { cancelled, again, status })
        {
            Assert.Equal("Cancelled", job.GetProperty("status").GetString());
            Assert.Equal(["exportId", "format", "status", "createdAt"], Members(job));
        }
    }

    [Fact]
    public async Task Cancel_of_a_Queued_job_keeps_queuedAt_and_frees_its_queue_place()
    {
        await using var server = await StartWithRoomAsync(PausedWorker, new { maxQueuedJobs = 1 });
        using var client = await server.AuthorizedClientAsync();
        var first = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var second = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var queued = await Marketo.EnqueueAsync(client, first);
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, second), "1029"));

        var cancelled = await Marketo.CancelAsync(client, first);

        Assert.Equal("Cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt"], Members(cancelled));
        Assert.Equal(queued.GetProperty("queuedAt").GetString(), cancelled.GetProperty("queuedAt").GetString());
        Assert.Equal("Cancelled", (await Marketo.CancelAsync(client, first)).GetProperty("status").GetString());
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, second)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_of_a_Completed_job_is_1003_and_changes_nothing()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
        using var client = await server.AuthorizedClientAsync();
        var (id, completed) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var message = await Marketo.ErrorAsync(await Marketo.PostCancelAsync(client, id), "1003");

        Assert.Equal("Export job is Completed and cannot be cancelled", message);
        Assert.Equal(completed.ToString(), (await Marketo.StatusAsync(client, id)).ToString());
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, id)).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_Processing_job_stops_it_and_leaves_no_file()
    {
        await using var server = await StartWithRoomAsync(SlowChunks);
        var body = await LargeWindowAsync(server);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, body);
        await Marketo.EnqueueAsync(client, id);
        var processing = await Marketo.WaitAsync(client, id, "Processing");

        var cancelled = await Marketo.CancelAsync(client, id);

        Assert.Equal("Cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(["exportId", "format", "status", "createdAt", "queuedAt", "startedAt"], Members(cancelled));
        Assert.Equal(processing.GetProperty("startedAt").GetString(), cancelled.GetProperty("startedAt").GetString());

        // "Promptly": the run notices within a few seconds and removes what it wrote.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.ExportFilesOf(id).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Empty(server.ExportFilesOf(id));
        // Long enough for an unstopped run of this window to finish (it takes ~2-4 s); nothing may appear later.
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Empty(server.ExportFilesOf(id));
        var after = await Marketo.StatusAsync(client, id);
        Assert.Equal(cancelled.ToString(), after.ToString());
        var file = await Marketo.GetFileAsync(client, id);
        Assert.Equal(HttpStatusCode.NotFound, file.StatusCode);
        Assert.Equal("text/plain", file.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Unknown_or_malformed_ids_are_610_on_status_enqueue_and_cancel()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        foreach (var id in new[] { Guid.NewGuid().ToString("D"), "not-a-job", Guid.NewGuid().ToString("N") })
        {
            Assert.Equal("Requested resource not found",
                await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json"), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "610"));
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await Marketo.PostCancelAsync(client, id), "610"));
        }
    }
}

public sealed class LifecycleTests_Embedded : LifecycleTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LifecycleTests_Postgres : LifecycleTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
