using System.CommandLine;
using System.Text.Json.Nodes;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Spectre.Console;
using Spillway.Client;
using Spillway.Contracts;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway export</c>: extracts activities from a Marketo instance or a Spillway server over the Bulk Activity
/// Extract API (windows of at most 31 days, jobs in flight as the queue allows, resumable), and writes them as the
/// server's CSV/TSV/SSV, NDJSON or Parquet.
/// </summary>
internal static class ExportCommand
{
    public const int ExitFailed = ExitCodes.Failure;
    public const int ExitUsage = ExitCodes.Usage;
    public const int ExitQuota = ExitCodes.Quota;
    public const int ExitCancelled = ExitCodes.Interrupted;

    /// <summary>The --output value that streams the result to stdout.</summary>
    public const string StandardOutput = "-";

    private const string StateFileName = "spillway-export-state.json";

    /// <summary>Creates the command.</summary>
    /// <param name="console">Where it writes; the process console by default.</param>
    /// <param name="environment">Reads an environment variable; the process environment by default.</param>
    /// <param name="standardOutput">Where <c>-o -</c> writes the data; the process stdout by default.</param>
    public static Command Create(IAnsiConsole? console = null, Func<string, string?>? environment = null, Func<Stream>? standardOutput = null)
    {
        var url = new Option<string?>("--url")
        {
            Description = "The base URL of a Spillway server or a Marketo REST endpoint (https://123-ABC-456.mktorest.com). Default: SPILLWAY_URL.",
        };
        var munchkin = new Option<string?>("--munchkin") { Description = "A Marketo munchkin id (123-ABC-456); the base URL is derived from it." };
        var clientId = new Option<string?>("--client-id")
        {
            Description = "The API client id. Default: SPILLWAY_CLIENT_ID, then MARKETO_CLIENT_ID.",
        };
        var clientSecret = new Option<string?>("--client-secret")
        {
            Description = "The API client secret. Default: SPILLWAY_CLIENT_SECRET, then MARKETO_CLIENT_SECRET (prefer the variable: options show in process lists).",
        };
        var since = new Option<string?>("--since")
        {
            Description = "The first instant, inclusive: 2024-01-01, 2024-01-01T08:00:00Z, an offset, or a span back from now (90s, 15m, 12h, 90d, 2w). " +
                          "Required, except with --resume (the interrupted run's range is reused).",
        };
        var until = new Option<string?>("--until")
        {
            Description = "The end, exclusive (same forms as --since). Default: now. Pass it explicitly to make --resume reuse the same windows.",
        };
        var types = new Option<string[]>("--type", "-t")
        {
            Description = "An activity type, by id or name as types.json lists it (repeatable, or comma-separated). Default: all types.",
            AllowMultipleArgumentsPerToken = false,
        };
        var fields = new Option<string[]>("--fields")
        {
            Description = $"The columns, comma-separated or repeated ({string.Join(", ", ActivityExportFields.All)}). Default: the 8 default columns.",
        };
        var format = new Option<string?>("--format", "-f")
        {
            Description = "csv, tsv, ssv (the server's file, merged), ndjson (one JSON object per activity) or parquet (typed columns). " +
                          "Default: from the --output extension, else csv.",
        };
        format.AcceptOnlyFromAmong("csv", "tsv", "ssv", "ndjson", "parquet");
        var output = new Option<string?>("--output", "-o")
        {
            Description = "The output file, - for stdout, or an existing folder (or one ending in /) for activities_<since>_<until>.<ext>. Default: ./activities.<ext>.",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "Continue an interrupted extraction from its state file: finished windows are kept, jobs in flight reused.",
        };
        var force = new Option<bool>("--force") { Description = "Discard the state and window files of an earlier extraction to the same output and start over." };
        var workDir = new Option<string?>("--work-dir") { Description = "Where window files and the state file go. Default: <output>.parts." };
        var stateFile = new Option<string?>("--state-file") { Description = $"The state file. Default: {StateFileName} in the work folder." };
        var keepWindows = new Option<bool>("--keep-windows") { Description = "Keep the verified window files and the state file after the output is written." };
        var windowDays = new Option<double>("--window-days")
        {
            Description = "The span of one export job, in days (at most 31).",
            DefaultValueFactory = _ => 31,
        };
        var maxJobs = new Option<int>("--max-jobs")
        {
            Description = "At most this many windows with a job at once (the subscription's queue of 10 is shared; a full queue is waited out).",
            DefaultValueFactory = _ => 5,
        };
        var poll = new Option<double?>("--poll-seconds")
        {
            Description = "Seconds between two status polls of a job. Default: 0.5 for a server on this machine (loopback), 10 (Marketo's cadence) otherwise.",
        };
        var json = new Option<bool>("--json") { Description = "At the end, print the summary as one JSON document on stdout (progress and messages go to stderr)." };
        var plain = new Option<bool>("--plain") { Description = "No live table: one line per change (the default when output is not a terminal)." };

        var command = new Command("export", "Extract activities with the Bulk Activity Extract API (Marketo or Spillway) into CSV, NDJSON or Parquet.")
        {
            url, munchkin, clientId, clientSecret, since, until, types, fields, format, output, resume, force, workDir, stateFile, keepWindows,
            windowDays, maxJobs, poll, plain, json,
        };
        command.SetAction(async (result, ct) =>
        {
            // Messages and progress go to stderr so stdout carries only data (-o -).
            var ansi = console ?? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            var env = environment ?? Environment.GetEnvironmentVariable;
            var request = new ExportRequest
            {
                Url = result.GetValue(url) ?? env("SPILLWAY_URL"),
                Munchkin = result.GetValue(munchkin),
                ClientId = result.GetValue(clientId) ?? env("SPILLWAY_CLIENT_ID") ?? env("MARKETO_CLIENT_ID"),
                ClientSecret = result.GetValue(clientSecret) ?? env("SPILLWAY_CLIENT_SECRET") ?? env("MARKETO_CLIENT_SECRET"),
                Since = result.GetValue(since),
                Until = result.GetValue(until),
                Types = SplitList(result.GetValue(types)),
                Fields = SplitList(result.GetValue(fields)),
                Format = ChooseFormat(result.GetValue(format), result.GetValue(output)),
                Output = result.GetValue(output),
                Resume = result.GetValue(resume),
                Force = result.GetValue(force),
                WorkDir = result.GetValue(workDir),
                StateFile = result.GetValue(stateFile),
                KeepWindows = result.GetValue(keepWindows),
                WindowDays = result.GetValue(windowDays),
                MaxJobs = result.GetValue(maxJobs),
                PollSeconds = result.GetValue(poll),
                Live = !result.GetValue(plain) && ansi.Profile.Capabilities.Interactive,
                Json = result.GetValue(json),
                StandardOutput = standardOutput ?? Console.OpenStandardOutput,
                SummaryOutput = standardOutput is null ? () => Console.Out : () => new StreamWriter(standardOutput(), new System.Text.UTF8Encoding(false), leaveOpen: true),
            };
            if (console is not null)
            {
                return await RunAsync(ansi, request, ct);
            }

            // The root command does not turn Ctrl+C or SIGTERM into cancellation; without this the process would die
            // between two state saves without saying how to continue. A second signal ends the process at once.
            using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigint = OnSignal(PosixSignal.SIGINT, interrupted);
            using var sigterm = OnSignal(PosixSignal.SIGTERM, interrupted);
            return await RunAsync(ansi, request, interrupted.Token);
        });
        command.Subcommands.Add(ExportLeadsCommand.Create(console, environment, standardOutput));
        return command;
    }

