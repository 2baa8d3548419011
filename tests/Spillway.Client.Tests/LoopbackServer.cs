using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Spillway.Client.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 with a random port, whose behaviour each test scripts.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _inFlight;

    private LoopbackServer(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public Func<HttpContext, Task> Handler { get; set; } = ctx =>
    {
        ctx.Response.StatusCode = 404;
        return Task.CompletedTask;
    };

    /// <summary>Every request as "METHOD /path?query".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The bearer token of every request that had one.</summary>
    public ConcurrentQueue<string> Tokens { get; } = new();

    /// <summary>The Range header of every request to a file endpoint (empty when none).</summary>
    public ConcurrentQueue<string> Ranges { get; } = new();

    public int MaxConcurrent;

    public static async Task<LoopbackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        LoopbackServer? server = null;
        app.Run(async ctx =>
        {
            var now = Interlocked.Increment(ref server!._inFlight);
            InterlockedMax(ref server.MaxConcurrent, now);
            try
            {
                server.Requests.Enqueue($"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}");
                var auth = ctx.Request.Headers.Authorization.ToString();
                if (auth.StartsWith("Bearer ", StringComparison.Ordinal))
                {
                    server.Tokens.Enqueue(auth["Bearer ".Length..]);
                }

                if (ctx.Request.Path.Value!.EndsWith("/file.json", StringComparison.Ordinal))
                {
                    server.Ranges.Enqueue(ctx.Request.Headers.Range.ToString());
                }

                await server.Handler(ctx);
            }
            finally
            {
                Interlocked.Decrement(ref server._inFlight);
            }
        });
        await app.StartAsync();
        server = new LoopbackServer(app, new Uri(app.Urls.First() + "/"));
        return server;
    }

    public int Count(string pathSuffix) => Requests.Count(r => r.Split('?')[0].EndsWith(pathSuffix, StringComparison.Ordinal));

    public static Task Json(HttpContext ctx, string json)
    {
        ctx.Response.ContentType = "application/json;charset=UTF-8";
        return ctx.Response.WriteAsync(json);
    }

    public static Task Error(HttpContext ctx, string code, string message) =>
        Json(ctx, $$"""{"requestId":"a1#18c","success":false,"errors":[{"code":"{{code}}","message":"{{message}}"}]}""");

    public static Task Token(HttpContext ctx, string token, int expiresIn = 3599) =>
        Json(ctx, $$"""{"access_token":"{{token}}","token_type":"bearer","expires_in":{{expiresIn}},"scope":"api@example.com"}""");

    public static string JobJson(string id, string status, long? size = null, string? checksum = null, long? records = null, string? errorMsg = null)
    {
        var sb = new StringBuilder($$"""{"exportId":"{{id}}","format":"CSV","status":"{{status}}","createdAt":"2024-01-01T00:00:00Z" """.TrimEnd());
        if (size is not null)
        {
            sb.Append($$""","numberOfRecords":{{records ?? 0}},"fileSize":{{size}},"fileChecksum":"{{checksum}}" """.TrimEnd());
        }

        if (errorMsg is not null)
        {
            sb.Append($$""","errorMsg":"{{errorMsg}}" """.TrimEnd());
        }

        return sb.Append('}').ToString();
    }

    public static Task Job(HttpContext ctx, string jobJson) => Json(ctx, $$"""{"requestId":"b2#18c","result":[{{jobJson}}],"success":true}""");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

internal static class TestClients
{
    public static MarketoClientOptions FastOptions(Uri baseUrl) => new()
    {
        BaseUrl = baseUrl,
        ClientId = "id",
        ClientSecret = "secret",
        InitialRetryDelay = TimeSpan.FromMilliseconds(5),
        MaxRetryDelay = TimeSpan.FromMilliseconds(40),
        RateLimitDelay = TimeSpan.FromMilliseconds(10),
        QueueFullDelay = TimeSpan.FromMilliseconds(20),
        DownloadStallTimeout = TimeSpan.FromSeconds(3),
    };

    public static (MarketoBulkClient Client, HttpClient Http) Create(Uri baseUrl, Action<MarketoClientOptions>? configure = null, TimeProvider? time = null)
    {
        var options = FastOptions(baseUrl);
        configure?.Invoke(options);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return (new MarketoBulkClient(http, options, time), http);
    }
}

/// <summary>A clock whose wall time is fixed (timers and timestamps stay real).</summary>
internal sealed class FixedWallClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
