using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Spillway.Client;
using Spillway.Contracts;
using static Spillway.Client.Tests.LoopbackServer;

namespace Spillway.Client.Tests;

public sealed class ClientTests : IAsyncLifetime
{
    private LoopbackServer _server = null!;
    private int _tokens;

    public async Task InitializeAsync() => _server = await StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Answers the token endpoint with t1, t2, ...; everything else goes to <paramref name="api"/>.</summary>
    private void Serve(Func<HttpContext, Task> api, int expiresIn = 3599) => _server.Handler = ctx =>
        ctx.Request.Path == "/identity/oauth/token"
            ? Token(ctx, "t" + Interlocked.Increment(ref _tokens), expiresIn)
            : api(ctx);

    private static string BearerOf(HttpContext ctx) => ctx.Request.Headers.Authorization.ToString()["Bearer ".Length..];

    [Fact]
    public async Task Token_IsCached_AndRenewedOn602_ThenTheCallIsRetriedOnce()
    {
        Serve(ctx => BearerOf(ctx) == "t1" ? Error(ctx, "602", "Access token expired") : Job(ctx, JobJson("j1", "Queued")));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            Assert.Equal("Queued", (await client.GetExportStatusAsync("j1")).Status);
            Assert.Equal("Queued", (await client.GetExportStatusAsync("j1")).Status);
        }

        Assert.Equal(2, _server.Count("/oauth/token"));
        Assert.Equal(["t1", "t2", "t2"], _server.Tokens);
        Assert.All(_server.Requests.Where(r => r.Contains("token", StringComparison.Ordinal)),
            r => Assert.Contains("grant_type=client_credentials&client_id=id&client_secret=secret", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Token_IsRenewedShortlyBeforeExpiry()
    {
        var clock = new MutableWallClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Serve(ctx => Job(ctx, JobJson("j1", "Queued")), expiresIn: 100);
        var (client, http) = TestClients.Create(_server.BaseUrl, o => o.TokenRenewBefore = TimeSpan.FromSeconds(60), clock);
        using (http)
        using (client)
        {
            await client.GetExportStatusAsync("j1");
            clock.Now += TimeSpan.FromSeconds(39);
            await client.GetExportStatusAsync("j1");
            Assert.Equal(1, _server.Count("/oauth/token"));
            clock.Now += TimeSpan.FromSeconds(2); // 41 s: inside the last 60 s of the 100 s token
            await client.GetExportStatusAsync("j1");
            Assert.Equal(2, _server.Count("/oauth/token"));
        }
    }

    [Fact]
    public async Task SameTokenWithLittleTimeLeft_IsUsedUntilExpiry_NotRefetchedOnEveryCall()
    {
        Serve(ctx => Job(ctx, JobJson("j1", "Queued")), expiresIn: 30); // Marketo returns the same token with its remaining life
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            for (var i = 0; i < 3; i++)
            {
                await client.GetExportStatusAsync("j1");
            }
        }

        Assert.Equal(1, _server.Count("/oauth/token"));
    }

    [Fact]
    public async Task InvalidTokenTwice_Throws601AfterOneRenewal()
    {
        Serve(ctx => Error(ctx, "601", "Access token invalid"));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<MarketoApiException>(() => client.GetExportStatusAsync("j1"));
            Assert.Equal("601", ex.Code);
            Assert.Equal("Access token invalid", ex.ApiMessage);
            Assert.Equal("a1#18c", ex.RequestId);
        }

        Assert.Equal(2, _server.Count("/status.json"));
    }

