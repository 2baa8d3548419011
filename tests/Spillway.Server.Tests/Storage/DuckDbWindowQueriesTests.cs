using Spillway.Server.Activities.Seeding;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// The embedded store cuts a window into spans of ChunkHours and merges neighbouring spans up to a row budget: whatever
/// the cut, the window's rows come out of the stream exactly once, in (activityDate, marketoGUID) order.
/// </summary>
public sealed class DuckDbWindowQueriesTests : IDisposable
{
    private static readonly DateTimeOffset From = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "windows-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(1, 1)]        // every span its own query, many empty
    [InlineData(1, 700)]      // merged spans, boundaries inside busy hours
    [InlineData(6, 50_000)]   // the defaults: one query for this window
    [InlineData(24, 100)]     // spans larger than the budget stay whole
    public async Task Every_row_of_the_window_once_in_order_whatever_the_spans(int chunkHours, long rowsPerQuery)
    {
        Directory.CreateDirectory(_folder);
        using var store = new DuckDbActivityStore(Path.Combine(_folder, $"a-{chunkHours}-{rowsPerQuery}.duckdb"), Path.Combine(_folder, "tmp"),
            TimeSpan.FromHours(chunkHours), "64MB", rowsPerQuery);
        // Three days with quiet and busy hours, rows sharing a second (the marketoGUID breaks the tie), and a gap day.
        var rows = new DemoActivityGenerator(5).Generate(6_000, From, From.AddDays(2).AddSeconds(-1), 10).ToList();
        rows.AddRange(new DemoActivityGenerator(6).Generate(2_000, From.AddDays(3), From.AddDays(3).AddHours(2), 100_000));
        await store.AppendAsync(1, rows, CancellationToken.None);

        // Odd bounds, inside the data.
        var query = new ActivityQuery(1, From.AddMinutes(37).AddSeconds(11), From.AddDays(3).AddHours(1).AddSeconds(-7), null, null);
        var expected = rows.Where(r => r.ActivityDate >= query.StartAt && r.ActivityDate <= query.EndAt)
            .OrderBy(r => r.ActivityDate).ThenBy(r => r.MarketoGuid).Select(r => r.MarketoGuid).ToList();

        var streamed = new GuidSink();
        await store.StreamWindowAsync(query, streamed, CancellationToken.None);

        Assert.True(expected.Count > 5_000);
        Assert.Equal(expected, streamed.Guids);
    }

    private sealed class GuidSink : IActivityRowSink
    {
        public List<long> Guids { get; } = [];

        public void WriteRow(in Utf8ActivityRow row) => Guids.Add(row.MarketoGuid);
    }
}
