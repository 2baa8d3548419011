using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Export files, apart from their metadata (as Azurite keeps extents apart from blob records). A file is written
/// under a temporary name in <c>tmp/</c> and renamed into <c>files/</c> only when complete, so a published name
/// always holds a whole file. File names derive from the job's GUID only, never from input.
/// </summary>
public sealed class ExportFileStore
{
    private readonly string _files;
    private readonly string _temp;

    public ExportFileStore(IOptions<SpillwayOptions> options)
    {
        var o = options.Value;
        var root = Path.GetFullPath(o.ExportPath ?? Path.Combine(o.DataPath, "exports"));
        _files = Path.Combine(root, "files");
        _temp = Path.Combine(root, "tmp");
        Directory.CreateDirectory(_files);
        Directory.CreateDirectory(_temp);
    }

    public string FilesFolder => _files;

    /// <summary>A new temporary file for a job run; the node id and fencing token keep two runs of one job apart.</summary>
    public string NewTemporaryPath(Guid exportId, string nodeId, long fencingToken) =>
        Path.Combine(_temp, $"{exportId:N}.{Sanitize(nodeId)}.{fencingToken}.tmp");

    /// <summary>
    /// The published file of one run of a job. Runs are told apart by their lease's fencing token, so a run that lost
    /// its lease can delete its own file without touching the file of the run that completed the job.
    /// </summary>
    public string PublishedPath(Guid exportId, long fencingToken) => Path.Combine(_files, $"{exportId:N}.{fencingToken}.csv");

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
    public IEnumerable<(Guid ExportId, long FencingToken, string Path)> TemporaryFiles() => Parse(_temp, "*.tmp");

    /// <summary>Published files with the job and run they belong to.</summary>
    public IEnumerable<(Guid ExportId, long FencingToken, string Path)> PublishedFiles() => Parse(_files, "*.csv");

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
