using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Spillway.Server.Hosting;

/// <summary>
/// The Prometheus text format (version 0.0.4) of the <see cref="SpillwayMetrics"/> meter, collected with a
/// <see cref="MeterListener"/>: counters are summed per label set, histograms bucketed by the boundaries their
/// instrument advises, gauges observed at each scrape. Only this server's meter is listened to, so several servers in
/// one process (tests) keep separate figures.
/// </summary>
public sealed class PrometheusExposition : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MeterListener _listener = new();
    private readonly Meter _meter;
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _scrape = new();

    public PrometheusExposition(SpillwayMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _meter = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, _meter))
            {
                _series[instrument] = new Series(instrument);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.TryGetValue(instrument, out var series))
        {
            series.Record(value, Labels(tags));
        }
    }

    /// <summary>The whole exposition, gauges observed now.</summary>
    public string Scrape()
    {
        lock (_scrape)
        {
            foreach (var series in _series.Values.Where(s => s.IsGauge))
            {
                series.Clear();
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var series in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.Write(text);
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>Label pairs in the exposition's syntax, in a stable order, empty values left out.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pairs = new List<string>(tags.Length);
        foreach (var tag in tags)
        {
            var value = Convert.ToString(tag.Value, CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(value))
            {
                pairs.Add($"{tag.Key}=\"{Escape(value)}\"");
            }
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) => double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>One instrument's values by label set.</summary>
    private sealed class Series(Instrument instrument)
    {
        private readonly ConcurrentDictionary<string, double[]> _values = new(StringComparer.Ordinal);
        private readonly double[] _bounds = instrument is Histogram<double> histogram && histogram.Advice?.HistogramBucketBoundaries is { } advised
            ? [.. advised]
            : [];

        public bool IsGauge { get; } = instrument is ObservableGauge<long> or ObservableGauge<double>;

        private bool IsHistogram => instrument is Histogram<double> or Histogram<long>;

        /// <summary>The Prometheus name: dots to underscores, the unit as a suffix unless the name ends with it, _total on a counter.</summary>
        public string Name { get; } = WithUnit(instrument.Name.Replace('.', '_'), instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        });

        private static string WithUnit(string name, string suffix) => name.EndsWith(suffix, StringComparison.Ordinal) ? name : name + suffix;

        public void Clear() => _values.Clear();

        public void Record(double value, string labels)
        {
            if (IsGauge)
            {
                _values[labels] = [value];
                return;
            }

            // Counters: [sum]; histograms: [sum, count, bucket counts...].
            var cells = _values.GetOrAdd(labels, _ => new double[IsHistogram ? 2 + _bounds.Length : 1]);
            lock (cells)
            {
                cells[0] += value;
                if (IsHistogram)
                {
                    cells[1]++;
                    for (var i = 0; i < _bounds.Length; i++)
                    {
                        if (value <= _bounds[i])
                        {
                            cells[2 + i]++;
                        }
                    }
                }
            }
        }

        public void Write(StringBuilder text)
        {
            var isCounter = !IsGauge && !IsHistogram;
            var name = isCounter ? Name + "_total" : Name;
            text.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description?.ReplaceLineEndings(" ")).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(IsGauge ? "gauge" : IsHistogram ? "histogram" : "counter").Append('\n');
            foreach (var (labels, cells) in _values.OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                double[] copy;
                lock (cells)
                {
                    copy = [.. cells];
                }

                if (!IsHistogram)
                {
                    text.Append(name).Append(Braced(labels)).Append(' ').Append(Number(copy[0])).Append('\n');
                    continue;
                }

                for (var i = 0; i < _bounds.Length; i++)
                {
                    text.Append(name).Append("_bucket").Append(Braced(Join(labels, $"le=\"{Number(_bounds[i])}\""))).Append(' ').Append(Number(copy[2 + i])).Append('\n');
                }

                text.Append(name).Append("_bucket").Append(Braced(Join(labels, "le=\"+Inf\""))).Append(' ').Append(Number(copy[1])).Append('\n');
                text.Append(name).Append("_sum").Append(Braced(labels)).Append(' ').Append(Number(copy[0])).Append('\n');
                text.Append(name).Append("_count").Append(Braced(labels)).Append(' ').Append(Number(copy[1])).Append('\n');
            }
        }

        private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

        private static string Braced(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";
    }
}
