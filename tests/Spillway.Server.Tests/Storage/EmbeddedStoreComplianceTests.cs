using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;

namespace Spillway.Server.Tests.Storage;

/// <summary>The store compliance suite on the embedded store (SQLite + DuckDB in a fresh temp folder per test).</summary>
public sealed class EmbeddedStoreComplianceTests : StoreComplianceTests
{
    protected override Task<StoreSet> CreateStoresAsync() => EmbeddedStores.CreateAsync();
}

/// <summary>A fresh embedded store set (SQLite + DuckDB) in its own temp folder, deleted on disposal.</summary>
internal static class EmbeddedStores
{
    public static async Task<StoreSet> CreateAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "store-" + Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection().AddEmbeddedStorage(folder, TimeSpan.FromHours(new SpillwayOptions().Worker.ChunkHours), new SpillwayOptions().DuckDbMemoryLimit).BuildServiceProvider();
        foreach (var initializer in services.GetServices<IStorageInitializer>())
        {
            await initializer.InitializeAsync(CancellationToken.None);
        }

        return new StoreSet(
            services.GetRequiredService<IIdentityStore>(),
            services.GetRequiredService<IExportJobStore>(),
            services.GetRequiredService<IActivityStore>(),
            async () =>
            {
                await services.DisposeAsync();
                Directory.Delete(folder, recursive: true);
            },
            services.GetRequiredService<IActivityPageReader>(),
            services.GetRequiredService<IActivityWriter>(),
            services.GetRequiredService<IActivityTypeStore>(),
            services.GetRequiredService<IActivityWindowStreamer>());
    }
}
