namespace Spillway.Server.Tests.Infrastructure;

/// <summary>
/// Where a server keeps its export files: <c>&lt;export root&gt;/&lt;store id&gt;/files</c> and <c>.../tmp</c>, the store id
/// being the 32 hex digits its store was created with. Tests find the one store folder under a root they made.
/// </summary>
internal static class ExportFolders
{
    /// <summary>The published files folder of the one store that uses <paramref name="exportRoot"/>.</summary>
    public static string Files(string exportRoot) => Path.Combine(StoreFolder(exportRoot), "files");

    /// <summary>The temporary files folder of the one store that uses <paramref name="exportRoot"/>.</summary>
    public static string Temp(string exportRoot) => Path.Combine(StoreFolder(exportRoot), "tmp");

    /// <summary>The store folders under <paramref name="exportRoot"/>, one per store that ever used it.</summary>
    public static IReadOnlyList<string> StoreFolders(string exportRoot) =>
        [.. Directory.GetDirectories(exportRoot).Where(d => Path.GetFileName(d) is { Length: 32 } name && name.All(char.IsAsciiHexDigitLower))];

    private static string StoreFolder(string exportRoot) => Assert.Single(StoreFolders(exportRoot));
}
