using System.Security.Cryptography;
using Spillway.Server.Activities.Export;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;
using Spillway.Server.Tests.BulkExport;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// A store's window stream (<see cref="IActivityWindowStreamer"/>) into the file writer must give exactly the bytes
/// that <see cref="ExportBytesOracle"/> writes for the rows this test appended, selected, filtered and ordered as the
/// query says, whatever the text holds; and it must stop on cancellation and on a failing sink.
/// </summary>
public abstract class WindowStreamTests : IAsyncLifetime
{
    private const int SubscriptionId = 7;
    private static readonly DateTimeOffset From = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddDays(4).AddSeconds(-1);
    private static readonly ExportField[] Fields = [.. ExportFields.Default, ExportField.ActionResult];
    private readonly List<ActivityRecord> _appended = [];
    private StoreSet? _stores;

    protected StoreSet Stores => _stores!;

    protected abstract Task<StoreSet> CreateStoresAsync();

    private IActivityWindowStreamer Streamer => _stores!.Streamer;

    public async Task InitializeAsync()
    {
        _stores = await CreateStoresAsync();
        // Many result chunks per day query (2,048 rows each), hard text from the demo generator, and the edge cases below.
        var rows = new DemoActivityGenerator(11).Generate(20_000, From, To, 1_000).ToList();
        var guid = 900_000L;
        ActivityRecord Edge(string? asset, string attributes, string? result) =>
            new(guid++, 42, From.AddHours(30), 1, null, null, asset, attributes, result);
        rows.AddRange(
        [
            Edge(null, "{}", null),
            Edge("", "{\"a\":\"\"}", ""),
            Edge("null", "{\"v\":null}", "null"),
            Edge("short,one", "{\"q\":\"\\\"\"}", "a\"b"),                // inline strings (12 bytes or fewer) with triggers
            Edge("exactly12byt", "0123456789ab", "0123456789abc"),         // the inline / pointer boundary
            Edge("line\r\nbreak", "{\"t\":\"tab\\tand space\"}", "tab\there"),
            Edge("nul\0inside", "{\"nul\":\"\0\"}", "\0"),
            Edge("日本語のキャンペーン", "{\"emoji\":\"🎉🚀\"}", "ünïcödé"),
            Edge("\"", "\"\"\"", "\""),
            Edge(new string('x', 5000), "{\"big\":\"" + new string('"', 1_200_000) + "\"}", null), // larger than the 1 MiB buffer, quote-doubled
        ]);
        await _stores.Activities.AppendAsync(SubscriptionId, rows, CancellationToken.None);
        _appended.AddRange(rows);
    }

    public async Task DisposeAsync()
    {
        if (_stores is not null)
        {
            await _stores.DisposeAsync();
        }
    }

    public static TheoryData<ExportFormat, int> Formats => new()
    {
        { ExportFormat.Csv, ExportFileWriter.DefaultBufferSize },
        { ExportFormat.Tsv, ExportFileWriter.DefaultBufferSize },
        { ExportFormat.Ssv, ExportFileWriter.DefaultBufferSize },
        { ExportFormat.Csv, 64 }, // a tiny buffer: every value crosses a flush somewhere
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Streamed_window_is_the_expected_bytes(ExportFormat format, int bufferSize)
    {
        var query = new ActivityQuery(SubscriptionId, From, To, null, null);
        var (expected, expectedRows) = Expected(query, format);
        var (actual, actualRows) = await StreamAsync(query, format, bufferSize);

        Assert.Equal(20_010, expectedRows);
        Assert.Equal(expectedRows, actualRows);
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(actual));
    }

