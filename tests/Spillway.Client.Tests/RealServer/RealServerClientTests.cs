using System.Collections.Concurrent;
using System.Security.Cryptography;
using Spillway.Contracts;
using Spillway.Server.Tests.Infrastructure;
using static Spillway.Client.Tests.RealServer.RealServerKit;

namespace Spillway.Client.Tests.RealServer;

/// <summary>
/// The client against the real Spillway server (real Kestrel on loopback, a fresh embedded store per test), with faults
/// the server produces itself (queue full, quota, expired tokens) or a loopback proxy injects (cut connections, a flipped byte).
/// </summary>
public sealed class RealServerClientTests : IDisposable
{
    private readonly string _dir = TempDir();

    public void Dispose() => DeleteDir(_dir);

    [Fact]
    public async Task WholeFlow_TokenTypesCreateEnqueueStatusListDownloadRead_GivesWhatTheStoreHolds()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.SeedAsync(3000, daysBack: 10, seed: 7);
        var (client, http) = ClientFor(server);
        using (http)
        using (client)
        {
            Assert.False(string.IsNullOrEmpty(await client.GetAccessTokenAsync()));
            var types = await client.GetActivityTypesAsync();
            Assert.Contains(types, t => t.Id == 1 && t.Name == "Visit Webpage");

            var (startAt, endAt) = (now.AddDays(-11), now);
            var created = await client.CreateExportAsync(new ExportActivityRequest
            {
                Format = "CSV",
                Filter = new ExportActivityFilter { CreatedAt = new DateRange(startAt, endAt) },
            });
            Assert.Equal(ExportJobStatuses.Created, created.Status);
            var queued = await client.EnqueueExportAsync(created.ExportId);
            Assert.Equal(ExportJobStatuses.Queued, queued.Status);
            var job = await WaitAsync(client, created.ExportId);
            Assert.Equal(ExportJobStatuses.Completed, job.Status);

            var listed = new List<ExportJob>();
            await foreach (var j in client.ListAllExportsAsync([ExportJobStatuses.Completed]))
            {
                listed.Add(j);
            }

            Assert.Contains(listed, j => j.ExportId == job.ExportId && j.FileSize == job.FileSize);

            var file = await client.DownloadFileAsync(job, Path.Combine(_dir, "all.csv"));
            Assert.Equal(job.FileSize, file.Size);
            Assert.Equal(job.FileChecksum, file.Checksum);
            Assert.Equal(job.FileChecksum, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file.Path))));

            var guids = new List<string>();
            await using (var reader = ExportFileReader.OpenFile(file.Path))
            {
                await foreach (var record in reader.ReadRecordsAsync())
                {
                    guids.Add(record.MarketoGuid);
                    Assert.Equal(System.Text.Json.JsonValueKind.Object, record.Attributes.ValueKind);
                }
            }

            Assert.Equal(3000, guids.Count);
            Assert.Equal(job.NumberOfRecords, guids.Count);
            Assert.Equal(await StoredGuidsAsync(server, startAt, endAt), guids); // same rows, same order
        }
    }

    [Fact]
    public async Task ConnectionCutInTheMiddleOfTheFile_IsResumedWithRange_ToTheIdenticalVerifiedFile()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.SeedAsync(4000, daysBack: 5, seed: 3);
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress);
        var (client, http) = ClientFor(server, proxy.BaseUrl);
        using (http)
        using (client)
        {
            var job = await ExportAsync(client, now.AddDays(-6), now);
            Assert.True(job.FileSize > 200_000, $"the file is too small to cut in the middle: {job.FileSize}");
            proxy.CutAt = job.FileSize!.Value / 2 + 12_345;
            proxy.CutFiles = 1;
            var retries = new ConcurrentQueue<MarketoRetryEventArgs>();
            client.Retrying += (_, e) => retries.Enqueue(e);

            var file = await client.DownloadFileAsync(job, Path.Combine(_dir, "cut.csv"));

            Assert.Equal(1, proxy.CutsDone);
            Assert.Equal(2, proxy.FileResponses);
            Assert.Equal(["", $"bytes={proxy.CutAt}-"], proxy.Front.Ranges);
            Assert.NotEmpty(retries);

            using var direct = await server.AuthorizedClientAsync();
            var original = await direct.GetByteArrayAsync($"/bulk/v1/activities/export/{job.ExportId}/file.json");
            Assert.Equal(original, await File.ReadAllBytesAsync(file.Path));
            Assert.Equal(job.FileChecksum, file.Checksum);
            Assert.False(File.Exists(file.Path + ".part"));
        }
    }

    [Fact]
    public async Task ChecksumMismatch_AByteFlippedOnTheWay_RaisesExportFileVerificationException_AndKeepsNothing()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.SeedAsync(500, daysBack: 2, seed: 5);
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress);
        var (client, http) = ClientFor(server, proxy.BaseUrl);
        using (http)
        using (client)
        {
            var job = await ExportAsync(client, now.AddDays(-3), now);
            proxy.FlipByteAt = job.FileSize!.Value / 3;
            var path = Path.Combine(_dir, "flipped.csv");

            var ex = await Assert.ThrowsAsync<ExportFileVerificationException>(() => client.DownloadFileAsync(job, path));

            Assert.Equal(job.ExportId, ex.ExportId);
            Assert.Equal(job.FileSize, ex.ActualSize); // same length, other bytes
            Assert.Equal(job.FileChecksum, ex.ExpectedChecksum);
            Assert.NotEqual(job.FileChecksum, ex.ActualChecksum);
            Assert.False(File.Exists(path));
        }
    }

    [Fact]
    public async Task TokenExpiringBetweenPolls_Answered602_IsRenewed_AndThePollSucceeds()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.AppendAtAsync(now.AddMinutes(-5));
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress);
        var (client, http) = ClientFor(server, proxy.BaseUrl);
        using (http)
        using (client)
        {
            var created = await client.CreateExportAsync(new ExportActivityRequest
            {
                Filter = new ExportActivityFilter { CreatedAt = new DateRange(now.AddHours(-1), now) },
            });
            await client.EnqueueExportAsync(created.ExportId);
            var first = await client.GetAccessTokenAsync();

            server.Clock.Advance(TimeSpan.FromHours(2)); // the server's token (3600 s) has expired; the client does not know yet
            var polled = await WaitAsync(client, created.ExportId);

            Assert.Equal(ExportJobStatuses.Completed, polled.Status);
            var second = await client.GetAccessTokenAsync();
            Assert.NotEqual(first, second);
            Assert.Equal(2, proxy.Front.Count("/identity/oauth/token"));
            var tokens = proxy.Front.Tokens.ToList();
            Assert.Equal(first, tokens[0]);
            Assert.Equal(second, tokens[^1]);
        }
    }

    [Fact]
    public async Task ShortLivedTokens_DuringAnExtraction_AreRenewed_AndEveryWindowCompletes()
    {
        await using var server = await SpillwayTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Spillway:Limits:TokenLifetimeSeconds"] = "2",
        });
        var now = Now(server);
        await server.SeedAsync(300, daysBack: 6, seed: 9);
        await using var proxy = await FaultProxy.StartAsync(server.BaseAddress);
        var (client, http) = ClientFor(server, proxy.BaseUrl);
        using (http)
        using (client)
        {
            var plan = ExtractionPlanner.Plan(now.AddDays(-7), now.AddSeconds(1), TimeSpan.FromDays(3));
            var options = Extraction(_dir, inFlight: 1);
            options.PollInterval = TimeSpan.FromMilliseconds(900);
            var result = await new BulkExtractor(client, options).RunAsync(plan);

            Assert.Equal(3, result.Windows.Count);
            Assert.Equal(300, result.TotalRecords);
            Assert.True(proxy.Front.Count("/identity/oauth/token") >= 2, "the token was never renewed");
            Assert.True(proxy.Front.Tokens.Distinct().Count() >= 2);
        }
    }

    [Fact]
    public async Task QueueFull_RealAnswersWithMaxQueuedJobs1_AreWaitedOut_AndTheExtractionFinishes()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SetLimitsAsync(new { maxQueuedJobs = 1 });
        var now = Now(server);
        await server.SeedAsync(2000, daysBack: 8, seed: 11);
        var (client, http) = ClientFor(server);
        using (http)
        using (client)
        {
            var retries = new ConcurrentQueue<MarketoRetryEventArgs>();
            client.Retrying += (_, e) => retries.Enqueue(e);
            var plan = ExtractionPlanner.Plan(now.AddDays(-8), now.AddSeconds(1), TimeSpan.FromDays(2));
            Assert.True(plan.Count >= 4);

            var result = await new BulkExtractor(client, Extraction(_dir, inFlight: plan.Count)).RunAsync(plan);

            Assert.Equal(plan.Count, result.Windows.Count);
            Assert.Contains(retries, r => r.Reason == "1029" && r.Message.Contains("Too many jobs in queue", StringComparison.Ordinal));
            var guids = new List<string>();
            await foreach (var r in BulkExtractor.ReadRecordsAsync(result, deduplicate: false))
            {
                guids.Add(r.MarketoGuid);
            }

            Assert.Equal(await StoredGuidsAsync(server, plan[0].StartAt, plan[^1].EndAt), guids);
        }
    }

    [Fact]
    public async Task DailyQuota_Of1MB_StopsTheExtraction_WithATypedErrorThatSaysWhenItResets()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SetLimitsAsync(new { dailyExportQuotaMegabytes = 1 });
        var now = Now(server);
        await server.SeedAsync(12_000, daysBack: 4, seed: 13);
        var (client, http) = ClientFor(server);
        using (http)
        using (client)
        {
            var plan = ExtractionPlanner.Plan(now.AddDays(-4), now.AddSeconds(1), TimeSpan.FromDays(2));
            var ex = await Assert.ThrowsAsync<ExportQuotaExceededException>(
                () => new BulkExtractor(client, Extraction(_dir, inFlight: 1)).RunAsync(plan));

            Assert.Equal("1029", ex.Code);
            Assert.Matches(@"^Export daily quota \d+MB exceeded", ex.ApiMessage);
            Assert.Equal(1, ex.QuotaMegabytes);
            Assert.Equal(MarketoQuotaDay.NextReset(DateTimeOffset.UtcNow), ex.ResetsAt);
            Assert.Contains("resets at", ex.Message, StringComparison.Ordinal);

            // The first window (> 1 MB) finished and is in the state file; the quota stopped the next one.
            var state = await File.ReadAllTextAsync(Path.Combine(_dir, "spillway-export-state.json"));
            Assert.Contains("\"completed\": true", state, StringComparison.Ordinal);
            var done = Directory.GetFiles(_dir, "activities_*.csv");
            Assert.Single(done);
            Assert.True(new FileInfo(done[0]).Length > 1024 * 1024, "the first window did not use the 1 MB quota");

            // Create is refused too, straight through the client.
            await Assert.ThrowsAsync<ExportQuotaExceededException>(() => client.CreateExportAsync(new ExportActivityRequest
            {
                Filter = new ExportActivityFilter { CreatedAt = new DateRange(now.AddDays(-1), now) },
            }));
        }
    }

    [Fact]
    public async Task NinetyDays_SeveralWindows_GiveExactlyWhatTheStoreHolds_NothingMissingNothingTwice()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        var seeded = await server.SeedAsync(20_000, daysBack: 90, seed: 21);
        var since = now.AddDays(-90).AddHours(-1);
        var until = now.AddSeconds(1);
        var plan = ExtractionPlanner.Plan(since, until);
        Assert.Equal(3, plan.Count);

        // Activities on every window's first and last second (the inclusive bounds) and just outside the range.
        var boundaries = plan.SelectMany(w => new[] { w.StartAt, w.EndAt, w.EndAt.AddSeconds(-1) }).ToArray();
        var onBoundaries = await server.AppendAtAsync(boundaries);
        var outside = await server.AppendAtAsync(since.AddSeconds(-1), until.AddSeconds(1));

        var (client, http) = ClientFor(server);
        using (http)
        using (client)
        {
            var result = await new BulkExtractor(client, Extraction(_dir)).RunAsync(plan);
            var exported = new List<string>();
            await foreach (var r in BulkExtractor.ReadRecordsAsync(result, deduplicate: false))
            {
                exported.Add(r.MarketoGuid);
            }

            var stored = await StoredGuidsAsync(server, since, until.AddSeconds(-1));
            Assert.Equal(seeded + boundaries.Length, stored.Count);
            Assert.Equal(exported.Count, exported.Distinct().Count()); // nothing twice
            Assert.Equal(stored.ToHashSet(), exported.ToHashSet()); // nothing missing, nothing extra
            Assert.Equal(stored.Count, exported.Count);
            Assert.Equal(result.TotalRecords, exported.Count);
            Assert.Subset(exported.ToHashSet(), onBoundaries.ToHashSet());
            Assert.Empty(exported.Intersect(outside));

            // The same rows as one direct export of each window, straight from the server.
            using var direct = await server.AuthorizedClientAsync();
            foreach (var w in result.Windows)
            {
                var bytes = await direct.GetByteArrayAsync($"/bulk/v1/activities/export/{w.ExportId}/file.json");
                Assert.Equal(await File.ReadAllBytesAsync(w.FilePath), bytes);
            }
        }
    }
}
