using System.Globalization;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>
/// One export window: an inclusive range of whole seconds in UTC, as the server's <c>createdAt</c> filter takes it.
/// </summary>
/// <param name="Index">The position in the plan, from 0.</param>
/// <param name="StartAt">The first second, inclusive.</param>
/// <param name="EndAt">The last second, inclusive.</param>
public sealed record ExtractionWindow(int Index, DateTimeOffset StartAt, DateTimeOffset EndAt)
{
    /// <summary>A stable key for state files and file names, such as <c>20240101T000000Z-20240131T235959Z</c>.</summary>
    public string Key => $"{Compact(StartAt)}-{Compact(EndAt)}";

    /// <summary>The window as the export filter's <c>createdAt</c>.</summary>
    /// <returns>The range.</returns>
    public DateRange ToDateRange() => new(StartAt, EndAt);

    /// <inheritdoc />
    public override string ToString() => $"#{Index} {MarketoDateTime.Format(StartAt)} .. {MarketoDateTime.Format(EndAt)}";

    private static string Compact(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>
/// Splits a date range into export windows of at most 31 days that neither overlap nor leave a gap.
/// </summary>
/// <remarks>
/// The input is half-open, <c>[since, until)</c>, so that one run's <c>until</c> can be the next run's <c>since</c>.
/// Activity dates have whole seconds, so both ends are rounded up to the next whole second (an instant with a
/// fraction excludes the second it falls in at the start and includes it at the end). The server's bounds are
/// inclusive: window k covers <c>[start(k), start(k+1) − 1 s]</c>, and the next window starts one second after it.
/// Everything is in UTC, so daylight saving time plays no part.
/// </remarks>
public static class ExtractionPlanner
{
    /// <summary>The longest window the API accepts: 31 days.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(31);

    /// <summary>Plans the windows that cover <c>[since, until)</c>.</summary>
    /// <param name="since">The first instant, inclusive.</param>
    /// <param name="until">The end, exclusive.</param>
    /// <param name="maxWindow">The span of a window (whole seconds, at least 1 s, at most 31 days); 31 days by default.</param>
    /// <returns>The windows in order; empty when the range holds no whole second.</returns>
    /// <exception cref="ArgumentException"><paramref name="until"/> is before <paramref name="since"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWindow"/> is out of range.</exception>
    public static IReadOnlyList<ExtractionWindow> Plan(DateTimeOffset since, DateTimeOffset until, TimeSpan? maxWindow = null)
    {
        if (until < since)
        {
            throw new ArgumentException($"until ({until:O}) is before since ({since:O}).", nameof(until));
        }

        var span = maxWindow ?? MaxWindow;
        span = TimeSpan.FromTicks(span.Ticks - (span.Ticks % TimeSpan.TicksPerSecond));
        if (span < TimeSpan.FromSeconds(1) || span > MaxWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWindow), maxWindow, "A window spans from 1 second to 31 days.");
        }

        var start = CeilingToSecond(since);
        var end = CeilingToSecond(until); // exclusive
        var windows = new List<ExtractionWindow>();
        while (start < end)
        {
            var next = end - start > span ? start + span : end;
            windows.Add(new ExtractionWindow(windows.Count, start, next - TimeSpan.FromSeconds(1)));
            start = next;
        }

        return windows;
    }

    private static DateTimeOffset CeilingToSecond(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        var remainder = ticks % TimeSpan.TicksPerSecond;
        return new DateTimeOffset(remainder == 0 ? ticks : ticks - remainder + TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}
