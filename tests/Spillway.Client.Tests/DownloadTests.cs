using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Spillway.Client;
using static Spillway.Client.Tests.LoopbackServer;

namespace Spillway.Client.Tests;

public sealed class DownloadTests : IAsyncLifetime
{
    private readonly byte[] _file;
    private readonly string _checksum;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-dl-" + Guid.NewGuid().ToString("N"));
    private LoopbackServer _server = null!;
    private int _fileCalls;

    public DownloadTests()
    {
        _file = new byte[300_000];
        new Random(42).NextBytes(_file);
        _checksum = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(_file));
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _server = await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private string Destination => Path.Combine(_dir, "out", "window.csv");

    /// <summary>Serves the token and the file; <paramref name="file"/> gets the call number (from 1).</summary>
    private void Serve(Func<HttpContext, int, Task> file) => _server.Handler = ctx =>
        ctx.Request.Path == "/identity/oauth/token"
            ? Token(ctx, "t" + _server.Count("/oauth/token"))
            : file(ctx, Interlocked.Increment(ref _fileCalls));

    /// <summary>Serves the file as Spillway does: 200 without Range, 206 for <c>bytes=N-</c>.</summary>
    private async Task ServeFile(HttpContext ctx, byte[] data, int? cutAfter = null, bool honourRange = true)
    {
        ctx.Response.ContentType = "text/csv;charset=UTF-8";
        ctx.Response.Headers.AcceptRanges = "bytes";
        var from = 0;
        var range = ctx.Request.Headers.Range.ToString();
        if (honourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = int.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers[HeaderNames.ContentRange] = $"bytes {from}-{data.Length - 1}/{data.Length}";
        }

        ctx.Response.ContentLength = data.Length - from;
        var end = cutAfter is { } cut ? Math.Min(data.Length, from + cut) : data.Length;
        await ctx.Response.Body.WriteAsync(data.AsMemory(from, end - from));
        if (cutAfter is not null)
        {
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(20);
            ctx.Abort(); // the connection drops mid-file
        }
    }

    private (MarketoBulkClient Client, HttpClient Http) Client(Action<MarketoClientOptions>? configure = null) =>
        TestClients.Create(_server.BaseUrl, configure);

    private void AssertNoLeftovers()
    {
        Assert.False(File.Exists(Destination + ".part"));
    }

    [Fact]
    public async Task ConnectionCutMidFile_IsResumedWithRange_AndTheFileIsIdentical()
    {
        Serve((ctx, n) => n == 1 ? ServeFile(ctx, _file, cutAfter: 100_000) : ServeFile(ctx, _file));
        var (client, http) = Client();
        var reported = new List<long>();
        using (http)
        using (client)
        {
            var result = await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum, InlineProgress.Create(reported.Add));
            Assert.Equal(_file.Length, result.Size);
            Assert.Equal(_checksum, result.Checksum);
            Assert.Equal(Path.GetFullPath(Destination), result.Path);
        }

        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
        var ranges = _server.Ranges.ToList();
        Assert.Equal(2, ranges.Count);
        Assert.Equal("", ranges[0]);
        var resumedAt = long.Parse(ranges[1]["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, 100_000);
        Assert.Equal(_file.Length, reported[^1]);
        AssertNoLeftovers();
    }

    [Fact]
    public async Task SeveralCuts_AreAllResumed()
    {
        Serve((ctx, n) => n <= 4 ? ServeFile(ctx, _file, cutAfter: 60_000) : ServeFile(ctx, _file));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
        Assert.Equal(5, _server.Ranges.Count);
    }

    [Fact]
    public async Task ServerIgnoringRange_Answers200_AndTheDownloadRestartsFromZero()
    {
        Serve((ctx, n) => n == 1 ? ServeFile(ctx, _file, cutAfter: 100_000) : ServeFile(ctx, _file, honourRange: false));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
        Assert.StartsWith("bytes=", _server.Ranges.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StalledConnection_IsTreatedAsDropped_AndResumed()
    {
        Serve(async (ctx, n) =>
        {
            if (n == 1)
            {
                ctx.Response.ContentLength = _file.Length;
                await ctx.Response.Body.WriteAsync(_file.AsMemory(0, 50_000));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(TimeSpan.FromSeconds(5), ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            await ServeFile(ctx, _file);
        });
        var (client, http) = Client(o => o.DownloadStallTimeout = TimeSpan.FromMilliseconds(200));
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
        Assert.Equal(2, _server.Ranges.Count);
    }

    [Fact]
    public async Task ChecksumMismatch_Throws_AndKeepsNothing()
    {
        var corrupt = (byte[])_file.Clone();
        corrupt[12345] ^= 0xFF;
        Serve((ctx, _) => ServeFile(ctx, corrupt));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<ExportFileVerificationException>(() =>
                client.DownloadFileAsync("e1", Destination, _file.Length, _checksum));
            Assert.Equal("e1", ex.ExportId);
            Assert.Equal(_checksum, ex.ExpectedChecksum);
            Assert.NotEqual(_checksum, ex.ActualChecksum);
            Assert.Equal(_file.Length, ex.ActualSize);
        }

        Assert.False(File.Exists(Destination));
        AssertNoLeftovers();
    }

    [Fact]
    public async Task LongerFileThanAnnounced_Throws()
    {
        var longer = _file.Concat(new byte[] { 1, 2, 3 }).ToArray();
        Serve((ctx, _) => ServeFile(ctx, longer));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<ExportFileVerificationException>(() =>
                client.DownloadFileAsync("e1", Destination, _file.Length, _checksum));
            Assert.True(ex.ActualSize > _file.Length);
        }

        Assert.False(File.Exists(Destination));
    }

    [Fact]
    public async Task MissingFile_ThrowsNotAvailable()
    {
        Serve((ctx, _) =>
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "text/plain";
            return ctx.Response.WriteAsync("Not found");
        });
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await Assert.ThrowsAsync<ExportFileNotAvailableException>(() => client.DownloadFileAsync("e1", Destination, _file.Length, _checksum));
        }

        AssertNoLeftovers();
    }

    [Fact]
    public async Task PartialFileFromAnEarlierRun_IsResumed()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
        await File.WriteAllBytesAsync(Destination + ".part", _file.AsMemory(0, 1000).ToArray());
        Serve((ctx, _) => ServeFile(ctx, _file));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(["bytes=1000-"], _server.Ranges);
        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
    }

