using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Spillway.Server.Activities.Import;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway import</c>: loads activity files (the export's own columns, CSV/TSV/SSV or NDJSON) into a subscription.
/// Idempotent by marketoGUID, so an interrupted import is run again as it is.
/// </summary>
internal static class ImportCommand
{
    private const int IssuesShown = 20;

    public static Command Create()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription (created if missing)." };
        var files = new Argument<FileInfo[]>("files") { Description = "Files to load: .csv, .tsv, .ssv, .ndjson (or give --format).", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format", "-f") { Description = "csv, tsv, ssv or ndjson (default: from each file's extension)." };
        var batch = new Option<int>("--batch-size") { Description = "Activities per append.", DefaultValueFactory = _ => ActivityImporter.DefaultBatchSize };
        var check = new Option<bool>("--check") { Description = "Only read and check the files; store nothing." };
        var command = new Command("import", "Load activities from export files into a subscription (stop the server on the same data folder first).")
        {
            munchkin, files, format, batch, check, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
        };
        command.SetAction(async (result, ct) =>
        {
            ActivityFileFormat? forced = null;
            if (result.GetValue(format) is { } formatText)
            {
                if (!ActivityFileReader.TryParseFormat(formatText, out var parsed))
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]Unknown format '{formatText}': use csv, tsv, ssv or ndjson.[/]");
                    return 2;
                }

                forced = parsed;
            }

            var inputs = result.GetValue(files)!;
            foreach (var file in inputs)
            {
                if (!file.Exists)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]No file {file.FullName}.[/]");
                    return 2;
                }

                if ((forced ?? ActivityFileReader.FormatOf(file.Name)) is null)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]Cannot tell the format of {file.Name} from its extension: give --format.[/]");
                    return 2;
                }
            }

            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var id = result.GetValue(munchkin)!;
            var subscription = await app.Get<IIdentityStore>().FindSubscriptionAsync(id, ct);
            if (subscription is null)
            {
                var created = await app.Get<SubscriptionAdmin>().CreateSubscriptionAsync(id, null, ct);
                if (created.Error is not null)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]{created.Error}[/]");
                    return 1;
                }

                subscription = created.Value!;
            }

            var importer = new ActivityImporter(app.Get<IActivityStore>());
            long totalRead = 0, totalAdded = 0, totalRejected = 0, totalBytes = 0;
            var watch = Stopwatch.StartNew();
            var failed = false;
            foreach (var file in inputs)
            {
                var fileFormat = forced ?? ActivityFileReader.FormatOf(file.Name)!.Value;
                var issues = new List<ImportIssue>();
                var fileWatch = Stopwatch.StartNew();
                ImportSummary? summary = null;
                try
                {
                    await using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                    await AnsiConsole.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask(Markup.Escape(file.Name), maxValue: Math.Max(1, file.Length));
                            summary = await importer.ImportAsync(subscription.Id, stream, fileFormat, issue =>
                            {
                                lock (issues)
                                {
                                    issues.Add(issue);
                                }
                            }, new Progress<ImportProgress>(p =>
                            {
                                task.Value = Math.Min(task.MaxValue, p.Bytes);
                                task.Description = Markup.Escape($"{file.Name}: {p.Read:N0} read, {p.Added:N0} added");
                            }), ct, result.GetValue(batch), result.GetValue(check));
                            task.Value = task.MaxValue;
                        });
                }
                catch (ImportFormatException ex)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]{file.Name}: {ex.Message}[/]");
                    failed = true;
                    continue;
                }

                var s = summary!;
                totalRead += s.Read;
                totalAdded += s.Added;
                totalRejected += s.Rejected;
                totalBytes += file.Length;
                foreach (var issue in issues.OrderBy(i => i.Line).Take(IssuesShown))
                {
                    AnsiConsole.MarkupLineInterpolated($"[yellow]{file.Name}:{issue.Line}: {issue.Message}[/]");
                }

                if (issues.Count > IssuesShown)
                {
                    AnsiConsole.MarkupLineInterpolated($"[yellow]{file.Name}: {issues.Count - IssuesShown:N0} more bad lines not shown.[/]");
                }

                var fileSeconds = Math.Max(0.001, fileWatch.Elapsed.TotalSeconds);
                AnsiConsole.MarkupLineInterpolated(
                    $"{file.Name}: {s.Read:N0} read, {s.Added:N0} added, {s.AlreadyPresent:N0} already present, {s.Rejected:N0} bad lines, {fileSeconds:F1} s ({s.Read / fileSeconds:N0} activities/s).");
            }

            var seconds = Math.Max(0.001, watch.Elapsed.TotalSeconds);
            AnsiConsole.MarkupLineInterpolated(
                $"Imported into {subscription.MunchkinId}: {totalRead:N0} activities read, {totalAdded:N0} added, {totalRejected:N0} bad lines, {totalBytes / 1e6:N0} MB in {seconds:F1} s: [bold]{totalRead / seconds:N0} activities/s[/].");
            return failed ? 1 : totalRejected > 0 ? 3 : 0;
        });
        return command;
    }
}
