namespace Spillway.Server.Hosting;

/// <summary>The server's exit codes when it cannot start; scripts and service managers branch on them.</summary>
public static class ServerExitCodes
{
    /// <summary>Anything not classified below (a defect: report it with the <c>--verbose</c> output).</summary>
    public const int Failure = 1;

    /// <summary>A setting is missing or out of range; fixing the configuration fixes the start.</summary>
    public const int Configuration = 2;

    /// <summary>The machine or a dependency is in the way: port taken, data folder unusable or in use, store unreadable, database unreachable.</summary>
    public const int Environment = 4;

    /// <summary>A seed file (<c>--seed-from</c>) cannot be loaded; fixing or removing the file fixes the start.</summary>
    public const int BadData = 5;
}

/// <summary>
/// A start-up failure whose message is one sentence for an operator: what happened and what to do. The server prints
/// it on one line and exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class StartupFailureException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
