using System.Text.Json;
using Spillway.Client;

namespace Spillway.Client.Tests;

public sealed class ExtractorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Since = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Until = Since.AddDays(90);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-ex-" + Guid.NewGuid().ToString("N"));
    private readonly MiniMarketo _marketo = new();
    private LoopbackServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await LoopbackServer.StartAsync();
        _server.Handler = _marketo.Handle;
        Seed();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private IReadOnlyList<ExtractionWindow> Plan => ExtractionPlanner.Plan(Since, Until);

    /// <summary>Activities on every window boundary second, just inside and outside the range, and spread in between.</summary>
    private void Seed()
    {
        var n = 0;
        void Add(DateTimeOffset at, string? primary = null) =>
            _marketo.Activities.Add(new MiniMarketo.Activity((1000 + n).ToString(System.Globalization.CultureInfo.InvariantCulture), ++n, at, 1 + (n % 3), primary));

        foreach (var w in ExtractionPlanner.Plan(Since, Until))
        {
            Add(w.StartAt);
            Add(w.EndAt);
            Add(w.EndAt.AddSeconds(-1));
        }

        for (var day = 0; day < 90; day += 7)
        {
            Add(Since.AddDays(day).AddHours(13), "Page, \"Home\"\nsecond line 中文");
        }

        // Outside [Since, Until): must not be exported.
        _marketo.Activities.Add(new MiniMarketo.Activity("outside-1", 1, Since.AddSeconds(-1), 1, null));
        _marketo.Activities.Add(new MiniMarketo.Activity("outside-2", 1, Until, 1, null));
    }

    private IEnumerable<string> ExpectedGuids =>
        _marketo.Activities.Where(a => a.Date >= Since && a.Date < Until).Select(a => a.Guid);

    private BulkExtractionOptions Options(int inFlight = 3) => new()
    {
        OutputDirectory = _dir,
        PollInterval = TimeSpan.FromMilliseconds(5),
        MaxJobsInFlight = inFlight,
        ActivityTypeIds = [1, 2, 3],
    };

    private async Task<ExtractionResult> RunAsync(BulkExtractionOptions options, IProgress<ExtractionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var (client, http) = TestClients.Create(_server.BaseUrl);
        using (http)
        using (client)
        {
            return await new BulkExtractor(client, options).RunAsync(Plan, progress, cancellationToken);
        }
    }

    private static async Task<List<ExportedActivity>> ReadAll(ExtractionResult result, bool deduplicate = true)
    {
        var list = new List<ExportedActivity>();
        await foreach (var r in BulkExtractor.ReadRecordsAsync(result, deduplicate))
        {
            list.Add(r);
        }

        return list;
    }

    [Fact]
    public async Task NinetyDays_ThroughAFullQueueAndCutDownloads_GiveEveryActivityExactlyOnce()
    {
        _marketo.MaxQueued = 2;
        _marketo.CutFiles = true;
        var reports = new List<ExtractionProgress>();
        var result = await RunAsync(Options(inFlight: 3), new InlineProgress<ExtractionProgress>(reports.Add));

        Assert.Equal(3, result.Windows.Count);
        Assert.Equal(Plan, result.Windows.Select(w => w.Window));
        Assert.All(result.Windows, w => Assert.False(w.FromEarlierRun));
        Assert.Equal(3, _marketo.Creates);
        Assert.True(_marketo.QueueFullAnswers > 0, "the queue never filled up");
        Assert.True(_marketo.MaxQueuedSeen <= 2);

        var records = await ReadAll(result, deduplicate: false);
        Assert.Equal(ExpectedGuids.Order(StringComparer.Ordinal), records.Select(r => r.MarketoGuid).Order(StringComparer.Ordinal));
        Assert.Equal(records.Count, result.TotalRecords);
        var withText = records.First(r => r.PrimaryAttributeValue is not null);
        Assert.Equal("Page, \"Home\"\nsecond line 中文", withText.PrimaryAttributeValue);
        Assert.Equal(withText.LeadId, withText.Attributes.GetProperty("n").GetInt64());

        Assert.Contains(reports, r => r.Phase == ExtractionPhase.Queued);
        Assert.Contains(reports, r => r.Phase == ExtractionPhase.Downloading);
        var last = reports[^1];
        Assert.Equal(3, last.CompletedWindows);
        Assert.Equal(3, last.TotalWindows);
        Assert.Equal(result.TotalBytes, last.BytesDownloaded);
        Assert.Equal(result.TotalRecords, last.RecordsExported);

        using var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dir, "spillway-export-state.json")));
        var windows = state.RootElement.GetProperty("windows").EnumerateArray().ToList();
        Assert.Equal(3, windows.Count);
        Assert.All(windows, w =>
        {
            Assert.True(w.GetProperty("completed").GetBoolean());
            Assert.StartsWith("sha256:", w.GetProperty("fileChecksum").GetString(), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(_dir, w.GetProperty("file").GetString()!)));
        });
    }

    [Fact]
    public async Task Rerun_SkipsFinishedWindows()
    {
        await RunAsync(Options());
        var reports = new List<ExtractionProgress>();
        var again = await RunAsync(Options(), new InlineProgress<ExtractionProgress>(reports.Add));
        Assert.Equal(3, _marketo.Creates);
        Assert.All(again.Windows, w => Assert.True(w.FromEarlierRun));
        Assert.All(reports, r => Assert.Equal(ExtractionPhase.AlreadyDone, r.Phase));
        Assert.Equal(ExpectedGuids.Count(), (await ReadAll(again)).Count);
    }

    [Fact]
    public async Task ProcessDyingMidRun_IsResumed_WithoutCreatingFinishedOrInFlightWindowsAgain()
    {
        using var die = new CancellationTokenSource();
        var progress = new InlineProgress<ExtractionProgress>(p =>
        {
            if (p.Phase == ExtractionPhase.Completed)
            {
                die.Cancel(); // the process "dies" once the first window is done
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(Options(inFlight: 1), progress, die.Token));
        var createsBefore = _marketo.Creates;
        Assert.Equal(1, createsBefore);

        var result = await RunAsync(Options(inFlight: 1));
        Assert.Equal(3, _marketo.Creates); // each window's job created once over both runs
        Assert.True(result.Windows[0].FromEarlierRun);
        Assert.False(result.Windows[1].FromEarlierRun);
        Assert.Equal(ExpectedGuids.Order(StringComparer.Ordinal), (await ReadAll(result)).Select(r => r.MarketoGuid).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task JobRecordedInState_IsPickedUpAgain_NotCreatedTwice()
    {
        using var die = new CancellationTokenSource();
        var progress = new InlineProgress<ExtractionProgress>(p =>
        {
            if (p.Phase == ExtractionPhase.Created && p.Window.Index == 0)
            {
                die.Cancel(); // dies right after the job was created and recorded
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(Options(inFlight: 1), progress, die.Token));
        Assert.Equal(1, _marketo.Creates);

        var result = await RunAsync(Options(inFlight: 1));
        Assert.Equal(3, _marketo.Creates);
        Assert.Equal("job-001", result.Windows[0].ExportId);
    }

    [Fact]
    public async Task FailedJob_IsCreatedAgain()
    {
        _marketo.FailFirstJobOf.Add(Plan[1].StartAt);
        var reports = new List<ExtractionProgress>();
        var result = await RunAsync(Options(), new InlineProgress<ExtractionProgress>(reports.Add));
        Assert.Equal(4, _marketo.Creates);
        Assert.Contains(reports, r => r.Phase == ExtractionPhase.Retrying && r.Message?.Contains("Simulated failure", StringComparison.Ordinal) == true);
        Assert.Equal(ExpectedGuids.Count(), (await ReadAll(result)).Count);
    }

    [Fact]
    public async Task DailyQuota_StopsTheRun_KeepsFinishedWindows_AndARerunAfterTheResetFinishes()
    {
        _marketo.QuotaAfterCreates = 1;
        var ex = await Assert.ThrowsAsync<ExportQuotaExceededException>(() => RunAsync(Options(inFlight: 1)));
        Assert.True(ex.ResetsAt > DateTimeOffset.UtcNow);
        Assert.Equal(2, _marketo.Creates); // the second create hit the quota; the third window was not tried

        _marketo.QuotaAfterCreates = int.MaxValue; // after midnight in Chicago
        var result = await RunAsync(Options(inFlight: 1));
        Assert.True(result.Windows[0].FromEarlierRun);
        Assert.Equal(4, _marketo.Creates);
        Assert.Equal(ExpectedGuids.Count(), (await ReadAll(result)).Count);
    }

    [Fact]
    public async Task Merge_WritesOneFile_AndDeduplicatesByMarketoGuid()
    {
        // A real-world oddity: the same activity in two windows.
        var dup = _marketo.Activities.First(a => a.Date == Plan[0].StartAt);
        _marketo.Activities.Add(dup with { Date = Plan[2].StartAt.AddHours(1) });
        var result = await RunAsync(Options());

        var merged = Path.Combine(_dir, "all.csv");
        var summary = await BulkExtractor.MergeAsync(result, merged);
        Assert.Equal(1, summary.DuplicatesSkipped);
        Assert.Equal(ExpectedGuids.Distinct().Count(), summary.RowsWritten);

        await using var reader = ExportFileReader.OpenFile(merged);
        var guids = new List<string>();
        await foreach (var r in reader.ReadRecordsAsync())
        {
            guids.Add(r.MarketoGuid);
        }

        Assert.Equal(guids.Distinct().Count(), guids.Count);
        Assert.Equal(ExpectedGuids.Distinct().Order(StringComparer.Ordinal), guids.Order(StringComparer.Ordinal));
        Assert.Equal(ExpectedGuids.Distinct().Count(), (await ReadAll(result)).Count);
        Assert.Equal(ExpectedGuids.Count(), (await ReadAll(result, deduplicate: false)).Count);
    }

    [Fact]
    public async Task FatalError_StopsTheRun_WithTheApiError()
    {
        _server.Handler = ctx => ctx.Request.Path.Value!.EndsWith("create.json", StringComparison.Ordinal)
            ? LoopbackServer.Error(ctx, "603", "Access denied")
            : _marketo.Handle(ctx);
        var reports = new List<ExtractionProgress>();
        var ex = await Assert.ThrowsAsync<MarketoApiException>(() => RunAsync(Options(inFlight: 1), new InlineProgress<ExtractionProgress>(reports.Add)));
        Assert.Equal("603", ex.Code);
        Assert.Equal(1, _server.Count("/create.json"));
        Assert.Contains(reports, r => r.Phase == ExtractionPhase.Failed);
    }

    [Fact]
    public async Task MovedOutputFolder_IsStillRecognised()
    {
        await RunAsync(Options());
        var moved = _dir + "-moved";
        Directory.Move(_dir, moved);
        try
        {
            var options = Options();
            options.OutputDirectory = moved;
            var (client, http) = TestClients.Create(_server.BaseUrl);
            using (http)
            using (client)
            {
                var result = await new BulkExtractor(client, options).RunAsync(Plan);
                Assert.All(result.Windows, w => Assert.True(w.FromEarlierRun));
                Assert.All(result.Windows, w => Assert.StartsWith(moved, w.FilePath, StringComparison.Ordinal));
            }
        }
        finally
        {
            Directory.Delete(moved, recursive: true);
        }
    }

    [Fact]
    public async Task StateFileOfAnotherExtraction_IsRefused()
    {
        await RunAsync(Options());
        var other = Options();
        other.ActivityTypeIds = [6];
        await Assert.ThrowsAsync<InvalidOperationException>(() => RunAsync(other));
    }

    [Fact]
    public async Task DeletedWindowFile_IsFetchedAgain_FromTheSameJob()
    {
        var first = await RunAsync(Options());
        File.Delete(first.Windows[1].FilePath);
        var again = await RunAsync(Options());
        Assert.Equal(3, _marketo.Creates);
        Assert.False(again.Windows[1].FromEarlierRun);
        Assert.Equal(first.Windows[1].FileChecksum, again.Windows[1].FileChecksum);
    }
}