    internal static PosixSignalRegistration? OnSignal(PosixSignal signal, CancellationTokenSource cts)
    {
        try
        {
            return PosixSignalRegistration.Create(signal, context =>
            {
                if (!cts.IsCancellationRequested)
                {
                    context.Cancel = true;
                    ThreadPool.QueueUserWorkItem(_ => cts.Cancel()); // not on the signal thread
                }
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }

    internal sealed record ExportRequest
    {
        public string? Url { get; init; }
        public string? Munchkin { get; init; }
        public string? ClientId { get; init; }
        public string? ClientSecret { get; init; }
        public string? Since { get; init; }
        public string? Until { get; init; }
        public IReadOnlyList<string> Types { get; init; } = [];
        public IReadOnlyList<string> Fields { get; init; } = [];
        public OutputFormat Format { get; init; }
        public string? Output { get; init; }
        public bool Resume { get; init; }
        public bool Force { get; init; }
        public string? WorkDir { get; init; }
        public string? StateFile { get; init; }
        public bool KeepWindows { get; init; }
        public double WindowDays { get; init; } = 31;
        public int MaxJobs { get; init; } = 5;
        public double? PollSeconds { get; init; }
        public bool Live { get; init; }
        public Func<Stream> StandardOutput { get; init; } = Console.OpenStandardOutput;

        /// <summary>Where the --json summary goes: the process's Console.Out, or the stream a caller gave for stdout.</summary>
        public Func<TextWriter> SummaryOutput { get; init; } = () => Console.Out;

        /// <summary>A Bulk Lead Extract (<c>spillway export leads</c>) instead of activities.</summary>
        public bool Leads { get; init; }

        /// <summary>For leads: the lead date the windows filter on.</summary>
        public LeadWindowField LeadFilter { get; init; }

        /// <summary>The summary as one JSON document on stdout (refused together with <c>-o -</c>, whose data owns stdout).</summary>
        public bool Json { get; init; }
    }

    /// <summary>Where one extraction keeps its window files, its state and the range it was started with.</summary>
    private sealed record WorkArea(string Folder, string StatePath, string RangePath);

    /// <summary>The windows to export and where the result goes, once the options are read and any earlier run is resolved.</summary>
    private sealed record ExportPlan(
        Uri BaseUrl, DateTimeOffset Since, DateTimeOffset Until, IReadOnlyList<ExtractionWindow> Windows, string OutputPath, List<string>? Fields);

    internal static async Task<int> RunAsync(IAnsiConsole console, ExportRequest request, CancellationToken ct)
    {
        var ext = ExportWriters.Extension(request.Format);
        var toStdout = request.Output == StandardOutput;
        var noun = request.Leads ? "leads" : "activities";
        var (target, isFolder) = toStdout ? (Path.GetFullPath($"spillway-export-stdout.{ext}"), false) : ResolveOutput(request.Output, ext, noun);
        var work = LocateWorkArea(request, target, isFolder);
        request = await WithResumedOptionsAsync(request, work, ct);
        if (!TryReadRequest(console, request, DateTimeOffset.UtcNow, out var baseUrl, out var since, out var until))
        {
            return ExitUsage;
        }

        if (!ClearEarlierRun(console, request, work))
        {
            return ExitUsage;
        }

        (since, until) = await ResumedRangeAsync(console, request, work, since, until, ct);
        var plan = new ExportPlan(baseUrl, since, until,
            ExtractionPlanner.Plan(since, until, TimeSpan.FromSeconds(Math.Floor(request.WindowDays * 86400))),
            isFolder ? Path.Combine(target, $"{noun}_{Stamp(since)}_{Stamp(until)}.{ext}") : target,
            ColumnsFor(request));

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var display = new ExportDisplay(console, request.Live);
        using var client = new MarketoBulkClient(http, new MarketoClientOptions
        {
            BaseUrl = baseUrl,
            ClientId = request.ClientId!,
            ClientSecret = request.ClientSecret!,
        });
        client.Retrying += (_, e) => display.Retrying(e);

        try
        {
            var extraction = await ExtractAsync(console, client, display, request, work, plan, ct);
            var summary = await WriteOutputAsync(console, client, display, request, extraction, plan.OutputPath, ct);
            CleanUp(console, request, work, extraction);
            if (toStdout)
            {
                await using (var file = File.OpenRead(plan.OutputPath))
                {
                    var stdout = request.StandardOutput();
                    await file.CopyToAsync(stdout, ct);
                    await stdout.FlushAsync(ct);
                }

                File.Delete(plan.OutputPath);
            }

            if (request.Json)
            {
                summary["output"] = plan.OutputPath;
                var text = request.SummaryOutput();
                await text.WriteLineAsync(summary.ToJsonString(JsonOutput.Indented));
                await text.FlushAsync(ct);
            }

            return 0;
        }
        catch (Exception ex) when (IsReportedFailure(ex, ct))
        {
            return ReportFailure(console, ex, work.Folder, ResumeCommand(request));
        }
    }

    /// <summary>The options as what to export from where: every usage error before the first call.</summary>
    private static bool TryReadRequest(IAnsiConsole console, ExportRequest request, DateTimeOffset now, [NotNullWhen(true)] out Uri? baseUrl,
        out DateTimeOffset since, out DateTimeOffset until)
    {
        try
        {
            baseUrl = ResolveBaseUrl(request.Url, request.Munchkin);
            if (request.Since is null)
            {
                throw new UsageException(request.Resume
                    ? "Nothing to resume: no interrupted extraction to this output (pass the same -o as the interrupted run, or --state-file)."
                    : "Option '--since' is required (or --resume to continue an interrupted extraction).");
            }

            since = ParseInstant(request.Since, now, "--since");
            until = request.Until is null ? now : ParseInstant(request.Until, now, "--until");
            if (until < since)
            {
                throw new UsageException($"--until ({until:u}) is before --since ({since:u}).");
            }

            if (string.IsNullOrEmpty(request.ClientId) || string.IsNullOrEmpty(request.ClientSecret))
            {
                throw new UsageException("No credentials: pass --client-id and --client-secret, or set SPILLWAY_CLIENT_ID and SPILLWAY_CLIENT_SECRET " +
                                         "(or MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET).");
            }

            if (request.WindowDays is <= 0 or > 31 || request.WindowDays * 86400 < 1)
            {
                throw new UsageException("--window-days is from more than 0 to 31.");
            }

            if (request.Json && request.Output == StandardOutput)
            {
                throw new UsageException("--json and -o - both want stdout: write the data to a file, or leave out --json.");
            }

            if (request.MaxJobs < 1 || request.PollSeconds < 0)
            {
                throw new UsageException("--max-jobs must be at least 1 and --poll-seconds not negative.");
            }

            if (request.Leads && request.Fields.Count == 0)
            {
                throw new UsageException("Option '--fields' is required for a lead export: the lead fields to write, as describe.json names them.");
            }

            if (request.Leads && request.Format is OutputFormat.Ndjson or OutputFormat.Parquet)
            {
                throw new UsageException("A lead export writes csv, tsv or ssv.");
            }

            return true;
        }
        catch (Exception ex) when (ex is UsageException or ArgumentException)
        {
            console.MarkupLineInterpolated($"[red]{ex.Message}[/]");
            (baseUrl, since, until) = (null, default, default);
            return false;
        }
    }

    private static WorkArea LocateWorkArea(ExportRequest request, string target, bool isFolder)
    {
        var folder = Path.GetFullPath(request.WorkDir ?? (isFolder ? Path.Combine(target, ".spillway-export.parts") : target + ".parts"));
        var statePath = Path.GetFullPath(request.StateFile ?? Path.Combine(folder, StateFileName));
        var rangePath = Path.Combine(Path.GetDirectoryName(statePath)!, Path.GetFileNameWithoutExtension(statePath) + ".range");
        return new WorkArea(folder, statePath, rangePath);
    }

    /// <summary>An earlier run's state is continued only with --resume and discarded only with --force; false refuses the run.</summary>
    private static bool ClearEarlierRun(IAnsiConsole console, ExportRequest request, WorkArea work)
    {
        if (!File.Exists(work.StatePath) || request.Resume)
        {
            return true;
        }

        if (!request.Force)
        {
            console.MarkupLineInterpolated(
                $"[red]An earlier extraction left its state in {work.StatePath}.[/] Pass --resume to continue it, or --force to start over.");
            return false;
        }

        File.Delete(work.StatePath);
        File.Delete(work.RangePath);
        if (request.WorkDir is null && Directory.Exists(work.Folder))
        {
            Directory.Delete(work.Folder, recursive: true);
        }

        return true;
    }

    /// <summary>
    /// On --resume, the range of the interrupted run: a relative --since or a default --until would otherwise move the windows.
    /// </summary>
    private static async Task<(DateTimeOffset Since, DateTimeOffset Until)> ResumedRangeAsync(IAnsiConsole console, ExportRequest request,
        WorkArea work, DateTimeOffset since, DateTimeOffset until, CancellationToken ct)
    {
        if (!request.Resume || !File.Exists(work.RangePath))
        {
            return (since, until);
        }

        var saved = (await File.ReadAllTextAsync(work.RangePath, ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var (savedSince, savedUntil) = (DateTimeOffset.Parse(saved[0], CultureInfo.InvariantCulture), DateTimeOffset.Parse(saved[1], CultureInfo.InvariantCulture));
        if (savedSince != since || savedUntil != until)
        {
            console.MarkupLineInterpolated($"Resuming the interrupted range {MarketoDateTime.Format(savedSince)} .. {MarketoDateTime.Format(savedUntil)}.");
        }

        return (savedSince, savedUntil);
    }

    /// <summary>The columns to ask for; NDJSON and Parquet need the ones that identify an activity, so those are added.</summary>
    private static List<string>? ColumnsFor(ExportRequest request)
    {
        var fields = request.Fields.Count == 0 ? null : request.Fields.ToList();
        if (fields is not null && !request.Leads && request.Format is OutputFormat.Ndjson or OutputFormat.Parquet)
        {
            var missing = ExportWriters.RequiredFields.Where(r => !fields.Contains(r, StringComparer.OrdinalIgnoreCase)).ToList();
            fields.InsertRange(0, missing);
        }

        return fields;
    }

    /// <summary>Runs the export jobs of every window with the live display, saving the range so --resume can find it.</summary>
    private static async Task<ExtractionResult> ExtractAsync(IAnsiConsole console, MarketoBulkClient client, ExportDisplay display,
        ExportRequest request, WorkArea work, ExportPlan plan, CancellationToken ct)
    {
        var typeIds = request.Leads ? null : await ResolveTypesAsync(client, request.Types, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(work.StatePath)!);
        await File.WriteAllTextAsync(work.RangePath,
            $"{plan.Since.UtcDateTime:O}\n{plan.Until.UtcDateTime:O}\n{plan.BaseUrl}\n{string.Join(',', request.Types)}\n{string.Join(',', request.Fields)}\n{request.LeadFilter}\n", ct);
        var what = request.Leads ? $"leads by {(request.LeadFilter == LeadWindowField.UpdatedAt ? "updatedAt" : "createdAt")}"
            : typeIds is null ? "all activity types" : "types " + string.Join(", ", typeIds);
        console.MarkupLineInterpolated(
            $"Exporting [bold]{MarketoDateTime.Format(plan.Since)}[/] to [bold]{MarketoDateTime.Format(plan.Until)}[/] (exclusive) from {plan.BaseUrl}: {plan.Windows.Count} window(s), {what}, to {plan.OutputPath}");
        var options = new BulkExtractionOptions
        {
            OutputDirectory = work.Folder,
            StateFilePath = work.StatePath,
            Format = ExportWriters.ServerFormat(request.Format),
            Target = request.Leads ? BulkExtractTarget.Leads : BulkExtractTarget.Activities,
            LeadWindowField = request.LeadFilter,
            Fields = plan.Fields,
            ActivityTypeIds = typeIds,
            MaxJobsInFlight = request.MaxJobs,
            LoopbackPollInterval = TimeSpan.FromSeconds(LoopbackPollSeconds),
            RemotePollInterval = TimeSpan.FromSeconds(RemotePollSeconds),
        };
        if (request.PollSeconds is { } fixedPoll)
        {
            options.PollInterval = TimeSpan.FromSeconds(fixedPoll);
        }

        var extractor = new BulkExtractor(client, options);
        return await display.RunAsync(() => extractor.RunAsync(plan.Windows, display, ct));
    }

    /// <summary>Verifies the window files again, writes the output and the summary.</summary>
    private static async Task<JsonObject> WriteOutputAsync(IAnsiConsole console, MarketoBulkClient client, ExportDisplay display, ExportRequest request,
        ExtractionResult extraction, string outputPath, CancellationToken ct)
    {
        var format = request.Format;
        var verified = await VerifyChecksumsAsync(extraction, ct);
        display.WriteLine($"Writing {format.ToString().ToUpperInvariant()} to {outputPath} …");
        var written = await ExportWriters.WriteAsync(format, extraction, outputPath, ct);
        // The client lists activity jobs only; a lead export reports what its own jobs used.
        var quotaToday = request.Leads ? null : await QuotaUsedTodayAsync(client, ct);
        WriteSummary(console, extraction, written, verified, outputPath, quotaToday, display.Elapsed);
        return new JsonObject
        {
            ["rows"] = written.Rows,
            ["duplicates"] = written.Duplicates,
            ["recordsReported"] = extraction.TotalRecords,
            ["files"] = extraction.Windows.Count,
            ["filesFromEarlierRun"] = extraction.Windows.Count(w => w.FromEarlierRun),
            ["bytes"] = extraction.TotalBytes,
            ["verified"] = verified,
            ["quotaBytes"] = extraction.Windows.Where(w => !w.FromEarlierRun).Sum(w => w.FileSize),
            ["quotaBytesToday"] = quotaToday,
            ["seconds"] = Math.Round(display.Elapsed.TotalSeconds, 3),
        };
    }

    /// <summary>Removes the window files and state unless asked to keep them; a folder or state file of the user's keeps everything else.</summary>
    private static void CleanUp(IAnsiConsole console, ExportRequest request, WorkArea work, ExtractionResult extraction)
    {
        if (!request.KeepWindows && request.WorkDir is null && request.StateFile is null)
        {
            Directory.Delete(work.Folder, recursive: true);
        }
        else if (!request.KeepWindows)
        {
            foreach (var window in extraction.Windows)
            {
                File.Delete(window.FilePath);
            }

            File.Delete(work.StatePath);
            File.Delete(work.RangePath);
        }
        else
        {
            console.MarkupLineInterpolated($"Window files and state kept in {work.Folder}.");
        }
    }

    /// <summary>The failures the command explains and maps to an exit code; anything else is a bug and propagates.</summary>
    private static bool IsReportedFailure(Exception ex, CancellationToken ct) => ex switch
    {
        OperationCanceledException => ct.IsCancellationRequested,
        UsageException or MarketoApiException or ExportFileVerificationException or HttpRequestException or InvalidOperationException
            or InvalidDataException or IOException => true,
        _ => false,
    };

    /// <summary>Says what failed and how to continue; returns the exit code. Finished windows always stay for --resume.</summary>
    private static int ReportFailure(IAnsiConsole console, Exception ex, string work, string resume)
    {
        switch (ex)
        {
            case ExportQuotaExceededException quota:
                console.MarkupLineInterpolated($"[red]The daily export quota{(quota.QuotaMegabytes is { } mb ? $" of {mb} MB" : "")} is used up.[/]");
                console.MarkupLineInterpolated(
                    $"It resets at [bold]{quota.ResetsAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC[/] (midnight America/Chicago). Finished windows are kept in {work}; then run {resume}.");
                return ExitQuota;
            case MarketoApiException { Code: "1029" }:
                console.MarkupLineInterpolated($"[red]The daily API call limit is used up ({ex.Message}).[/] Finished windows are kept in {work}; after midnight America/Chicago run {resume}.");
                return ExitQuota;
            case OperationCanceledException:
                console.MarkupLineInterpolated($"[yellow]Interrupted.[/] Finished windows are kept in {work}; continue with: {resume}");
                return ExitCancelled;
            case UsageException:
                console.MarkupLineInterpolated($"[red]{ex.Message}[/]");
                return ExitUsage;
            default:
                console.MarkupLineInterpolated($"[red]Export failed:[/] {ex.Message}");
                console.MarkupLineInterpolated($"Finished windows are kept in {work}; continue with: {resume}");
                return ExitFailed;
        }
    }

    private static void WriteSummary(IAnsiConsole console, ExtractionResult extraction, OutputSummary written, int verified, string outputPath,
        long? quotaToday, TimeSpan elapsed)
    {
        var thisRun = extraction.Windows.Where(w => !w.FromEarlierRun).ToList();
        var charged = thisRun.Sum(w => w.FileSize);
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumns("", "");
        table.AddRow("Rows", $"{written.Rows:N0} written" + (written.Duplicates > 0 ? $", {written.Duplicates:N0} duplicates left out" : "") +
                             $" (jobs reported {extraction.TotalRecords:N0})");
        table.AddRow("Files", $"{extraction.Windows.Count} window file(s), {ExportDisplay.Bytes(extraction.TotalBytes)}; " +
                              $"{thisRun.Count} downloaded now, {extraction.Windows.Count - thisRun.Count} from an earlier run");
        table.AddRow("Checksums", $"{verified}/{extraction.Windows.Count} verified (size and sha256 as the jobs reported)");
        table.AddRow("Output", $"{outputPath} ({ExportDisplay.Bytes(new FileInfo(outputPath).Length)})");
        table.AddRow("Quota used", $"{ExportDisplay.Bytes(charged)} by this run's jobs" +
                                   (quotaToday is { } q ? $"; {ExportDisplay.Bytes(q)} today by this API user's jobs" : ""));
        table.AddRow("Elapsed", elapsed.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
        console.Write(new Rule("[green]Export complete[/]").LeftJustified());
        console.Write(table);
        console.WriteLine($"rows={written.Rows} files={extraction.Windows.Count} verified={verified} quotaBytes={charged}");
    }

    /// <summary>Hashes every window file again and compares it with the checksum its job reported.</summary>
    private static async Task<int> VerifyChecksumsAsync(ExtractionResult extraction, CancellationToken ct)
    {
        var verified = 0;
        foreach (var window in extraction.Windows)
        {
            await using var stream = File.OpenRead(window.FilePath);
            var hash = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            if (stream.Length != window.FileSize || !string.Equals(hash, window.FileChecksum, StringComparison.OrdinalIgnoreCase))
            {
                throw new ExportFileVerificationException(window.ExportId, window.FileSize, stream.Length, window.FileChecksum, hash);
            }

            verified++;
        }

        return verified;
    }

    /// <summary>The bytes of this API user's jobs that finished in the current quota day (the list shows only the caller's jobs).</summary>
    private static async Task<long?> QuotaUsedTodayAsync(MarketoBulkClient client, CancellationToken ct)
    {
        try
        {
            var dayStart = MarketoQuotaDay.StartOf(DateTimeOffset.UtcNow);
            long total = 0;
            await foreach (var job in client.ListAllExportsAsync([ExportJobStatuses.Completed], 300, ct))
            {
                if (job.FinishedAt is { } finished && finished >= dayStart)
                {
                    total += job.FileSize ?? 0;
                }
            }

            return total;
        }
        catch (MarketoApiException)
        {
            return null;
        }
    }

    private static async Task<IReadOnlyList<int>?> ResolveTypesAsync(MarketoBulkClient client, IReadOnlyList<string> types, CancellationToken ct)
    {
        if (types.Count == 0)
        {
            return null;
        }

        var ids = new List<int>();
        IReadOnlyList<ActivityType>? known = null;
        foreach (var type in types)
        {
            if (int.TryParse(type, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
                continue;
            }

            known ??= await client.GetActivityTypesAsync(ct);
            var match = known.FirstOrDefault(t => string.Equals(t.Name, type, StringComparison.OrdinalIgnoreCase))
                        ?? known.FirstOrDefault(t => string.Equals(t.ApiName, type, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                var near = known.Where(t => t.Name.Contains(type, StringComparison.OrdinalIgnoreCase)).Take(5).Select(t => $"{t.Id} {t.Name}").ToList();
                throw new UsageException($"No activity type is named '{type}'." + (near.Count > 0 ? $" Did you mean: {string.Join("; ", near)}?" : ""));
            }

            ids.Add(match.Id);
        }

        return ids.Distinct().ToList();
    }

    internal static Uri ResolveBaseUrl(string? url, string? munchkin)
    {
        if (url is not null && munchkin is not null)
        {
            throw new UsageException("Pass --url or --munchkin, not both.");
        }

        if (munchkin is not null)
        {
            return MarketoClientOptions.BaseUrlFromMunchkinId(munchkin);
        }

        if (url is null)
        {
            throw new UsageException("Where to export from: pass --url (a Spillway server or Marketo REST endpoint) or --munchkin, or set SPILLWAY_URL.");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"'{url}' is not an http(s) URL.");
        }

        return uri;
    }

    /// <summary>
    /// An instant: a date (midnight UTC), a date and time with or without an offset (UTC when none), <c>now</c>, or a
    /// span back from now such as <c>90d</c>, <c>12h</c>, <c>30m</c>.
    /// </summary>
    internal static DateTimeOffset ParseInstant(string text, DateTimeOffset now, string option)
    {
        var value = text.Trim();
        if (string.Equals(value, "now", StringComparison.OrdinalIgnoreCase))
        {
            return now;
        }

        if (!value.StartsWith('-') && Durations.TryParse(value, out var back))
        {
            return now - back;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return parsed;
        }

        throw new UsageException($"{option}: '{text}' is not a date (2024-01-01), a date and time (2024-01-01T08:00:00Z) or a span back from now (90s, 15m, 12h, 90d, 2w).");
    }

    /// <summary>The output file, or the folder that gets activities_&lt;since&gt;_&lt;until&gt;.&lt;ext&gt;.</summary>
    internal static (string Path, bool IsFolder) ResolveOutput(string? output, string ext, string noun = "activities")
    {
        if (string.IsNullOrEmpty(output))
        {
            return (Path.GetFullPath($"{noun}.{ext}"), false);
        }

        var isFolder = Directory.Exists(output) || output.EndsWith(Path.DirectorySeparatorChar) || output.EndsWith(Path.AltDirectorySeparatorChar);
        return (Path.GetFullPath(output), isFolder);
    }

    /// <summary>A local server answers in milliseconds, so short polls; a remote one (Marketo) gets Marketo's own cadence.</summary>
    internal static double DefaultPollSeconds(Uri baseUrl) => new BulkExtractionOptions
    {
        LoopbackPollInterval = TimeSpan.FromSeconds(LoopbackPollSeconds),
        RemotePollInterval = TimeSpan.FromSeconds(RemotePollSeconds),
    }.PollIntervalFor(baseUrl).TotalSeconds;

    // The command polls a remote server more often than the client library's default: a person is watching the table.
    private const double LoopbackPollSeconds = 0.5;
    private const double RemotePollSeconds = 10;

    /// <summary>The command line that continues this extraction: the state file holds the range, the source and the filters.</summary>
    private static string ResumeCommand(ExportRequest request)
    {
        var parts = new List<string> { request.Leads ? "spillway export leads --resume" : "spillway export --resume" };
        if (request.Output is { } output)
        {
            parts.Add($"-o {output}");
        }

        if (request.WorkDir is { } dir)
        {
            parts.Add($"--work-dir {dir}");
        }

        if (request.StateFile is { } state)
        {
            parts.Add($"--state-file {state}");
        }

        return string.Join(' ', parts);
    }

    /// <summary>
    /// On --resume, what the interrupted run saved beside its state (range, source, types, fields) fills every option not
    /// given again, so <c>spillway export --resume -o FILE</c> needs nothing else.
    /// </summary>
    private static async Task<ExportRequest> WithResumedOptionsAsync(ExportRequest request, WorkArea work, CancellationToken ct)
    {
        if (!request.Resume || !File.Exists(work.RangePath))
        {
            return request;
        }

        var saved = (await File.ReadAllTextAsync(work.RangePath, ct)).Split('\n');
        string? Line(int i) => saved.Length > i && saved[i].Length > 0 ? saved[i] : null;
        var fromSaved = request.Url is null && request.Munchkin is null;
        return request with
        {
            Since = request.Since ?? Line(0),
            Until = request.Until ?? (request.Since is null ? Line(1) : null),
            Url = fromSaved ? Line(2) : request.Url,
            Types = request.Types.Count == 0 && Line(3) is { } types ? types.Split(',') : request.Types,
            Fields = request.Fields.Count == 0 && Line(4) is { } fields ? fields.Split(',') : request.Fields,
            LeadFilter = Enum.TryParse<LeadWindowField>(Line(5), out var filter) && request.LeadFilter == default ? filter : request.LeadFilter,
        };
    }

    private static string Stamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The format asked for, else the one the output file's extension names, else CSV.</summary>
    internal static OutputFormat ChooseFormat(string? format, string? output)
    {
        if (format is not null)
        {
            return Enum.Parse<OutputFormat>(format, ignoreCase: true);
        }

        var ext = Path.GetExtension(output ?? "").TrimStart('.');
        return Enum.TryParse<OutputFormat>(ext, ignoreCase: true, out var inferred) && !int.TryParse(ext, CultureInfo.InvariantCulture, out _)
            ? inferred
            : OutputFormat.Csv;
    }

    private static List<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    internal static List<string> SplitValues(string[]? values) => SplitList(values);

    private sealed class UsageException(string message) : Exception(message);
}
