using System.Globalization;
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

    /// <summary>The read benches' window: the 31 days in the middle of a data folder's 90 days (from its bench-end.txt).</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) MiddleWindow(string data)
    {
        var dataEnd = DateTimeOffset.FromUnixTimeSeconds(long.Parse(File.ReadAllText(Path.Combine(data, "bench-end.txt")), CultureInfo.InvariantCulture));
        var start = dataEnd.AddDays(-45 - 15.5);
        start = new DateTimeOffset(start.Year, start.Month, start.Day, 0, 0, 0, TimeSpan.Zero);
        return (start, start.AddDays(31).AddSeconds(-1));
    }

    /// <summary>One export of the window, default fields, CSV, as a job the worker holds: its file and summary.</summary>
    public static Task<(string TemporaryPath, ExportFileSummary Summary)> RunCsvAsync(ExportRunner runner, int subscriptionId, DateTimeOffset start, DateTimeOffset end)
    {
        var spec = new ExportSpec(start, end, null, null, null, ExportFields.Default.Select(ExportFields.WireName).ToList(), null, ExportFormat.Csv);
        var job = new ExportJobRecord
        {
            ExportId = Guid.NewGuid(),
            SubscriptionId = subscriptionId,
            ApiUserId = 1,
            Format = ExportFormat.Csv,
            Status = ExportJobStatus.Processing,
            SpecJson = spec.ToJson(),
            CreatedAt = DateTimeOffset.UtcNow,
        };
        return runner.RunAsync(job, new ExportLease(job.ExportId, subscriptionId, "bench", 1, DateTimeOffset.MaxValue), CancellationToken.None);
    }
}

/// <summary>An activity type store no bench call reaches: any call is a bench bug.</summary>
internal class NoTypeStore : DispatchProxy
{
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        throw new NotSupportedException($"The bench's export runner does not read activity types ({targetMethod?.Name}).");
}
