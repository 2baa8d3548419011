namespace Spillway.Server.Hosting;

/// <summary>
/// The data folder of a server started with <c>Spillway:InMemory</c>: a new folder on a tmpfs (RAM), deleted when the
/// server's services are disposed. The embedded engines keep working on files as they always do; only the files live
/// in memory, so nothing is left on disk and nothing survives a stop.
/// </summary>
public sealed class InMemoryDataFolder : IDisposable
{
    private const string SharedMemory = "/dev/shm";

    private InMemoryDataFolder(string path) => Path = path;

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>
    /// When the configuration asks for an in-memory store, creates its folder and points <c>Spillway:DataPath</c> at it
    /// (above every other source); otherwise does nothing and returns null.
    /// </summary>
    public static InMemoryDataFolder? Apply(ConfigurationManager configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var provider = configuration[$"{SpillwayOptions.Section}:{nameof(SpillwayOptions.Provider)}"] ?? "Embedded";
        if (!configuration.GetValue<bool>($"{SpillwayOptions.Section}:{nameof(SpillwayOptions.InMemory)}")
            || !string.Equals(provider, "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            // Another provider with InMemory is refused by the settings check, before anything is created.
            return null;
        }

        var root = Directory.Exists(SharedMemory) ? SharedMemory : System.IO.Path.GetTempPath();
        var path = System.IO.Path.Combine(root, $"spillway-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        configuration.AddInMemoryCollection([new($"{SpillwayOptions.Section}:{nameof(SpillwayOptions.DataPath)}", path)]);
        return new InMemoryDataFolder(path);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a platform that cannot delete open files: the tmpfs is cleared at reboot anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
