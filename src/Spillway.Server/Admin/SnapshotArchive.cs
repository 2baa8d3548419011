using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

/// <summary>
/// A whole data folder as one <c>.tar.gz</c>: <c>metadata.db</c>, <c>activities.duckdb</c> and the published export
/// files under <c>exports/files/</c> (which the restored server moves into its store's own export folder at its first
/// start). Saved from a running server (its store's <see cref="IStoreSnapshot"/>), restored into an empty folder a
/// server then starts on.
/// </summary>
public static partial class SnapshotArchive
{
    private static readonly string[] Databases = ["metadata.db", "activities.duckdb"];

    /// <summary>Writes the archive of a running server's store and export files to <paramref name="output"/>.</summary>
    public static async Task WriteAsync(IStoreSnapshot snapshot, ExportFileStore files, string dataPath, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(files);
        // On the data folder's own file system, so VACUUM INTO and the DuckDB copy never cross devices.
        var staging = Path.Combine(Path.GetFullPath(dataPath), "snapshot-tmp", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        try
        {
            await snapshot.SaveAsync(staging, ct);
            await using var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
            await using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
            foreach (var name in Databases)
            {
                await tar.WriteEntryAsync(Path.Combine(staging, name), name, ct);
            }

            foreach (var (_, _, path) in files.PublishedFiles())
            {
                var relative = Path.GetRelativePath(files.FilesFolder, path).Replace('\\', '/');
                try
                {
                    await tar.WriteEntryAsync(path, "exports/files/" + relative, ct);
                }
                catch (FileNotFoundException)
                {
                    // Swept by retention between the listing and the read: its job is expired in the copy too, or soon.
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(staging, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Restores an archive into <paramref name="dataFolder"/>, which must not exist or be empty. Only the entries a
    /// snapshot holds are accepted (the two databases, files under <c>exports/files/</c>, no link, no <c>..</c>); any
    /// other archive is refused with <see cref="InvalidDataException"/> and nothing is left in the folder.
    /// </summary>
    public static async Task RestoreAsync(Stream input, string dataFolder, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        var target = Path.GetFullPath(dataFolder);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException($"The data folder {target} is not empty; restore into a new or empty folder.");
        }

        var parent = Path.GetDirectoryName(target) ?? target;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.restore-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                await using var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
                await using var tar = new TarReader(gzip, leaveOpen: true);
                while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
                {
                    if (entry.EntryType is TarEntryType.Directory)
                    {
                        continue;
                    }

                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !IsSnapshotEntry(entry.Name) || !seen.Add(entry.Name))
                    {
                        throw new InvalidDataException($"This is not a Spillway snapshot: it holds '{Clip(entry.Name)}'.");
                    }

                    var path = Path.Combine(staging, entry.Name);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await entry.ExtractToFileAsync(path, overwrite: false, ct);
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
            {
                throw new InvalidDataException(e.Message.StartsWith("This is not", StringComparison.Ordinal)
                    ? e.Message
                    : "This is not a Spillway snapshot: the archive cannot be read as .tar.gz.", e);
            }

            if (!seen.Contains("metadata.db") || !seen.Contains("activities.duckdb"))
            {
                throw new InvalidDataException("This is not a Spillway snapshot: metadata.db or activities.duckdb is missing.");
            }

            if (Directory.Exists(target))
            {
                Directory.Delete(target);
            }

            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static bool IsSnapshotEntry(string name) =>
        Array.IndexOf(Databases, name) >= 0 || (name.StartsWith("exports/files/", StringComparison.Ordinal) && SafeRelativePath().IsMatch(name));

    private static string Clip(string name) => name.Length <= 100 ? name : name[..100] + "...";

    // Letters, digits, '.', '_', '-' and '/' between non-dot segments: no "..", no absolute path, no control byte.
    [GeneratedRegex(@"^exports/files/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$")]
    private static partial Regex SafeRelativePath();
}
