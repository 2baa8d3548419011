using System.CommandLine;
using Spillway.Cli.Commands;

namespace Spillway.Cli;

/// <summary>The spillway command line: the commands, the global --verbose option and the one-line error report.</summary>
internal static class CliApp
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On failure, print the full exception after the one-line message.",
        Recursive = true,
    };

    public static RootCommand CreateRoot() => new("Spillway: Marketo's Bulk Activity Extract API over your own activity store.")
    {
        Verbose,
        ServeCommand.Create(),
        AdminCommands.Subscription(),
        AdminCommands.User(),
        LeadFieldCommands.Create(),
        SeedCommand.Create(),
        ExportCommand.Create(),
        ImportCommand.Create(),
        ControlCommands.Create(),
        SnapshotCommand.Create(),
    };

    /// <summary>Parses and runs; an exception a command did not handle becomes one line on <paramref name="error"/> and an exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, RootCommand? root = null)
    {
        var result = (root ?? CreateRoot()).Parse(args);
        try
        {
            return await result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            return ErrorReport.Write(ex, result.GetValue(Verbose), result.GetValue(CommonOptions.Data), error);
        }
    }
}
