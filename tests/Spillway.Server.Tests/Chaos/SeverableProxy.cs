using System.Net;
using System.Net.Sockets;

namespace Spillway.Server.Tests.Chaos;

/// <summary>
/// A TCP proxy on loopback between a server node and its database, which a test can sever (every connection
/// reset, new ones refused) and heal (accepting again on the same port): a network partition of one node.
/// </summary>
public sealed class SeverableProxy : IAsyncDisposable
{
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly List<TcpClient> _open = [];
    private readonly Lock _lock = new();
    private TcpListener? _listener;
    private CancellationTokenSource _cts = new();

    public SeverableProxy(string upstreamHost, int upstreamPort)
    {
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        Port = Infrastructure.ServerProcess.FreePort();
        Listen();
    }

    public int Port { get; }

    public bool Severed { get; private set; }

    public void Sever()
    {
        lock (_lock)
        {
            Severed = true;
            _cts.Cancel();
            _listener?.Stop();
            _listener = null;
            foreach (var client in _open)
            {
                try
                {
                    if (client.Client is { } socket)
                    {
                        socket.LingerState = new LingerOption(true, 0); // RST, as a dropped route ends up
                    }
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                }

                client.Dispose();
            }

            _open.Clear();
        }
    }

    public void Heal()
    {
        lock (_lock)
        {
            Severed = false;
            _cts = new CancellationTokenSource();
            Listen();
        }
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        var token = _cts.Token;
        _ = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                TcpClient downstream;
                try
                {
                    downstream = await listener.AcceptTcpClientAsync(token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => PipeAsync(downstream, token), CancellationToken.None);
            }
        }, CancellationToken.None);
    }

    private async Task PipeAsync(TcpClient downstream, CancellationToken token)
    {
        var upstream = new TcpClient();
        lock (_lock)
        {
            if (token.IsCancellationRequested)
            {
                downstream.Dispose();
                upstream.Dispose();
                return;
            }

            _open.Add(downstream);
            _open.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, token);
            var a = downstream.GetStream().CopyToAsync(upstream.GetStream(), token);
            var b = upstream.GetStream().CopyToAsync(downstream.GetStream(), token);
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            downstream.Dispose();
            upstream.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Sever();
        return ValueTask.CompletedTask;
    }
}
