using Microsoft.Extensions.DependencyInjection;
using Spillway.Contracts;
using Spillway.Server.Storage;
using Spillway.Server.Tests.BulkExport;
using Spillway.Server.Tests.Infrastructure;
using StoredActivity = Spillway.Contracts.ActivityRecord;

namespace Spillway.Client.Tests.RealServer;

/// <summary>Helpers for the tests that run the client against a real <see cref="SpillwayTestServer"/>.</summary>
internal static class RealServerKit
{
    /// <summary>Client options for the test server (or a proxy in front of it) with short retry delays.</summary>
    public static MarketoClientOptions Options(SpillwayTestServer server, Uri? via = null) => new()
    {
        BaseUrl = via ?? server.BaseAddress,
        ClientId = server.ClientId,
        ClientSecret = server.ClientSecret,
        InitialRetryDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        RateLimitDelay = TimeSpan.FromMilliseconds(100),
        QueueFullDelay = TimeSpan.FromMilliseconds(100),
        DownloadStallTimeout = TimeSpan.FromSeconds(5),
    };

    public static (MarketoBulkClient Client, HttpClient Http) ClientFor(SpillwayTestServer server, Uri? via = null,
        Action<MarketoClientOptions>? configure = null)
    {
        var options = Options(server, via);
        configure?.Invoke(options);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        return (new MarketoBulkClient(http, options), http);
    }

    public static BulkExtractionOptions Extraction(string directory, int inFlight = 3) => new()
    {
        OutputDirectory = directory,
        PollInterval = TimeSpan.FromMilliseconds(100),
        MaxJobsInFlight = inFlight,
    };

    /// <summary>The server's now, truncated to the second.</summary>
    public static DateTimeOffset Now(SpillwayTestServer server)
    {
        var now = server.Clock.GetUtcNow();
        return new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    public static async Task<int> SubscriptionIdAsync(SpillwayTestServer server) =>
        (await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None))!.Id;

    /// <summary>The marketoGUIDs the store holds for an inclusive range, streamed straight from <see cref="IActivityWindowStreamer"/>.</summary>
    public static async Task<List<string>> StoredGuidsAsync(SpillwayTestServer server, DateTimeOffset startAt, DateTimeOffset endAt,
        IReadOnlyList<int>? types = null)
    {
        var id = await SubscriptionIdAsync(server);
        var rows = await server.Services.GetRequiredService<IActivityWindowStreamer>()
            .ReadWindowAsync(new ActivityQuery(id, startAt, endAt, types, null), CancellationToken.None);
        return rows.Select(a => a.MarketoGuid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>Appends one Visit Webpage activity at each instant, with fresh marketoGUIDs; returns them.</summary>
    public static async Task<List<string>> AppendAtAsync(this SpillwayTestServer server, params DateTimeOffset[] instants)
    {
        var next = await server.Services.GetRequiredService<IActivityStore>().MaxMarketoGuidAsync(CancellationToken.None) + 1;
        var rows = instants.Select((at, i) => new StoredActivity(next + i, 9000 + i, at, 1, null, 1000 + i, $"/boundary-{i}.html",
            """{"Client IP Address":"192.0.2.1","Webpage URL":"/boundary.html"}""", null)).ToArray();
        await server.AppendAsync(rows);
        return rows.Select(r => r.MarketoGuid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>Creates and enqueues a job over an inclusive range and polls it until it finishes.</summary>
    public static async Task<ExportJob> ExportAsync(MarketoBulkClient client, DateTimeOffset startAt, DateTimeOffset endAt)
    {
        var created = await client.CreateExportAsync(new ExportActivityRequest
        {
            Format = "CSV",
            Filter = new ExportActivityFilter { CreatedAt = new DateRange(startAt, endAt) },
        });
        await client.EnqueueExportAsync(created.ExportId);
        return await WaitAsync(client, created.ExportId);
    }

    public static async Task<ExportJob> WaitAsync(MarketoBulkClient client, string exportId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = await client.GetExportStatusAsync(exportId);
            if (job.Status is ExportJobStatuses.Completed or ExportJobStatuses.Failed or ExportJobStatuses.Cancelled)
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"export {exportId} still {job.Status} after 30 s");
            await Task.Delay(100);
        }
    }

    public static string TempDir() => Path.Combine(Path.GetTempPath(), "spillway-rs-" + Guid.NewGuid().ToString("N"));

    public static void DeleteDir(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
