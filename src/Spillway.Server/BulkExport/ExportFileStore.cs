using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Export files, apart from their metadata (as Azurite keeps extents apart from blob records). A file is written
/// under a temporary name in <c>tmp/</c> and renamed into <c>files/</c> only when complete, so a published name
/// always holds a whole file. File names derive from the job's GUID only, never from input. Both folders sit under the
/// store's identity (<c>exports/&lt;store id&gt;/files</c>): the nodes of one store share them, and another store
/// pointed at the same export folder has its own, so no sweeper ever sees, let alone deletes, another store's files.
/// </summary>
public sealed class ExportFileStore
{
    private readonly string _root;
    private readonly bool _rootInDataFolder;
    private string? _files;
    private string? _temp;

    public ExportFileStore(IOptions<SpillwayOptions> options)
    {
        var o = options.Value;
        _rootInDataFolder = o.ExportPath is null;
        _root = Path.GetFullPath(o.ExportPath ?? Path.Combine(o.DataPath, "exports"));
    }

    /// <summary>
    /// Opens the folders of the store with this identity (<see cref="Storage.IStorageInitializer"/> returns it); called
    /// once at start, before any job runs. Files a version before store identities left directly under the default
    /// export folder move into the store's folder: that folder belonged to this data folder's store alone. Under a
    /// configured, possibly shared, export folder nobody can tell whose they were, so they stay where they are.
    /// </summary>
    public void Open(string storeId)
    {
        if (storeId.Length != 32 || !storeId.All(char.IsAsciiHexDigitLower))
        {
            throw new InvalidDataException($"The store identity '{storeId}' is not 32 lower-case hex digits.");
        }

        var files = Path.Combine(_root, storeId, "files");
        var temp = Path.Combine(_root, storeId, "tmp");
        Directory.CreateDirectory(files);
        Directory.CreateDirectory(temp);
        if (_rootInDataFolder)
        {
            MoveLegacyFiles(Path.Combine(_root, "files"), files);
            MoveLegacyFiles(Path.Combine(_root, "tmp"), temp);
        }

        _temp = temp;
        _files = files;
    }

    public string FilesFolder => _files ?? throw NotOpen();

    private string TempFolder => _temp ?? throw NotOpen();

    private static InvalidOperationException NotOpen() => new("The export files are opened with the store's identity at start (SpillwayApp.InitializeAsync).");

    private static void MoveLegacyFiles(string legacy, string target)
    {
        if (!Directory.Exists(legacy))
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(legacy))
        {
            File.Move(path, Path.Combine(target, Path.GetFileName(path)), overwrite: true);
        }

        Directory.Delete(legacy);
    }


    /// <summary>A new temporary file for a job run; the node id and fencing token keep two runs of one job apart.</summary>
    public string NewTemporaryPath(Guid exportId, string nodeId, long fencingToken) =>
        Path.Combine(TempFolder, $"{exportId:N}.{Sanitize(nodeId)}.{fencingToken}.tmp");

    /// <summary>
    /// The published file of one run of a job. Runs are told apart by their lease's fencing token, so a run that lost
    /// its lease can delete its own file without touching the file of the run that completed the job.
    /// </summary>
    public string PublishedPath(Guid exportId, long fencingToken) => Path.Combine(FilesFolder, $"{exportId:N}.{fencingToken}.csv");

    /// <summary>Atomically moves a finished temporary file into place.</summary>
    public string Publish(string temporaryPath, Guid exportId, long fencingToken)
    {
        var path = PublishedPath(exportId, fencingToken);
        File.Move(temporaryPath, path, overwrite: true);
        return path;
    }

    public bool TryGetPublished(Guid exportId, long fencingToken, out string path, out long length)
    {
        path = PublishedPath(exportId, fencingToken);
        var info = new FileInfo(path);
        length = info.Exists ? info.Length : -1;
        return info.Exists;
    }

    public void Delete(Guid exportId, long fencingToken) => TryDelete(PublishedPath(exportId, fencingToken));

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the sweeper tries again.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Temporary files with the job and run they belong to.</summary>
    public IEnumerable<(Guid ExportId, long FencingToken, string Path)> TemporaryFiles() => Parse(TempFolder, "*.tmp");

    /// <summary>Published files with the job and run they belong to.</summary>
    public IEnumerable<(Guid ExportId, long FencingToken, string Path)> PublishedFiles() => Parse(FilesFolder, "*.csv");

    private static IEnumerable<(Guid, long, string)> Parse(string folder, string pattern)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(folder, pattern))
        {
            var parts = Path.GetFileName(path).Split('.');
            if (parts.Length >= 3 && Guid.TryParseExact(parts[0], "N", out var id)
                && long.TryParse(parts[^2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var token))
            {
                yield return (id, token, path);
            }
        }
    }

    private static string Sanitize(string nodeId) => string.Concat(nodeId.Where(char.IsAsciiLetterOrDigit).Take(40));
}
