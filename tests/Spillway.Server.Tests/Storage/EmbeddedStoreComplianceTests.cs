using Spillway.Server.Hosting;

namespace Spillway.Server.Tests.Storage;

/// <summary>The store compliance suite on the embedded store (SQLite + DuckDB in a fresh temp folder per test).</summary>
public sealed class EmbeddedStoreComplianceTests : StoreComplianceTests
{
    protected override Task<StoreSet> CreateStoresAsync() => EmbeddedStores.CreateAsync();
}

/// <summary>A fresh embedded store set (SQLite + DuckDB) in its own temp folder, deleted on disposal.</summary>
internal static class EmbeddedStores
{
    /// <summary>The settings of an embedded store in <paramref name="folder"/>, the other settings at their defaults.</summary>
    public static SpillwayOptions Options(string folder) => new() { Provider = "Embedded", DataPath = folder };

    public static Task<StoreSet> CreateAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "store-" + Guid.NewGuid().ToString("N"));
        return ProviderStores.CreateAsync(Options(folder), () =>
        {
            Directory.Delete(folder, recursive: true);
            return ValueTask.CompletedTask;
        });
    }
}
