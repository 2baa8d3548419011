using System.Globalization;
using System.Net.Sockets;

namespace Spillway.Cli.Commands;

/// <summary>The exit codes of every command (docs/cli.md lists them).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Quota = 3;
    public const int Environment = 4;

    /// <summary>Some input data was refused: a file that cannot be read, or bad records in it (the rest is loaded).</summary>
    public const int BadData = 5;
    public const int Interrupted = 130;
}

/// <summary>An expected failure: one line for the user and the exit code it maps to.</summary>
internal sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Turns an exception that escaped a command into one line on stderr and an exit code; the stack trace is printed only
/// with --verbose, because a user who hit an expected failure needs what happened and what to do, not the frames.
/// </summary>
internal static class ErrorReport
{
    public static (int Code, string Line) Classify(Exception ex, string? dataFolder)
    {
        var root = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerException! : ex;
        var folder = dataFolder ?? "the data folder";
        var type = root.GetType().FullName ?? "";
        var all = Chain(root);
        return root switch
        {
            CliException cli => (cli.ExitCode, cli.Message),
            OperationCanceledException => (ExitCodes.Interrupted, "Interrupted."),
            HttpRequestException or SocketException =>
                (ExitCodes.Environment, $"The server does not answer ({root.Message}). Start it, or check --url / SPILLWAY_URL."),
            _ when all.Any(m => m.Contains("lock", StringComparison.OrdinalIgnoreCase) || m.Contains("busy", StringComparison.OrdinalIgnoreCase)
                                  || m.Contains("in use", StringComparison.OrdinalIgnoreCase)) =>
                (ExitCodes.Environment, $"The store in {folder} is in use (is `spillway serve` running on it?). Stop the server first, " +
                                        "or use the running server's admin API (/_spillway/admin)."),
            _ when type.StartsWith("Npgsql", StringComparison.Ordinal) =>
                (ExitCodes.Environment, $"PostgreSQL is unreachable or refused the login ({root.Message}). Check --postgres."),
            UnauthorizedAccessException or DirectoryNotFoundException or FileNotFoundException =>
                (ExitCodes.Environment, $"{root.Message} Check the path and its permissions."),
            _ => (ExitCodes.Failure, $"{root.Message} (run again with --verbose for details)"),
        };
    }

    private static List<string> Chain(Exception ex)
    {
        var messages = new List<string>();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }

        return messages;
    }

    /// <summary>Writes the line (and with verbose, the exception) to stderr; returns the exit code.</summary>
    public static int Write(Exception ex, bool verbose, string? dataFolder, TextWriter error)
    {
        var (code, line) = Classify(ex, dataFolder);
        error.WriteLine($"spillway: {line}");
        if (verbose)
        {
            error.WriteLine(ex.ToString());
        }

        return code;
    }
}

/// <summary>
/// The one duration syntax of every option that takes a span: a number and a unit, s (seconds), m (minutes), h (hours),
/// d (days) or w (weeks), e.g. 90s, 15m, 2h, 1.5d, 2w; negative where the option allows it.
/// </summary>
internal static class Durations
{
    public static bool TryParse(string? text, out TimeSpan span)
    {
        span = default;
        var value = text?.Trim() ?? "";
        if (value.Length < 2)
        {
            return false;
        }

        double? factor = char.ToLowerInvariant(value[^1]) switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => null,
        };
        if (factor is not { } f
            || !double.TryParse(value[..^1], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || !double.IsFinite(amount) || Math.Abs(amount * f) > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            return false;
        }

        span = TimeSpan.FromSeconds(amount * f);
        return true;
    }
}
