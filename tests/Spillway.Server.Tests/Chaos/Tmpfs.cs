using System.Diagnostics;

namespace Spillway.Server.Tests.Chaos;

/// <summary>
/// A small tmpfs mounted on a new temporary folder, so a test can fill a disk for real (ENOSPC). Mounting needs root,
/// which the test command has here and in CI; a machine where it fails fails the test, it does not skip it.
/// </summary>
public sealed class Tmpfs : IDisposable
{
    private Tmpfs(string path) => Path = path;

    public string Path { get; }

    public static Tmpfs Mount(int kilobytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "spillway-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k,mode=0777", "tmpfs", path);
        return new Tmpfs(path);
    }

    /// <summary>Gives the file system more room (tmpfs resizes in place, keeping its files).</summary>
    public void Resize(int kilobytes) => Run("mount", "-o", $"remount,size={kilobytes}k", Path);

    /// <summary>Every file under the mount, relative paths.</summary>
    public IReadOnlyList<string> Files() =>
        [.. Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(Path, f)).Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        try
        {
            Run("umount", "-l", Path);
            Directory.Delete(Path, recursive: true);
        }
        catch (InvalidOperationException)
        {
            // Best effort: a mount left behind is cleaned at the next boot.
        }
        catch (IOException)
        {
        }
    }

    private static void Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Trim()}");
        }
    }
}