    [Fact]
    public async Task StalePartialFile_FailsVerification_ThenTheWholeFileIsFetchedOnce()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
        await File.WriteAllBytesAsync(Destination + ".part", new byte[1000]);
        Serve((ctx, _) => ServeFile(ctx, _file));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(["bytes=1000-", ""], _server.Ranges);
        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
    }

    [Fact]
    public async Task ExpiredToken_OnTheFileEndpoint_IsRenewed()
    {
        Serve((ctx, n) => n == 1 ? Error(ctx, "602", "Access token expired") : ServeFile(ctx, _file));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        Assert.Equal(2, _server.Count("/oauth/token"));
        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
    }

    [Fact]
    public async Task ExpiredToken_WhileResuming_KeepsTheBytesAlreadyReceived()
    {
        Serve((ctx, n) => n switch
        {
            1 => ServeFile(ctx, _file, cutAfter: 100_000),
            2 => Error(ctx, "602", "Access token expired"),
            _ => ServeFile(ctx, _file),
        });
        var (client, http) = Client();
        using (http)
        using (client)
        {
            await client.DownloadFileAsync("e1", Destination, _file.Length, _checksum);
        }

        var ranges = _server.Ranges.ToList();
        Assert.Equal(3, ranges.Count);
        Assert.StartsWith("bytes=", ranges[1], StringComparison.Ordinal);
        Assert.Equal(ranges[1], ranges[2]);
        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
    }

    [Fact]
    public async Task ExistingDestination_IsReplaced_AndJobOverloadNeedsSizeAndChecksum()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
        await File.WriteAllTextAsync(Destination, "old");
        Serve((ctx, _) => ServeFile(ctx, _file));
        var (client, http) = Client();
        using (http)
        using (client)
        {
            var job = new Spillway.Contracts.ExportJob { ExportId = "e1", Status = "Completed", FileSize = _file.Length, FileChecksum = _checksum };
            await client.DownloadFileAsync(job, Destination);
            Assert.Throws<ArgumentException>(() => { _ = client.DownloadFileAsync(new Spillway.Contracts.ExportJob { ExportId = "e2", Status = "Queued" }, Destination); });
            await Assert.ThrowsAsync<ArgumentException>(() => client.DownloadFileAsync("e1", Destination, 1, "md5:00"));
        }

        Assert.Equal(_file, await File.ReadAllBytesAsync(Destination));
    }
}

/// <summary>Calls the handler synchronously, in order.</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}

internal static class InlineProgress
{
    public static InlineProgress<long> Create(Action<long> handler) => new(handler);
}
