using Spillway.Server.Activities.Import;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Import;

/// <summary>One file of a seed folder: its path, whether it holds leads (else activities), and its format.</summary>
public sealed record SeedFile(string Path, bool Leads, ActivityFileFormat Format);

/// <summary>What a seed folder loaded.</summary>
public sealed record SeedFolderSummary(int LeadFiles, long Leads, int ActivityFiles, long Activities);

/// <summary>
/// The data a first start loads instead of the generated demo activities (<c>spillway serve --seed-from DIR</c>): every
/// lead file (<c>*.leads.csv</c>, <c>.tsv</c>, <c>.ssv</c>, <c>.ndjson</c>, <c>.jsonl</c>, <c>.json</c>) and every other file the
/// activity import reads (<c>*.csv</c>, <c>.tsv</c>, <c>.ssv</c>, <c>.ndjson</c>, <c>.jsonl</c>, <c>.json</c>) directly in the
/// folder; other files are left alone. Every file is read and checked before anything is stored, so a bad file stops
/// the start with nothing loaded, and the next start, on a still-empty store, tries again.
/// </summary>
public sealed class SeedFolder(ILeadStore leads, IActivityStore activities, TimeProvider clock)
{
    /// <summary>The seed files of <paramref name="folder"/>: lead files first, then activity files, each in ordinal name order.</summary>
    /// <exception cref="StartupFailureException">The folder does not exist or holds no seed file (exit code 2).</exception>
    public static IReadOnlyList<SeedFile> Find(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new StartupFailureException(ServerExitCodes.Configuration,
                $"The seed folder '{folder}' does not exist; fix --seed-from (Spillway:Demo:SeedFrom) and start again.");
        }

        var files = new List<SeedFile>();
        foreach (var path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            if (ActivityFileReader.FormatOf(path) is not { } format)
            {
                continue;
            }

            var leadFile = Path.GetExtension(Path.GetFileNameWithoutExtension(path)).Equals(".leads", StringComparison.OrdinalIgnoreCase);
            files.Add(new SeedFile(path, leadFile, format));
        }

        if (files.Count == 0)
        {
            throw new StartupFailureException(ServerExitCodes.Configuration,
                $"The seed folder '{folder}' holds no lead files (*.leads.csv, *.leads.ndjson, ...) and no activity files (*.csv, *.ndjson, ...); fix --seed-from (Spillway:Demo:SeedFrom) and start again.");
        }

        return [.. files.OrderBy(f => f.Leads ? 0 : 1)];
    }

    /// <summary>Reads every file to its end and stops at the first problem.</summary>
    /// <exception cref="StartupFailureException">A file cannot be read, or a record of it is bad (exit code 5), with its name and line.</exception>
    public static void Check(IReadOnlyList<SeedFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        foreach (var file in files)
        {
            using var stream = Open(file);
            try
            {
                var issue = file.Leads
                    ? LeadFileReader.Read(stream, file.Format).Select(r => r.Issue).FirstOrDefault(i => i is not null)
                    : ActivityFileReader.Read(stream, file.Format).Select(r => r.Issue).FirstOrDefault(i => i is not null);
                if (issue is not null)
                {
                    throw Bad(file, $"line {issue.Line}: {issue.Message}");
                }
            }
            catch (ImportFormatException ex)
            {
                throw Bad(file, ex.Message);
            }
        }
    }

    /// <summary>Loads checked files into the subscription: leads first, then activities.</summary>
    public async Task<SeedFolderSummary> LoadAsync(int subscriptionId, IReadOnlyList<SeedFile> files, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(files);
        var leadImporter = new LeadImporter(leads, clock);
        var activityImporter = new ActivityImporter(activities);
        long leadCount = 0, activityCount = 0;
        foreach (var file in files)
        {
            await using var stream = Open(file);
            if (file.Leads)
            {
                var summary = await leadImporter.ImportAsync(subscriptionId, stream, file.Format, _ => { }, null, ct);
                leadCount += summary.Added + summary.Replaced;
            }
            else
            {
                var summary = await activityImporter.ImportAsync(subscriptionId, stream, file.Format, _ => { }, null, ct);
                activityCount += summary.Added;
            }
        }

        return new SeedFolderSummary(files.Count(f => f.Leads), leadCount, files.Count(f => !f.Leads), activityCount);
    }

    private static FileStream Open(SeedFile file) =>
        new(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    private static StartupFailureException Bad(SeedFile file, string reason) =>
        new(ServerExitCodes.BadData, $"The seed file '{Path.GetFileName(file.Path)}' cannot be loaded ({reason}); fix or remove it and start again. Nothing was loaded.");
}
