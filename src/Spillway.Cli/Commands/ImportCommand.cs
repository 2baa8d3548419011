using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Spillway.Server.Activities.Import;
using Spillway.Server.Admin;
using Spillway.Server.Leads.Import;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway import</c>: loads activity files (the export's own columns, CSV/TSV/SSV or NDJSON) into a subscription,
/// idempotent by marketoGUID; <c>spillway import leads</c> loads lead files (Bulk Lead Extract's columns, or NDJSON of
/// lead objects), idempotent by id. Either is run again as it is after an interruption.
/// </summary>
internal static class ImportCommand
{
    private const int IssuesShown = 20;

    /// <summary>What one file's load reports: the summary line's counts, the bad records, and whether it was read at all.</summary>
    private sealed record FileOutcome(long Read, long Loaded, long Refused, string Counts, List<ImportIssue> Issues);

    private delegate Task<FileOutcome> LoadFile(int subscriptionId, Stream stream, ActivityFileFormat format, Action<ImportProgress> onProgress,
        CancellationToken ct);

    public static Command Create()
    {
        var command = new Command("import",
            "Load activities from export files into a subscription (in a data folder with the server stopped, or with --url through a running server).");
        var (munchkin, files, format, batch, check) = Arguments(command, "Activities per append.", ActivityImporter.DefaultBatchSize);
        command.SetAction((result, ct) => RunAsync(result, munchkin, files, format, batch, "activities", app =>
        {
            var importer = new ActivityImporter(app.Get<IActivityStore>());
            return async (subscriptionId, stream, fileFormat, onProgress, token) =>
            {
                var issues = new List<ImportIssue>();
                var s = await importer.ImportAsync(subscriptionId, stream, fileFormat, i => Add(issues, i), new Progress<ImportProgress>(onProgress), token,
                    result.GetValue(batch), result.GetValue(check));
                return new FileOutcome(s.Read, s.Added, s.Rejected, $"{s.Read:N0} read, {s.Added:N0} added, {s.AlreadyPresent:N0} already present", issues);
            };
        }, ct));

        command.Subcommands.Add(CreateLeads());
        return command;
    }

    private static Command CreateLeads()
    {
        var command = new Command("leads",
            "Load leads from lead extract files (CSV/TSV/SSV with REST field names, or NDJSON) into a subscription, by id (in a data folder with the server stopped, or with --url through a running server).");
        var (munchkin, files, format, batch, check) = Arguments(command, "Leads per store transaction.", LeadImporter.DefaultBatchSize);
        command.SetAction((result, ct) => RunAsync(result, munchkin, files, format, batch, "leads", app =>
        {
            var importer = new LeadImporter(app.Get<ILeadStore>(), app.Get<TimeProvider>(), app.Get<ILeadFieldStore>());
            return async (subscriptionId, stream, fileFormat, onProgress, token) =>
            {
                var issues = new List<ImportIssue>();
                var s = await importer.ImportAsync(subscriptionId, stream, fileFormat, i => Add(issues, i), new Progress<ImportProgress>(onProgress), token,
                    result.GetValue(batch), result.GetValue(check));
                return new FileOutcome(s.Read, s.Added + s.Replaced, s.Refused,
                    $"{s.Read:N0} read, {s.Added:N0} added, {s.Replaced:N0} replaced, {s.Unchanged:N0} unchanged", issues);
            };
        }, ct));
        return command;
    }

    private static void Add(List<ImportIssue> issues, ImportIssue issue)
    {
        lock (issues)
        {
            issues.Add(issue);
        }
    }

    private static (Argument<string>, Argument<FileInfo[]>, Option<string?>, Option<int>, Option<bool>) Arguments(Command command, string batchText,
        int defaultBatch)
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription (created if missing)." };
        var files = new Argument<FileInfo[]>("files") { Description = "Files to load: .csv, .tsv, .ssv, .ndjson (or give --format).", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format", "-f") { Description = "csv, tsv, ssv or ndjson (default: from each file's extension)." };
        var batch = new Option<int>("--batch-size") { Description = batchText, DefaultValueFactory = _ => defaultBatch };
        var check = new Option<bool>("--check") { Description = "Only read and check the files; store nothing." };
        foreach (var argument in new Argument[] { munchkin, files })
        {
            command.Arguments.Add(argument);
        }

        foreach (var option in new Option[] { format, batch, check, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres, AdminTarget.Url, AdminTarget.AdminKey })
        {
            command.Options.Add(option);
        }

        return (munchkin, files, format, batch, check);
    }

    private static async Task<int> RunAsync(ParseResult result, Argument<string> munchkin, Argument<FileInfo[]> files, Option<string?> format,
        Option<int> batch, string what, Func<Microsoft.AspNetCore.Builder.WebApplication, LoadFile> loader, CancellationToken ct)
    {
        ActivityFileFormat? forced = null;
        if (result.GetValue(format) is { } formatText)
        {
            if (!ActivityFileReader.TryParseFormat(formatText, out var parsed))
            {
                throw new CliException(ExitCodes.Usage, $"Unknown format '{formatText}': use csv, tsv, ssv or ndjson.");
            }

            forced = parsed;
        }

        if (result.GetValue(batch) < 1)
        {
            throw new CliException(ExitCodes.Usage, "--batch-size must be at least 1.");
        }

        var inputs = result.GetValue(files)!;
        foreach (var file in inputs)
        {
            if (!file.Exists)
            {
                throw new CliException(ExitCodes.Usage, $"No file {file.FullName}.");
            }

            if ((forced ?? ActivityFileReader.FormatOf(file.Name)) is null)
            {
                throw new CliException(ExitCodes.Usage, $"Cannot tell the format of {file.Name} from its extension: give --format.");
            }
        }

        var id = result.GetValue(munchkin)!;
        await using var target = await ImportTarget.OpenAsync(result, id, what, loader, ct);
        var load = target.Load;
        // Import prints no data: its progress and messages all go to stderr.
        var console = JsonOutput.Error();
        long totalRead = 0, totalLoaded = 0, totalRefused = 0, totalBytes = 0;
        var watch = Stopwatch.StartNew();
        var unreadable = false;
        foreach (var file in inputs)
        {
            var fileFormat = forced ?? ActivityFileReader.FormatOf(file.Name)!.Value;
            var fileWatch = Stopwatch.StartNew();
            FileOutcome? outcome = null;
            try
            {
                await using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                await console.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask(Markup.Escape(file.Name), maxValue: Math.Max(1, file.Length));
                        outcome = await load(target.SubscriptionId, stream, fileFormat, p =>
                        {
                            task.Value = Math.Min(task.MaxValue, p.Bytes);
                            task.Description = Markup.Escape($"{file.Name}: {p.Read:N0} read, {p.Added:N0} loaded");
                        }, ct);
                        task.Value = task.MaxValue;
                    });
            }
            catch (ImportFormatException ex)
            {
                console.MarkupLineInterpolated($"[red]{file.Name}: {ex.Message}[/]");
                unreadable = true;
                continue;
            }

            var o = outcome!;
            totalRead += o.Read;
            totalLoaded += o.Loaded;
            totalRefused += o.Refused;
            totalBytes += file.Length;
            foreach (var issue in o.Issues.OrderBy(i => i.Line).Take(IssuesShown))
            {
                console.MarkupLineInterpolated($"[yellow]{file.Name}:{issue.Line}: {issue.Message}[/]");
            }

            if (o.Issues.Count > IssuesShown)
            {
                console.MarkupLineInterpolated($"[yellow]{file.Name}: {o.Issues.Count - IssuesShown:N0} more bad lines not shown.[/]");
            }

            var fileSeconds = Math.Max(0.001, fileWatch.Elapsed.TotalSeconds);
            console.MarkupLineInterpolated($"{file.Name}: {o.Counts}, {o.Refused:N0} bad lines, {fileSeconds:F1} s ({o.Read / fileSeconds:N0} {what}/s).");
        }

        var seconds = Math.Max(0.001, watch.Elapsed.TotalSeconds);
        var verb = what == "leads" ? "added or replaced" : "added";
        console.MarkupLineInterpolated(
            $"Imported into {target.MunchkinId}: {totalRead:N0} {what} read, {totalLoaded:N0} {verb}, {totalRefused:N0} bad lines, {totalBytes / 1e6:N0} MB in {seconds:F1} s: [bold]{totalRead / seconds:N0} {what}/s[/].");

        // Bad input, whether a whole file or some of its lines, has its own code: 3 means a quota for every command.
        return unreadable || totalRefused > 0 ? ExitCodes.BadData : ExitCodes.Ok;
    }

    /// <summary>
    /// Where the files go: the store opened in this process, or with <c>--url</c> a running server's admin API, which
    /// reads each file as it is sent with the same readers and rules.
    /// </summary>
    private sealed class ImportTarget : IAsyncDisposable
    {
        private readonly IAsyncDisposable _owner;

        private ImportTarget(IAsyncDisposable owner, int subscriptionId, string munchkinId, LoadFile load)
        {
            _owner = owner;
            SubscriptionId = subscriptionId;
            MunchkinId = munchkinId;
            Load = load;
        }

        public int SubscriptionId { get; }

        public string MunchkinId { get; }

        public LoadFile Load { get; }

        public static async Task<ImportTarget> OpenAsync(ParseResult result, string munchkinId, string what,
            Func<Microsoft.AspNetCore.Builder.WebApplication, LoadFile> loader, CancellationToken ct)
        {
            if (result.GetValue(AdminTarget.Url) is not null)
            {
                var backend = (HttpBackend)await AdminTarget.OpenAsync(result, ct);
                await backend.EnsureSubscriptionAsync(munchkinId, ct);
                var batch = result.GetValue<int>("--batch-size");
                var checkOnly = result.GetValue<bool>("--check");
                return new ImportTarget(backend, 0, munchkinId, async (_, stream, format, onProgress, token) =>
                {
                    // The request disposes the stream once sent: its length is read before.
                    var length = stream.Length;
                    var answer = await backend.ImportAsync(munchkinId, what, stream, format, batch, checkOnly, token);
                    long Number(string name) => answer[name]!.GetValue<long>();
                    var issues = answer["issues"]!.AsArray().Select(i => new ImportIssue(i!["line"]!.GetValue<long>(), i["message"]!.GetValue<string>())).ToList();
                    var counts = what == "leads"
                        ? $"{Number("read"):N0} read, {Number("added"):N0} added, {Number("replaced"):N0} replaced, {Number("unchanged"):N0} unchanged"
                        : $"{Number("read"):N0} read, {Number("added"):N0} added, {Number("unchanged"):N0} already present";
                    onProgress(new ImportProgress(length, Number("read"), Number("added"), Number("refused")));
                    // The server returns the first bad lines only; the count says how many there were.
                    return new FileOutcome(Number("read"), Number("added") + Number("replaced"), Number("refused"), counts, issues);
                });
            }

            var app = await CommonOptions.OpenStoreAsync(result, ct);
            try
            {
                var subscription = await app.Get<IIdentityStore>().FindSubscriptionAsync(munchkinId, ct);
                if (subscription is null)
                {
                    var created = await app.Get<SubscriptionAdmin>().CreateSubscriptionAsync(munchkinId, null, ct);
                    subscription = created.Value ?? throw new CliException(ExitCodes.Failure, created.Error!);
                }

                return new ImportTarget(app, subscription.Id, subscription.MunchkinId, loader(app));
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
        }

        public ValueTask DisposeAsync() => _owner.DisposeAsync();
    }
}