    [Theory]
    [InlineData("611", "System error")]
    [InlineData("604", "Request time-out")]
    [InlineData("608", "API Temporarily Unavailable")]
    [InlineData("606", "Max rate limit '100' exceeded with in '20' secs")]
    [InlineData("615", "Concurrent access limit '10' reached")]
    public async Task RetryableErrors_AreRetriedWithBackoff(string code, string message)
    {
        var calls = 0;
        Serve(ctx => Interlocked.Increment(ref calls) <= 2 ? Error(ctx, code, message) : Job(ctx, JobJson("j1", "Processing")));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        var retries = new List<MarketoRetryEventArgs>();
        client.Retrying += (_, e) => retries.Add(e);
        using (http)
        using (client)
        {
            Assert.Equal("Processing", (await client.GetExportStatusAsync("j1")).Status);
        }

        Assert.Equal(3, calls);
        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Equal(code, r.Reason));
        Assert.Equal([1, 2], retries.Select(r => r.Attempt));
    }

    [Theory]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task TransientHttpStatuses_AreRetried(HttpStatusCode status)
    {
        var calls = 0;
        Serve(ctx =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                ctx.Response.StatusCode = (int)status;
                return Task.CompletedTask;
            }

            return Job(ctx, JobJson("j1", "Queued"));
        });
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            Assert.Equal("Queued", (await client.GetExportStatusAsync("j1")).Status);
        }
    }

    [Fact]
    public async Task DroppedConnection_IsRetried()
    {
        var calls = 0;
        Serve(ctx =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                ctx.Abort();
                return Task.CompletedTask;
            }

            return Job(ctx, JobJson("j1", "Queued"));
        });
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            Assert.Equal("Queued", (await client.GetExportStatusAsync("j1")).Status);
        }
    }

    [Fact]
    public async Task PersistentTransientFailure_GivesUpAfterTheConfiguredRetries()
    {
        Serve(ctx => Error(ctx, "611", "System error"));
        var (client, http) = TestClients.Create(_server.BaseUrl, o => o.MaxTransientRetries = 3);
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<MarketoApiException>(() => client.GetExportStatusAsync("j1"));
            Assert.Equal("611", ex.Code);
        }

        Assert.Equal(4, _server.Count("/status.json"));
    }

    [Fact]
    public async Task DailyQuota_ThrowsTypedException_ThatSaysWhenItResets()
    {
        // 23:30 in Chicago on 2026-03-07 (CST, UTC-6): the quota resets at 2026-03-08T00:00-06:00.
        var clock = new FixedWallClock(new DateTimeOffset(2026, 3, 8, 5, 30, 0, TimeSpan.Zero));
        Serve(ctx => Error(ctx, "1029", "Export daily quota 500MB exceeded."));
        var (client, http) = TestClients.Create(_server.BaseUrl, time: clock);
        using (http)
        using (client)
        {
            var request = new ExportActivityRequest { Filter = new ExportActivityFilter { CreatedAt = new DateRange(clock.GetUtcNow(), clock.GetUtcNow()) } };
            var ex = await Assert.ThrowsAsync<ExportQuotaExceededException>(() => client.CreateExportAsync(request));
            Assert.Equal(new DateTimeOffset(2026, 3, 8, 6, 0, 0, TimeSpan.Zero), ex.ResetsAt.ToUniversalTime());
            Assert.Equal(TimeSpan.FromHours(-6), ex.ResetsAt.Offset);
            Assert.Equal(500, ex.QuotaMegabytes);
            Assert.Equal("1029", ex.Code);
            Assert.Contains("2026-03-08 06:00 UTC", ex.Message, StringComparison.Ordinal);

            await Assert.ThrowsAsync<ExportQuotaExceededException>(() => client.EnqueueExportAsync("j1"));
        }

        Assert.Equal(1, _server.Count("/create.json")); // not retried
    }

    [Fact]
    public void QuotaResets_AtNextChicagoMidnight_InWinterAndSummer()
    {
        Assert.Equal(new DateTimeOffset(2026, 1, 16, 6, 0, 0, TimeSpan.Zero),
            MarketoQuotaDay.NextReset(new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero)).ToUniversalTime());
        Assert.Equal(new DateTimeOffset(2026, 7, 2, 5, 0, 0, TimeSpan.Zero),
            MarketoQuotaDay.NextReset(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero)).ToUniversalTime());
        // 00:30 UTC on July 2 is still July 1 in Chicago (19:30 CDT).
        Assert.Equal(new DateTimeOffset(2026, 7, 2, 5, 0, 0, TimeSpan.Zero),
            MarketoQuotaDay.NextReset(new DateTimeOffset(2026, 7, 2, 0, 30, 0, TimeSpan.Zero)).ToUniversalTime());
        // Exactly at midnight the next reset is a day later; across the November change the offset switches to CST.
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 6, 0, 0, TimeSpan.Zero),
            MarketoQuotaDay.NextReset(new DateTimeOffset(2026, 11, 1, 5, 0, 0, TimeSpan.Zero)).ToUniversalTime());
    }

    [Fact]
    public async Task QueueFull_IsWaitedOut_ThenEnqueueSucceeds()
    {
        var calls = 0;
        Serve(ctx => Interlocked.Increment(ref calls) <= 2 ? Error(ctx, "1029", "Too many jobs in queue") : Job(ctx, JobJson("j1", "Queued")));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        var waits = 0;
        client.Retrying += (_, e) => waits += e.Reason == "1029" ? 1 : 0;
        using (http)
        using (client)
        {
            Assert.Equal("Queued", (await client.EnqueueExportAsync("j1")).Status);
        }

        Assert.Equal(2, waits);
    }

    [Fact]
    public async Task QueueFull_OnStatus_IsNotWaitedOut_AndTooManyWaitsThrow()
    {
        Serve(ctx => Error(ctx, "1029", "Too many jobs in queue"));
        var (client, http) = TestClients.Create(_server.BaseUrl, o => o.MaxQueueFullWaits = 2);
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<MarketoApiException>(() => client.EnqueueExportAsync("j1"));
            Assert.Equal("Too many jobs in queue", ex.ApiMessage);
        }

        Assert.Equal(3, _server.Count("/enqueue.json"));
    }

    [Fact]
    public async Task JobAlreadyQueued_OnEnqueue_ReturnsTheCurrentStatus()
    {
        Serve(ctx => ctx.Request.Path.Value!.EndsWith("enqueue.json", StringComparison.Ordinal)
            ? Error(ctx, "1029", "Job already queued")
            : Job(ctx, JobJson("j1", "Processing")));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            Assert.Equal("Processing", (await client.EnqueueExportAsync("j1")).Status);
        }
    }

    [Fact]
    public async Task OtherApiErrors_ThrowWithCodeAndMessage()
    {
        Serve(ctx => Error(ctx, "1003", "Invalid value specified for attribute 'filter': createdAt range exceeds 31 days"));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<MarketoApiException>(() => client.CreateExportAsync(new ExportActivityRequest()));
            Assert.Equal("1003", ex.Code);
            Assert.Contains("31 days", ex.ApiMessage, StringComparison.Ordinal);
            Assert.Contains("1003", ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, _server.Count("/create.json"));
    }

    [Fact]
    public async Task BadCredentials_ThrowTheOAuthError()
    {
        _server.Handler = ctx =>
        {
            ctx.Response.StatusCode = 401;
            return Json(ctx, """{"error":"invalid_client","error_description":"Bad client credentials"}""");
        };
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<MarketoApiException>(() => client.GetActivityTypesAsync());
            Assert.Equal("invalid_client", ex.Code);
            Assert.Equal("Bad client credentials", ex.ApiMessage);
            Assert.Equal(HttpStatusCode.Unauthorized, ex.HttpStatus);
        }
    }

    [Fact]
    public async Task Create_SendsJsonBody_WithSecondPrecisionUtcBounds()
    {
        string? body = null;
        string? contentType = null;
        Serve(async ctx =>
        {
            contentType = ctx.Request.ContentType;
            body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            await Job(ctx, JobJson("j9", "Created"));
        });
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            var window = ExtractionPlanner.Plan(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.FromHours(-6)), new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.FromHours(-6)))[0];
            var job = await client.CreateExportAsync(new ExportActivityRequest
            {
                Format = "TSV",
                Filter = new ExportActivityFilter { CreatedAt = window.ToDateRange(), ActivityTypeIds = [1, 12] },
            });
            Assert.Equal("j9", job.ExportId);
            Assert.Equal("Created", job.Status);
        }

        Assert.StartsWith("application/json", contentType, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(body!);
        Assert.Equal("TSV", doc.RootElement.GetProperty("format").GetString());
        var createdAt = doc.RootElement.GetProperty("filter").GetProperty("createdAt");
        Assert.Equal("2024-01-01T06:00:00Z", createdAt.GetProperty("startAt").GetString());
        Assert.Equal("2024-01-02T05:59:59Z", createdAt.GetProperty("endAt").GetString());
        Assert.Equal("POST /bulk/v1/activities/export/create.json", _server.Requests.Last());
    }

    [Fact]
    public async Task EndpointsAndPaths_MatchTheApi()
    {
        Serve(ctx => ctx.Request.Path.Value switch
        {
            "/rest/v1/activities/types.json" => Json(ctx, """{"requestId":"1#1","result":[{"id":1,"name":"Visit Webpage","primaryAttribute":{"name":"Webpage ID","dataType":"integer"},"attributes":[{"name":"Client IP Address","dataType":"string"}]},{"id":12,"name":"New Lead","attributes":[]}],"success":true}"""),
            _ => Job(ctx, JobJson("a b", ctx.Request.Path.Value!.Contains("cancel", StringComparison.Ordinal) ? "Cancelled" : "Queued")),
        });
        var (client, http) = TestClients.Create(new Uri(_server.BaseUrl, "rest"));
        using (http)
        using (client)
        {
            var types = await client.GetActivityTypesAsync();
            Assert.Equal(2, types.Count);
            Assert.Equal("Webpage ID", types[0].PrimaryAttribute!.Name);
            Assert.Null(types[1].PrimaryAttribute);
            await client.EnqueueExportAsync("a b");
            await client.GetExportStatusAsync("a b");
            Assert.Equal("Cancelled", (await client.CancelExportAsync("a b")).Status);
        }

        var requests = _server.Requests.Where(r => !r.Contains("oauth", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "GET /rest/v1/activities/types.json",
            "POST /bulk/v1/activities/export/a%20b/enqueue.json",
            "GET /bulk/v1/activities/export/a%20b/status.json",
            "POST /bulk/v1/activities/export/a%20b/cancel.json",
        ], requests);
    }

    [Fact]
    public async Task ListAll_FollowsNextPageToken_UntilItIsAbsent()
    {
        Serve(ctx => ctx.Request.Query["nextPageToken"].ToString() == "P2"
            ? Json(ctx, $$"""{"requestId":"1#1","result":[{{JobJson("c", "Failed", errorMsg: "boom")}}],"success":true}""")
            : Json(ctx, $$"""{"requestId":"1#1","result":[{{JobJson("a", "Completed", 10, "sha256:00", 1)}},{{JobJson("b", "Completed", 20, "sha256:11", 2)}}],"success":true,"nextPageToken":"P2"}"""));
        var (client, http) = TestClients.Create(_server.BaseUrl);
        var jobs = new List<ExportJob>();
        using (http)
        using (client)
        {
            await foreach (var job in client.ListAllExportsAsync([ExportJobStatuses.Completed, ExportJobStatuses.Failed], batchSize: 2))
            {
                jobs.Add(job);
            }
        }

        Assert.Equal(["a", "b", "c"], jobs.Select(j => j.ExportId));
        Assert.Equal(20, jobs[1].FileSize);
        Assert.Equal("boom", jobs[2].ErrorMsg);
        var lists = _server.Requests.Where(r => r.Contains("export.json", StringComparison.Ordinal)).ToList();
        Assert.Equal("GET /bulk/v1/activities/export.json?status=Completed%2CFailed&batchSize=2", lists[0]);
        Assert.Equal("GET /bulk/v1/activities/export.json?status=Completed%2CFailed&batchSize=2&nextPageToken=P2", lists[1]);
    }

    [Fact]
    public async Task Pacer_KeepsCallsUnderTheRateAndConcurrencyLimits()
    {
        Serve(async ctx =>
        {
            await Task.Delay(30);
            await Job(ctx, JobJson("j", "Queued"));
        });
        var (client, http) = TestClients.Create(_server.BaseUrl, o =>
        {
            o.MaxCallsPerWindow = 4;
            o.RateLimitWindow = TimeSpan.FromMilliseconds(250);
            o.MaxConcurrentCalls = 2;
        });
        using (http)
        using (client)
        {
            await client.GetAccessTokenAsync();
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 9).Select(_ => client.GetExportStatusAsync("j")));
            watch.Stop();
            // 9 calls at 4 per 250 ms: the 5th waits one window, the 9th two.
            Assert.True(watch.ElapsedMilliseconds >= 480, $"took {watch.ElapsedMilliseconds} ms");
        }

        Assert.True(_server.MaxConcurrent <= 2, $"{_server.MaxConcurrent} calls in flight");
    }

    [Fact]
    public void Options_BuildTheBaseUrl()
    {
        Assert.Equal(new Uri("https://123-ABC-456.mktorest.com/"), MarketoClientOptions.BaseUrlFromMunchkinId("123-ABC-456"));
        Assert.Throws<ArgumentException>(() => MarketoClientOptions.BaseUrlFromMunchkinId("evil.com/x"));
        var options = MarketoClientOptions.ForMunchkinId("123-ABC-456", "id", "secret");
        using var http = new HttpClient();
        using var client = new MarketoBulkClient(http, options);
        Assert.Equal(new Uri("https://123-ABC-456.mktorest.com/"), client.BaseUrl);

        options.BaseUrl = new Uri("https://123-ABC-456.mktorest.com/rest");
        using var rest = new MarketoBulkClient(http, options);
        Assert.Equal(new Uri("https://123-ABC-456.mktorest.com/"), rest.BaseUrl);

        options.BaseUrl = new Uri("http://spillway.internal:8080/tenant-a");
        using var sub = new MarketoBulkClient(http, options);
        Assert.Equal(new Uri("http://spillway.internal:8080/tenant-a/"), sub.BaseUrl);

        Assert.Throws<InvalidOperationException>(() => new MarketoBulkClient(http, new MarketoClientOptions { BaseUrl = new Uri("http://x/") }));
    }
}

internal sealed class MutableWallClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
