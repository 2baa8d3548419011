namespace Spillway.Server.Hosting;

/// <summary>
/// The server's notion of "now": real time plus an adjustable offset, so a test (or the admin API) can jump
/// across a quota day or a retention period while time keeps flowing. Delays and timeouts never use it.
/// </summary>
public sealed class SpillwayClock : TimeProvider
{
    private long _offsetTicks;
    private readonly AsyncLocal<TimeSpan> _scoped = new();

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset + _scoped.Value;

    /// <summary>
    /// Adds <paramref name="extra"/> to "now" for the current async flow until disposed: a subscription's own clock
    /// (see Controls/SubscriptionControls), entered where a caller's or a job's subscription is known.
    /// </summary>
    public IDisposable UseScopedOffset(TimeSpan extra)
    {
        var previous = _scoped.Value;
        _scoped.Value = extra;
        return new ScopedOffset(this, previous);
    }

    private sealed class ScopedOffset(SpillwayClock clock, TimeSpan previous) : IDisposable
    {
        public void Dispose() => clock._scoped.Value = previous;
    }

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
