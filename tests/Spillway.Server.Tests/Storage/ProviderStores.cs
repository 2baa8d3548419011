using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// Stores as the server gets them: through the storage switch and the provider's own registration, so a provider's
/// types are built in one place only (its <see cref="StorageProvider"/>), for the server and the tests alike.
/// </summary>
internal static class ProviderStores
{
    /// <summary>The registered roles of the provider these settings choose, not yet initialized.</summary>
    public static ServiceProvider Services(SpillwayOptions options)
    {
        var services = new ServiceCollection();
        services.AddSpillwayStorage(options);
        return services.BuildServiceProvider();
    }

    /// <summary>The registered roles with the schema brought up to date, as the server has them before it answers.</summary>
    public static async Task<ServiceProvider> InitializedAsync(SpillwayOptions options)
    {
        var services = Services(options);
        foreach (var initializer in services.GetServices<IStorageInitializer>())
        {
            await initializer.InitializeAsync(CancellationToken.None);
        }

        return services;
    }

    /// <summary>A store set over these settings' provider; <paramref name="cleanup"/> runs after its services are disposed.</summary>
    public static async Task<StoreSet> CreateAsync(SpillwayOptions options, Func<ValueTask>? cleanup = null) =>
        Open(await InitializedAsync(options), cleanup);

    /// <summary>A store set over registered services (another node opens them without initializing).</summary>
    public static StoreSet Open(ServiceProvider services, Func<ValueTask>? cleanup) => new(
        services.GetRequiredService<IIdentityStore>(),
        services.GetRequiredService<IExportJobStore>(),
        services.GetRequiredService<IActivityStore>(),
        async () =>
        {
            await services.DisposeAsync();
            if (cleanup is not null)
            {
                await cleanup();
            }
        },
        services.GetRequiredService<IActivityPageReader>(),
        services.GetRequiredService<IActivityWriter>(),
        services.GetRequiredService<IActivityTypeStore>(),
        services.GetRequiredService<IJobControlStore>(),
        services.GetRequiredService<IActivityWindowStreamer>());
}
