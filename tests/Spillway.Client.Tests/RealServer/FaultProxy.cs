using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Spillway.Client.Tests.RealServer;

/// <summary>
/// A loopback HTTP proxy in front of a real Spillway server: forwards every request as it is and streams the answer
/// back, except that it can cut a file download after some bytes (the connection is reset mid-body) or flip a byte of
/// the file on its way. It records every request, bearer token and Range header (through <see cref="LoopbackServer"/>).
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host",
    };

    private readonly LoopbackServer _front;
    private readonly HttpClient _back;
    private readonly Uri _target;
    private int _cutsLeft;
    private int _fileResponses;
    private int _cutsDone;

    private FaultProxy(LoopbackServer front, Uri target)
    {
        _front = front;
        _target = target;
        _back = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None, UseCookies = false })
        {
            Timeout = TimeSpan.FromMinutes(2),
        };
        _front.Handler = ForwardAsync;
    }

    public Uri BaseUrl => _front.BaseUrl;

    /// <summary>Every request as "METHOD /path?query", bearer tokens and file Range headers.</summary>
    public LoopbackServer Front => _front;

    /// <summary>The next <see cref="CutFiles"/> file answers are reset after this many bytes of the file (absolute offset).</summary>
    public long CutAt { get; set; }

    /// <summary>How many file answers to cut.</summary>
    public int CutFiles { get => Volatile.Read(ref _cutsLeft); set => Volatile.Write(ref _cutsLeft, value); }

    /// <summary>When set, the byte at this absolute file offset is inverted in every file answer.</summary>
    public long? FlipByteAt { get; set; }

    public int FileResponses => Volatile.Read(ref _fileResponses);

    public int CutsDone => Volatile.Read(ref _cutsDone);

    public static async Task<FaultProxy> StartAsync(Uri target) => new(await LoopbackServer.StartAsync(), target);

    private async Task ForwardAsync(HttpContext ctx)
    {
        using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), new Uri(_target, ctx.Request.Path + ctx.Request.QueryString));
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
        if (body.Length > 0 || ctx.Request.ContentType is not null)
        {
            request.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, values) in ctx.Request.Headers)
        {
            if (HopByHop.Contains(name) || string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await _back.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted);
        ctx.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                ctx.Response.Headers[name] = values.ToArray();
            }
        }

        var isFile = ctx.Request.Path.Value!.EndsWith("/file.json", StringComparison.Ordinal) && ctx.Response.StatusCode is 200 or 206;
        long offset = 0; // the absolute file offset of the next byte
        if (isFile)
        {
            Interlocked.Increment(ref _fileResponses);
            if (response.Content.Headers.ContentRange is { From: { } from })
            {
                offset = from;
            }
        }

        var cut = isFile && Interlocked.Decrement(ref _cutsLeft) >= 0;
        await using var stream = await response.Content.ReadAsStreamAsync(ctx.RequestAborted);
        var buffer = new byte[8192];
        int n;
        while ((n = await stream.ReadAsync(buffer, ctx.RequestAborted)) > 0)
        {
            if (isFile && FlipByteAt is { } flip && flip >= offset && flip < offset + n)
            {
                buffer[flip - offset] ^= 0xFF;
            }

            if (cut && offset + n >= CutAt)
            {
                var keep = (int)Math.Max(0, CutAt - offset);
                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, keep), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                Interlocked.Increment(ref _cutsDone);
                await Task.Delay(50, CancellationToken.None); // let the bytes leave before the reset
                ctx.Abort();
                return;
            }

            await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
            offset += n;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _back.Dispose();
        await _front.DisposeAsync();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"proxy {BaseUrl} -> {_target}");
}
