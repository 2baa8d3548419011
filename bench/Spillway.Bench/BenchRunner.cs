using System.Reflection;
using Microsoft.Extensions.Options;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

/// <summary>The server's ExportRunner with the activity extract over one store, as the server composes it.</summary>
internal static class BenchRunner
{
    public static ExportRunner Create(IActivityWindowStreamer store, IOptions<SpillwayOptions> options)
    {
        // Writing a file never asks for activity types (only a create does), so the registry's store answers nothing.
        var types = new ActivityTypeRegistry(DispatchProxy.Create<IActivityTypeStore, NoTypeStore>(), TimeProvider.System);
        // The server opens its export folder under the store's identity at start; the bench's runner has no server, so
        // its files go under a fixed identity of its own.
        var files = new ExportFileStore(options);
        files.Open("0123456789abcdef0123456789abcdef");
        return new ExportRunner(new ExtractKinds([new ActivityExtract(types, store, options)]), files);
    }
}

/// <summary>An activity type store no bench call reaches: any call is a bench bug.</summary>
internal class NoTypeStore : DispatchProxy
{
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        throw new NotSupportedException($"The bench's export runner does not read activity types ({targetMethod?.Name}).");
}
