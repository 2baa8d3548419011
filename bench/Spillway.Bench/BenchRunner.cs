using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

/// <summary>The server's ExportRunner with the activity extract over one store, as the server composes it.</summary>
internal static class BenchRunner
{
    public static ExportRunner Create(IActivityStore store, IOptions<SpillwayOptions> options)
    {
        // Writing a file never asks for activity types (only a create does), so the registry has no store behind it.
        var types = new ActivityTypeRegistry(new ServiceCollection().BuildServiceProvider(), TimeProvider.System);
        return new ExportRunner(new ExtractKinds([new ActivityExtract(types, store, options)]), new ExportFileStore(options));
    }
}
