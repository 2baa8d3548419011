using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// An enqueue on a node wakes that node's worker at once, for every job, not only the first: with a poll interval of
/// five minutes, jobs enqueued one after another still complete within the status wait's 60 s.
/// </summary>
public abstract class WorkerWakeTests : StoreTestBase
{
    [Fact]
    public async Task Every_enqueued_job_starts_without_waiting_for_the_poll_interval()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["Spillway:Worker:PollSeconds"] = "300" });
        await server.SetLimitsWithRoomAsync();
        await server.SeedAsync(500, daysBack: 2, seed: 4);
        using var client = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();

        // The worker's loop turns once per finished run; before the fix the second job waited out the interval.
        for (var i = 0; i < 4; i++)
        {
            var (_, job) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-3), now));
            Assert.Equal(500, job.GetProperty("numberOfRecords").GetInt64());
        }
    }
}

public sealed class WorkerWakeTests_Embedded : WorkerWakeTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class WorkerWakeTests_Postgres : WorkerWakeTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
