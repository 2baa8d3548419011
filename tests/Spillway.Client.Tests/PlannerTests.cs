using Spillway.Client;

namespace Spillway.Client.Tests;

public class PlannerTests
{
    private static readonly DateTimeOffset Jan1 = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static void AssertContiguous(IReadOnlyList<ExtractionWindow> windows, DateTimeOffset firstSecond, DateTimeOffset lastSecond, TimeSpan max)
    {
        Assert.NotEmpty(windows);
        Assert.Equal(firstSecond, windows[0].StartAt);
        Assert.Equal(lastSecond, windows[^1].EndAt);
        for (var i = 0; i < windows.Count; i++)
        {
            var w = windows[i];
            Assert.Equal(i, w.Index);
            Assert.Equal(TimeSpan.Zero, w.StartAt.Offset);
            Assert.Equal(TimeSpan.Zero, w.EndAt.Offset);
            Assert.Equal(0, w.StartAt.UtcTicks % TimeSpan.TicksPerSecond);
            Assert.Equal(0, w.EndAt.UtcTicks % TimeSpan.TicksPerSecond);
            Assert.True(w.EndAt >= w.StartAt);
            Assert.True(w.EndAt - w.StartAt <= TimeSpan.FromDays(31), $"window {w} longer than 31 days");
            Assert.True(w.EndAt - w.StartAt + TimeSpan.FromSeconds(1) <= max);
            if (i > 0)
            {
                // No overlap (the inclusive end second is not fetched again) and no gap.
                Assert.Equal(windows[i - 1].EndAt + TimeSpan.FromSeconds(1), w.StartAt);
            }
        }
    }

    [Fact]
    public void NinetyDays_AreSplitIntoThreeWindowsWithoutGapOrOverlap()
    {
        var until = Jan1.AddDays(90);
        var windows = ExtractionPlanner.Plan(Jan1, until);
        Assert.Equal(3, windows.Count);
        AssertContiguous(windows, Jan1, until.AddSeconds(-1), TimeSpan.FromDays(31));
        Assert.Equal(Jan1.AddDays(31).AddSeconds(-1), windows[0].EndAt);
        Assert.Equal(Jan1.AddDays(31), windows[1].StartAt);
    }

    [Fact]
    public void EverySecondIsCoveredExactlyOnce()
    {
        var since = Jan1.AddSeconds(3);
        var until = Jan1.AddSeconds(50);
        var windows = ExtractionPlanner.Plan(since, until, TimeSpan.FromSeconds(7));
        var covered = new List<DateTimeOffset>();
        foreach (var w in windows)
        {
            for (var s = w.StartAt; s <= w.EndAt; s = s.AddSeconds(1))
            {
                covered.Add(s);
            }
        }

        Assert.Equal(Enumerable.Range(3, 47).Select(i => Jan1.AddSeconds(i)), covered);
        Assert.Equal(7, windows.Count);
        Assert.Equal(TimeSpan.FromSeconds(4), windows[^1].EndAt - windows[^1].StartAt); // the remainder: 47 = 6*7 + 5 seconds
    }

    [Fact]
    public void ExactlyThirtyOneDays_IsOneWindow_AndOneSecondMoreIsTwo()
    {
        var one = ExtractionPlanner.Plan(Jan1, Jan1.AddDays(31));
        Assert.Single(one);
        Assert.Equal(Jan1.AddDays(31).AddSeconds(-1), one[0].EndAt);

        var two = ExtractionPlanner.Plan(Jan1, Jan1.AddDays(31).AddSeconds(1));
        Assert.Equal(2, two.Count);
        Assert.Equal(two[1].StartAt, two[1].EndAt); // a one-second window
        Assert.Equal(Jan1.AddDays(31), two[1].StartAt);
    }

    [Fact]
    public void ShortRange_IsOneWindow()
    {
        var windows = ExtractionPlanner.Plan(Jan1.AddHours(5), Jan1.AddHours(6));
        var w = Assert.Single(windows);
        Assert.Equal(Jan1.AddHours(5), w.StartAt);
        Assert.Equal(Jan1.AddHours(6).AddSeconds(-1), w.EndAt);
        Assert.Equal(new Spillway.Contracts.DateRange(w.StartAt, w.EndAt), w.ToDateRange());
    }

    [Fact]
    public void FractionalBounds_AreRoundedUpToWholeSeconds()
    {
        // since 00:00:00.500 excludes the activity second 00:00:00; until 00:00:10.250 (exclusive) includes 00:00:10.
        var windows = ExtractionPlanner.Plan(Jan1.AddMilliseconds(500), Jan1.AddSeconds(10).AddMilliseconds(250));
        var w = Assert.Single(windows);
        Assert.Equal(Jan1.AddSeconds(1), w.StartAt);
        Assert.Equal(Jan1.AddSeconds(10), w.EndAt);
    }

    [Fact]
    public void ConsecutiveRuns_ShareNoSecond()
    {
        var mid = Jan1.AddDays(10).AddHours(3);
        var first = ExtractionPlanner.Plan(Jan1, mid);
        var second = ExtractionPlanner.Plan(mid, Jan1.AddDays(20));
        Assert.Equal(first[^1].EndAt.AddSeconds(1), second[0].StartAt);
    }

    [Fact]
    public void DaylightSavingTime_PlaysNoPart_BecauseWindowsAreUtc()
    {
        // Inputs in Chicago local offsets around the March and November 2024 changes.
        var since = new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.FromHours(-6));
        var until = new DateTimeOffset(2024, 11, 15, 0, 0, 0, TimeSpan.FromHours(-6));
        var windows = ExtractionPlanner.Plan(since, until);
        AssertContiguous(windows, since.ToUniversalTime(), until.ToUniversalTime().AddSeconds(-1), TimeSpan.FromDays(31));
        var seconds = windows.Sum(w => (w.EndAt - w.StartAt).TotalSeconds + 1);
        Assert.Equal((until - since).TotalSeconds, seconds);
        Assert.All(windows.Take(windows.Count - 1), w => Assert.Equal(TimeSpan.FromDays(31) - TimeSpan.FromSeconds(1), w.EndAt - w.StartAt));
    }

    [Fact]
    public void EmptyAndInvalidRanges()
    {
        Assert.Empty(ExtractionPlanner.Plan(Jan1, Jan1));
        Assert.Empty(ExtractionPlanner.Plan(Jan1.AddMilliseconds(100), Jan1.AddMilliseconds(900))); // no whole second inside
        Assert.Throws<ArgumentException>(() => ExtractionPlanner.Plan(Jan1, Jan1.AddSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtractionPlanner.Plan(Jan1, Jan1.AddDays(40), TimeSpan.FromDays(32)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtractionPlanner.Plan(Jan1, Jan1.AddDays(40), TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public void WindowKey_IsStableAndReadable()
    {
        var w = ExtractionPlanner.Plan(Jan1, Jan1.AddDays(1))[0];
        Assert.Equal("20240101T000000Z-20240101T235959Z", w.Key);
    }
}
