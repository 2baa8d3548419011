using System.Collections.Concurrent;
using System.Net.Sockets;
using Spillway.Client;

namespace Spillway.Client.Tests;

/// <summary>
/// The extractor's adaptive poll: a loopback server is polled at <see cref="BulkExtractionOptions.LoopbackPollInterval"/>,
/// any other host at <see cref="BulkExtractionOptions.RemotePollInterval"/> (Marketo's cadence by default), and a set
/// <see cref="BulkExtractionOptions.PollInterval"/> wins for both. The pauses are read off the extractor's clock.
/// </summary>
public sealed class PollPolicyTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Since = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-poll-" + Guid.NewGuid().ToString("N"));
    private readonly MiniMarketo _marketo = new();
    private LoopbackServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackServer.StartAsync();
        _server.Handler = _marketo.Handle;
        _marketo.Activities.Add(new MiniMarketo.Activity("1001", 1, Since.AddHours(5), 1, null));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Defaults_AreShortForLoopback_AndMarketosCadenceElsewhere()
    {
        var options = new BulkExtractionOptions();
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.PollIntervalFor(new Uri("http://127.0.0.1:5171")));
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.PollIntervalFor(new Uri("http://localhost:5171")));
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.PollIntervalFor(new Uri("http://[::1]:5171")));
        Assert.Equal(TimeSpan.FromSeconds(30), options.PollIntervalFor(new Uri("https://123-ABC-456.mktorest.com")));
        Assert.Equal(TimeSpan.FromSeconds(30), options.PollIntervalFor(new Uri("http://10.0.0.5:5171")));
        Assert.Equal(TimeSpan.FromSeconds(30), options.PollInterval);

        options.PollInterval = TimeSpan.FromSeconds(7);
        Assert.Equal(TimeSpan.FromSeconds(7), options.PollIntervalFor(new Uri("http://127.0.0.1:5171")));
        Assert.Equal(TimeSpan.FromSeconds(7), options.PollIntervalFor(new Uri("https://123-ABC-456.mktorest.com")));
    }

    [Fact]
    public void A_negative_interval_is_refused()
    {
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            Assert.Throws<ArgumentException>(() => new BulkExtractor(client, new BulkExtractionOptions { LoopbackPollInterval = TimeSpan.FromSeconds(-1) }));
            Assert.Throws<ArgumentException>(() => new BulkExtractor(client, new BulkExtractionOptions { RemotePollInterval = TimeSpan.FromSeconds(-1) }));
        }
    }

    [Fact]
    public async Task A_loopback_server_is_polled_at_the_loopback_interval()
    {
        var pauses = await RunAsync(_server.BaseUrl, new BulkExtractionOptions { OutputDirectory = _dir, LoopbackPollInterval = TimeSpan.FromMilliseconds(20) });
        Assert.NotEmpty(pauses);
        Assert.All(pauses, p => Assert.Equal(TimeSpan.FromMilliseconds(20), p));
    }

    [Fact]
    public async Task A_remote_host_is_polled_at_the_remote_interval_and_a_set_interval_wins()
    {
        // A host name that is not loopback, connected to the loopback server underneath.
        var remote = new Uri($"http://marketo.example:{_server.BaseUrl.Port}/");
        var pauses = await RunAsync(remote, new BulkExtractionOptions { OutputDirectory = _dir, RemotePollInterval = TimeSpan.FromMilliseconds(30) });
        Assert.NotEmpty(pauses);
        Assert.All(pauses, p => Assert.Equal(TimeSpan.FromMilliseconds(30), p));

        Directory.Delete(_dir, recursive: true);
        pauses = await RunAsync(remote, new BulkExtractionOptions { OutputDirectory = _dir, RemotePollInterval = TimeSpan.FromHours(1), PollInterval = TimeSpan.FromMilliseconds(15) });
        Assert.NotEmpty(pauses);
        Assert.All(pauses, p => Assert.Equal(TimeSpan.FromMilliseconds(15), p));
    }

    private async Task<List<TimeSpan>> RunAsync(Uri baseUrl, BulkExtractionOptions options)
    {
        var loopback = _server.BaseUrl;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(loopback.Host, loopback.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using var client = new MarketoBulkClient(http, TestClients.FastOptions(baseUrl));
        var clock = new RecordingClock();
        var result = await new BulkExtractor(client, options, clock).RunAsync(ExtractionPlanner.Plan(Since, Since.AddDays(1)));
        Assert.Equal(1, result.TotalRecords);
        return [.. clock.Pauses];
    }

    /// <summary>The system clock, noting every pause asked of it.</summary>
    private sealed class RecordingClock : TimeProvider
    {
        public ConcurrentQueue<TimeSpan> Pauses { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Pauses.Enqueue(dueTime);
            return System.CreateTimer(callback, state, dueTime, period);
        }
    }
}
