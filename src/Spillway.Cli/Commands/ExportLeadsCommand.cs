using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Spillway.Client;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway export leads</c>: extracts leads from a Marketo instance or a Spillway server over the Bulk Lead
/// Extract API, in windows of at most 31 days over the leads' createdAt (or, with <c>--filter updatedAt</c>, their
/// last field change), with the same resume, checksum check, output and exit codes as the activity export.
/// </summary>
internal static class ExportLeadsCommand
{
    public static Command Create(IAnsiConsole? console, Func<string, string?>? environment, Func<Stream>? standardOutput)
    {
        var url = new Option<string?>("--url") { Description = "The base URL of a Spillway server or a Marketo REST endpoint. Default: SPILLWAY_URL." };
        var munchkin = new Option<string?>("--munchkin") { Description = "A Marketo munchkin id (123-ABC-456); the base URL is derived from it." };
        var clientId = new Option<string?>("--client-id") { Description = "The API client id. Default: SPILLWAY_CLIENT_ID, then MARKETO_CLIENT_ID." };
        var clientSecret = new Option<string?>("--client-secret")
        {
            Description = "The API client secret. Default: SPILLWAY_CLIENT_SECRET, then MARKETO_CLIENT_SECRET (prefer the variable: options show in process lists).",
        };
        var since = new Option<string?>("--since")
        {
            Description = "The first instant of the lead date, inclusive: 2024-01-01, 2024-01-01T08:00:00Z, or a span back from now (12h, 90d, 2w). " +
                          "Required, except with --resume.",
        };
        var until = new Option<string?>("--until") { Description = "The end, exclusive (same forms as --since). Default: now." };
        var filter = new Option<string>("--filter")
        {
            Description = "The lead date the windows filter on: createdAt (when the lead was created) or updatedAt (its last field change).",
            DefaultValueFactory = _ => "createdAt",
        };
        filter.AcceptOnlyFromAmong("createdAt", "updatedAt");
        var fields = new Option<string[]>("--fields")
        {
            Description = "The lead fields to write, in order, as describe.json names them (custom fields included), comma-separated or repeated. Required.",
        };
        var format = new Option<string?>("--format", "-f") { Description = "csv, tsv or ssv. Default: from the --output extension, else csv." };
        format.AcceptOnlyFromAmong("csv", "tsv", "ssv");
        var output = new Option<string?>("--output", "-o")
        {
            Description = "The output file, - for stdout, or an existing folder (or one ending in /) for leads_<since>_<until>.<ext>. Default: ./leads.<ext>.",
        };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted extraction from its state file." };
        var force = new Option<bool>("--force") { Description = "Discard the state and window files of an earlier extraction to the same output and start over." };
        var workDir = new Option<string?>("--work-dir") { Description = "Where window files and the state file go. Default: <output>.parts." };
        var stateFile = new Option<string?>("--state-file") { Description = "The state file. Default: spillway-export-state.json in the work folder." };
        var keepWindows = new Option<bool>("--keep-windows") { Description = "Keep the verified window files and the state file after the output is written." };
        var windowDays = new Option<double>("--window-days") { Description = "The span of one export job, in days (at most 31).", DefaultValueFactory = _ => 31 };
        var maxJobs = new Option<int>("--max-jobs") { Description = "At most this many windows with a job at once.", DefaultValueFactory = _ => 5 };
        var poll = new Option<double?>("--poll-seconds") { Description = "Seconds between two status polls. Default: 0.5 for a loopback server, 10 otherwise." };
        var plain = new Option<bool>("--plain") { Description = "No live table: one line per change (the default when output is not a terminal)." };
        var json = new Option<bool>("--json")
        {
            Description = "Print the summary as one JSON object on stdout (on stderr with -o -) instead of the table.",
        };

        var command = new Command("leads", "Extract leads with the Bulk Lead Extract API (Marketo or Spillway) into CSV, TSV or SSV.")
        {
            url, munchkin, clientId, clientSecret, since, until, filter, fields, format, output, resume, force, workDir, stateFile, keepWindows,
            windowDays, maxJobs, poll, plain, json,
        };
        command.SetAction(async (result, ct) =>
        {
            var ansi = console ?? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            var env = environment ?? Environment.GetEnvironmentVariable;
            var request = new ExportCommand.ExportRequest
            {
                Leads = true,
                LeadFilter = result.GetValue(filter) == "updatedAt" ? LeadWindowField.UpdatedAt : LeadWindowField.CreatedAt,
                Json = result.GetValue(json),
                Url = result.GetValue(url) ?? env("SPILLWAY_URL"),
                Munchkin = result.GetValue(munchkin),
                ClientId = result.GetValue(clientId) ?? env("SPILLWAY_CLIENT_ID") ?? env("MARKETO_CLIENT_ID"),
                ClientSecret = result.GetValue(clientSecret) ?? env("SPILLWAY_CLIENT_SECRET") ?? env("MARKETO_CLIENT_SECRET"),
                Since = result.GetValue(since),
                Until = result.GetValue(until),
                Fields = ExportCommand.SplitValues(result.GetValue(fields)),
                Format = ExportCommand.ChooseFormat(result.GetValue(format), result.GetValue(output)),
                Output = result.GetValue(output),
                Resume = result.GetValue(resume),
                Force = result.GetValue(force),
                WorkDir = result.GetValue(workDir),
                StateFile = result.GetValue(stateFile),
                KeepWindows = result.GetValue(keepWindows),
                WindowDays = result.GetValue(windowDays),
                MaxJobs = result.GetValue(maxJobs),
                PollSeconds = result.GetValue(poll),
                Live = !result.GetValue(plain) && !result.GetValue(json) && ansi.Profile.Capabilities.Interactive,
                StandardOutput = standardOutput ?? Console.OpenStandardOutput,
                SummaryOutput = standardOutput is null ? () => Console.Out : () => new StreamWriter(standardOutput(), new System.Text.UTF8Encoding(false), leaveOpen: true),
            };
            if (console is not null)
            {
                return await ExportCommand.RunAsync(ansi, request, ct);
            }

            using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigint = ExportCommand.OnSignal(PosixSignal.SIGINT, interrupted);
            using var sigterm = ExportCommand.OnSignal(PosixSignal.SIGTERM, interrupted);
            return await ExportCommand.RunAsync(ansi, request, interrupted.Token);
        });
        return command;
    }
}
