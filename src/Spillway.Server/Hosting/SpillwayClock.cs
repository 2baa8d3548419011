namespace Spillway.Server.Hosting;

/// <summary>
/// The server's notion of "now": real time plus an adjustable offset, so a test (or the admin API) can jump
/// across a quota day or a retention period while time keeps flowing. Delays and timeouts never use it.
/// </summary>
public sealed class SpillwayClock : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

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
