using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Spillway.Server.Hosting;

/// <summary>
/// The server's OpenTelemetry meter (<c>Spillway</c>): API calls by Marketo code, their latency, rows and bytes the
/// exports wrote, jobs by state and the export quota each subscription used today. The instruments are plain
/// System.Diagnostics.Metrics ones, so any OpenTelemetry exporter a host adds sees them; <c>/metrics</c> shows them
/// in the Prometheus text format without one.
/// </summary>
public sealed class SpillwayMetrics
{
    public const string MeterName = "Spillway";

    private readonly Counter<long> _apiCalls;
    private readonly Histogram<double> _apiDuration;
    private readonly Counter<long> _exportRows;
    private readonly Counter<long> _exportBytes;
    private readonly Counter<long> _exportsCompleted;
    private volatile StoreSnapshot _store = new(new Dictionary<string, long>(), new Dictionary<string, long>());

    public SpillwayMetrics(IMeterFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Meter = factory.Create(MeterName);
        _apiCalls = Meter.CreateCounter<long>("spillway.api.calls", "{call}",
            "Marketo API calls (identity, REST, bulk) answered, by endpoint, HTTP status and Marketo error code (none for a success).");
        _apiDuration = Meter.CreateHistogram<double>("spillway.api.call.duration", "s", "How long a Marketo API call took to answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _exportRows = Meter.CreateCounter<long>("spillway.export.rows", "{row}", "Rows written into completed export files, by extract kind.");
        _exportBytes = Meter.CreateCounter<long>("spillway.export.bytes", "By", "Bytes of completed export files, by extract kind.");
        _exportsCompleted = Meter.CreateCounter<long>("spillway.export.files", "{file}", "Export files completed, by extract kind.");
        Meter.CreateObservableGauge("spillway.export.jobs", () => _store.JobsByState.Select(j => new Measurement<long>(j.Value, new KeyValuePair<string, object?>("state", j.Key))),
            "{job}", "Export jobs in the store by state, every kind and subscription together (as of the last scrape).");
        Meter.CreateObservableGauge("spillway.quota.used", () => _store.QuotaBytesBySubscription.Select(q => new Measurement<long>(q.Value,
                new KeyValuePair<string, object?>("subscription", q.Key))),
            "By", "Export quota used today by each subscription: bytes of its jobs completed since its quota day began (as of the last scrape).");
    }

    /// <summary>The meter every instrument belongs to.</summary>
    public Meter Meter { get; }

    /// <summary>One answered Marketo API call.</summary>
    public void ApiCall(string endpoint, int status, string? code, TimeSpan elapsed)
    {
        var tags = new TagList { { "endpoint", endpoint }, { "status", status }, { "code", code ?? "" } };
        _apiCalls.Add(1, tags);
        _apiDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>One completed export file.</summary>
    public void ExportCompleted(string kind, long rows, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("kind", kind);
        _exportRows.Add(rows, tag);
        _exportBytes.Add(bytes, tag);
        _exportsCompleted.Add(1, tag);
    }

    /// <summary>The store's current figures, read before a scrape (a gauge's callback cannot wait for a query).</summary>
    public void SetStoreSnapshot(IReadOnlyDictionary<string, long> jobsByState, IReadOnlyDictionary<string, long> quotaBytesBySubscription) =>
        _store = new StoreSnapshot(jobsByState, quotaBytesBySubscription);

    private sealed record StoreSnapshot(IReadOnlyDictionary<string, long> JobsByState, IReadOnlyDictionary<string, long> QuotaBytesBySubscription);
}
