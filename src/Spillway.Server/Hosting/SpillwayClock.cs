namespace Spillway.Server.Hosting;

/// <summary>
/// The server's notion of "now": real time plus an adjustable offset, so a test (or the admin API) can jump
/// across a quota day or a retention period while time keeps flowing. Delays and timeouts never use it.
/// </summary>
public sealed class SpillwayClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>The earliest "now" the clock can be set to (a window or retention period before it stays representable).</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The latest "now" the clock can be set to (centuries of windows and lifetimes after it stay representable).</summary>
    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The answer to a "now" out of range.</summary>
    public const string OutOfRangeMessage = "now is a date-time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.";

    /// <summary>Whether <paramref name="now"/> is a "now" the clock may be set to.</summary>
    public static bool InRange(DateTimeOffset now) => now >= Earliest && now <= Latest;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    // Clamped: an offset near the ends of the calendar would make date arithmetic throw.
    public override DateTimeOffset GetUtcNow() => Clamp(System.GetUtcNow().UtcTicks + Offset.Ticks);

    /// <summary>An instant in ticks, clamped to the range the clocks may be set to.</summary>
    public static DateTimeOffset Clamp(long utcTicks) => new(Math.Clamp(utcTicks, Earliest.UtcTicks, Latest.UtcTicks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public void SetNow(DateTimeOffset now) => Interlocked.Exchange(ref _offsetTicks, (now - System.GetUtcNow()).Ticks);

    public void Reset() => Interlocked.Exchange(ref _offsetTicks, 0);

    /// <summary>
    /// The start of the quota day that contains <paramref name="instant"/>: midnight America/Chicago
    /// (Marketo: "12:00AM CST"), daylight saving included.
    /// </summary>
    public static DateTimeOffset QuotaDayStart(DateTimeOffset instant) => MarketoQuotaDay.StartOf(instant);

    /// <summary>The quota day (Central time) as <c>yyyy-MM-dd</c>.</summary>
    public static DateOnly QuotaDay(DateTimeOffset instant) => MarketoQuotaDay.DateOf(instant);

    public static TimeZoneInfo Central => MarketoQuotaDay.TimeZone;
}
