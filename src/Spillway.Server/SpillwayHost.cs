using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;

namespace Spillway.Server;

/// <summary>
/// Runs the server to its end and turns a failed start into one line and an exit code (see <see cref="ServerExitCodes"/>),
/// so an operator reads what happened and what to do instead of a stack trace. <c>--verbose</c> (or
/// <c>Logging:LogLevel:Default</c> at Debug or Trace) adds the stack trace.
/// </summary>
public static class SpillwayHost
{
    /// <summary>Builds, initialises and runs the server; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var verbose = args.Contains("--verbose", StringComparer.Ordinal) || IsDebug(args);
        var rest = args.Where(a => a != "--verbose").ToList();
        if (!verbose)
        {
            // The host logs a failed start with its stack trace; the one line below says it instead.
            rest.Add("--Logging:LogLevel:Microsoft.Extensions.Hosting=None");
            rest.Add("--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=None");
        }

        WebApplication? app = null;
        try
        {
            app = SpillwayApp.Build([.. rest]);
            await SpillwayApp.InitializeAsync(app, ct);
            await app.RunAsync(ct);
            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception ex)
        {
            var (code, message) = Classify(ex);
            await error.WriteLineAsync($"Spillway cannot start: {message}");
            if (verbose)
            {
                await error.WriteLineAsync(ex.ToString());
            }

            return code;
        }
        finally
        {
            if (app is not null)
            {
                try
                {
                    await app.DisposeAsync();
                }
                catch (Exception) when (!verbose)
                {
                    // Disposing a half-built host can fail again for the same cause; the first failure is the one reported.
                }
            }
        }
    }

    /// <summary>The exit code and the one sentence for a start-up failure.</summary>
    public static (int ExitCode, string Message) Classify(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        foreach (var e in Chain(ex))
        {
            switch (e)
            {
                case StartupFailureException failure:
                    return (failure.ExitCode, failure.Message);
                case OptionsValidationException options:
                    return (ServerExitCodes.Configuration, $"{OneLine(options.Message)} Fix the setting and start again.");
                case AddressInUseException:
                    return (ServerExitCodes.Environment,
                        $"{OneLine(e.Message)} Stop the other program on that port, or choose another with --urls.");
                case Npgsql.PostgresException { SqlState: "28P01" or "28000" }:
                    return (ServerExitCodes.Environment,
                        "PostgreSQL refused the user name or password; check Spillway:ConnectionString.");
                case Npgsql.PostgresException { SqlState: "3D000" }:
                    return (ServerExitCodes.Environment,
                        "The PostgreSQL database does not exist; create it or fix the Database in Spillway:ConnectionString.");
                case Npgsql.NpgsqlException:
                    return (ServerExitCodes.Environment,
                        $"PostgreSQL cannot be reached ({OneLine(e.Message)}); start it or fix Host and Port in Spillway:ConnectionString.");
                case InvalidOperationException when e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                    return (ServerExitCodes.Configuration, $"{OneLine(e.Message)} Fix the setting and start again.");
                case FormatException when e.StackTrace?.Contains("CommandLineConfigurationProvider", StringComparison.Ordinal) == true:
                    return (ServerExitCodes.Configuration, $"{OneLine(e.Message)} Arguments take the form --Section:Key=value.");
            }
        }

        return (ServerExitCodes.Failure, $"{OneLine(ex.Message)} Run again with --verbose for the details.");
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        return line.EndsWith('.') ? line : line + ".";
    }

    private static bool IsDebug(IEnumerable<string> args) => args.Any(a =>
        a.StartsWith("--Logging:LogLevel:Default=", StringComparison.OrdinalIgnoreCase)
        && (a.EndsWith("=Debug", StringComparison.OrdinalIgnoreCase) || a.EndsWith("=Trace", StringComparison.OrdinalIgnoreCase)));
}
