using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Marketo-like timing on request, never a different contract.</summary>
public abstract class RealismTests : StoreTestBase
{
    [Fact]
    public async Task Status_refreshes_at_most_once_per_configured_interval()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["Spillway:Realism:StatusRefreshSeconds"] = "60" });
        var day = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        await server.AppendAsync(new ActivityRecord(1, 1, day.AddHours(1), 1, null, null, null, "{}", null));
        using var client = await server.AuthorizedClientAsync();

        var id = await Marketo.CreateAsync(client, Marketo.Window(day, day.AddDays(1)));
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, id)).GetProperty("status").GetString());

        // The job really completes at once ...
        var store = server.Services.GetRequiredService<IExportJobStore>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await store.GetByIdAsync(Guid.Parse(id), CancellationToken.None))!.Status != ExportJobStatus.Completed)
        {
            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(50);
        }

        // ... but a poll within the refresh interval still shows the state from the enqueue.
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        server.Clock.Advance(TimeSpan.FromSeconds(61));
        var job = await Marketo.StatusAsync(client, id);
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("numberOfRecords").GetInt64());
    }

    [Fact]
    public async Task Without_realism_status_is_current()
    {
        await using var server = await StartAsync();
        var day = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(day, day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, id)).GetProperty("status").GetString());
    }
}

public sealed class RealismTests_Embedded : RealismTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class RealismTests_Postgres : RealismTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
