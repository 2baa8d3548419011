using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Spillway.Server.Tests.Infrastructure;

/// <summary>
/// The server as a separate OS process (the built Spillway.Server next to the tests), for what an in-process server
/// cannot show: <c>kill -9</c> in the middle of work, restarts, and several nodes.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<ServerProcess> StartAsync(IDictionary<string, string?> settings, int? port = null)
    {
        port ??= FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Spillway.Server.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(info)!;
        // Drain the pipes so the server never blocks on a full console buffer.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, $"The server process exited with {(process.HasExited ? process.ExitCode : 0)} while starting.");
            try
            {
                if ((await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "The server process did not become healthy within 60 s.");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Starts the server and waits for it to exit on its own (a start that must fail); returns the exit code and what it
    /// wrote to stderr and stdout. Fails the test if it is still running after 60 s.
    /// </summary>
    public static async Task<(int ExitCode, string Error, string Output)> RunToExitAsync(IEnumerable<string> arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Spillway.Server.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The server was expected to refuse to start, but it was still running after 60 s.");
        }

        return (process.ExitCode, await error, await output);
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like <c>kill -9</c>.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the process freezes where it is (threads, timers, sockets), as a VM pause or a long GC would.</summary>
    public void Pause() => Signal("-STOP");

    /// <summary>SIGCONT: the paused process runs on from where it stopped, unaware of the time that passed.</summary>
    public void Resume() => Signal("-CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
