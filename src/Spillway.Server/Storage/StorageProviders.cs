using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Storage.Embedded;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Storage;

/// <summary>The one place that knows which storage providers exist and picks one by <c>Spillway:Provider</c>.</summary>
public static class StorageProviders
{
    /// <summary>Every provider, the default first.</summary>
    public static IReadOnlyList<StorageProvider> All { get; } = [new EmbeddedStorage(), new PostgresStorage()];

    /// <summary>
    /// Validates the settings and registers the chosen provider's roles (see <see cref="StorageProvider.Register"/>).
    /// Throws <see cref="OptionsValidationException"/> whose message is one line naming each broken setting.
    /// </summary>
    /// <returns>The chosen provider.</returns>
    public static StorageProvider AddSpillwayStorage(this IServiceCollection services, SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var provider = Find(options.Provider);
        var problems = SpillwayOptionsRules.Problems(options).ToList();
        if (provider is null)
        {
            problems.Insert(0, $"Spillway:Provider must be one of {string.Join(", ", All.Select(p => p.Name))} (got '{options.Provider}').");
        }
        else
        {
            problems.InsertRange(0, provider.Validate(options));
        }

        if (problems.Count > 0)
        {
            // The exception joins the failures with "; ", so its message stays one line for the console.
            throw new OptionsValidationException(SpillwayOptions.Section, typeof(SpillwayOptions), problems);
        }

        provider!.Register(services, options);
        return provider;
    }

    private static StorageProvider? Find(string? name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}