    [Fact]
    public async Task Streamed_window_honours_type_and_asset_filters_and_bounds()
    {
        // Bounds inside the data, on odd seconds, and the filters of an export.
        var assetIds = _appended.Where(r => r.PrimaryAttributeValueId is not null).Select(r => r.PrimaryAttributeValueId!.Value).Distinct().Take(5).ToList();
        var queries = new[]
        {
            new ActivityQuery(SubscriptionId, From.AddHours(5).AddSeconds(17), From.AddDays(2).AddSeconds(-3), null, null),
            new ActivityQuery(SubscriptionId, From, To, [1, 2, 10], null),
            new ActivityQuery(SubscriptionId, From, To, null, assetIds),
            new ActivityQuery(SubscriptionId, From, To, null, []),
            new ActivityQuery(SubscriptionId + 1, From, To, null, null),
        };
        foreach (var query in queries)
        {
            var (expected, expectedRows) = Expected(query, ExportFormat.Csv);
            var (actual, actualRows) = await StreamAsync(query, ExportFormat.Csv, ExportFileWriter.DefaultBufferSize);
            Assert.Equal(expectedRows, actualRows);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task Cancelling_stops_the_stream_and_ends_the_task_as_cancelled()
    {
        using var cts = new CancellationTokenSource();
        var sink = new CountingSink(onRow: n =>
        {
            if (n == 3_000)
            {
                cts.Cancel();
            }
        });
        var stream = Streamer.StreamWindowAsync(new ActivityQuery(SubscriptionId, From, To, null, null), sink, cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream);
        // At most the chunks already fetched ahead reach the sink after the cancellation.
        Assert.InRange(sink.Rows, 3_000, 3_000 + (9 * 2_048));
    }

    [Fact]
    public async Task A_failing_sink_fails_the_stream_with_its_own_error()
    {
        var sink = new CountingSink(onRow: n =>
        {
            if (n == 5_000)
            {
                throw new IOException("disk full");
            }
        });

        var error = await Assert.ThrowsAsync<IOException>(() => Streamer.StreamWindowAsync(new ActivityQuery(SubscriptionId, From, To, null, null), sink, CancellationToken.None));
        Assert.Equal("disk full", error.Message);
        Assert.Equal(5_000, sink.Rows);

        // The store is still usable afterwards.
        var (_, rows) = await StreamAsync(new ActivityQuery(SubscriptionId, From, To, null, null), ExportFormat.Csv, ExportFileWriter.DefaultBufferSize);
        Assert.Equal(20_010, rows);
    }

    /// <summary>The oracle's file for the rows this test appended that the query selects.</summary>
    private (byte[] Bytes, long Rows) Expected(ActivityQuery query, ExportFormat format)
    {
        var rows = ExportBytesOracle.Window(_appended, SubscriptionId, query);
        return (ExportBytesOracle.File(ExportBytesOracle.Delimiter(format), Fields, null, rows), rows.Count);
    }

    private async Task<(byte[] Bytes, long Rows)> StreamAsync(ActivityQuery query, ExportFormat format, int bufferSize)
    {
        using var output = new MemoryStream();
        using var writer = new ActivityFile(output, format, Fields, null, (byte)' ', bufferSize);
        writer.WriteHeader();
        await Streamer.StreamWindowAsync(query, writer.Rows, CancellationToken.None);
        var summary = writer.Complete();
        return (output.ToArray(), summary.NumberOfRecords);
    }

    protected sealed class CountingSink(Action<int> onRow) : IActivityRowSink
    {
        private int _rows;

        public int Rows => Volatile.Read(ref _rows);

        public void WriteRow(in Utf8ActivityRow row)
        {
            var n = Interlocked.Increment(ref _rows);
            onRow(n);
        }
    }
}

public sealed class WindowStreamTests_Embedded : WindowStreamTests
{
    protected override Task<StoreSet> CreateStoresAsync() => EmbeddedStores.CreateAsync();
}

public sealed class WindowStreamTests_Postgres : WindowStreamTests
{
    private string? _connectionString;

    protected override async Task<StoreSet> CreateStoresAsync()
    {
        var (stores, connectionString) = await PostgresTestDatabase.CreateStoresAsync();
        _connectionString = connectionString;
        return stores;
    }

    [Fact]
    public async Task A_cancelled_stream_leaves_no_copy_running_on_the_server()
    {
        var streamer = Stores.Streamer;
        using var cts = new CancellationTokenSource();
        var sink = new CountingSink(onRow: n =>
        {
            if (n == 100)
            {
                cts.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            streamer.StreamWindowAsync(new ActivityQuery(7, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero),
                new DateTimeOffset(2026, 3, 5, 0, 0, 0, TimeSpan.Zero), null, null), sink, cts.Token));

        // The task ends only after the COPY's connection read up to ReadyForQuery: nothing of it runs any more (in this
        // test's database: other tests export from theirs at the same time).
        Assert.Equal(0L, await PostgresTestDatabase.ScalarAsync<long>(_connectionString!,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()"));
    }
}
