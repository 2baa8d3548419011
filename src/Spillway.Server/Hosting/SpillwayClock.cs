namespace Spillway.Server.Hosting;

/// <summary>
/// The server's notion of "now": real time plus an adjustable offset, so a test (or the admin API) can jump
/// across a quota day or a retention period while time keeps flowing. Delays and timeouts never use it.
/// </summary>
public sealed class SpillwayClock : TimeProvider
{
    private long _offsetTicks;
    private readonly AsyncLocal<TimeSpan> _scoped = new();

    /// <summary>The earliest "now" the clock can be set to (a window or retention period before it stays representable).</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The latest "now" the clock can be set to (centuries of windows and lifetimes after it stay representable).</summary>
    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The answer to a "now" out of range.</summary>
    public const string OutOfRangeMessage = "now is a date-time from 1970-01-01T00:00:00Z to 9000-01-01T00:00:00Z.";

    /// <summary>Whether <paramref name="now"/> is a "now" the clock may be set to.</summary>
    public static bool InRange(DateTimeOffset now) => now >= Earliest && now <= Latest;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    // Clamped: a server offset and a subscription offset that are each in range may add up to a date that is not,
    // and date arithmetic near year 1 or 9999 throws.
    public override DateTimeOffset GetUtcNow() =>
        new(Math.Clamp(System.GetUtcNow().UtcTicks + Offset.Ticks + _scoped.Value.Ticks, Earliest.UtcTicks, Latest.UtcTicks), TimeSpan.Zero);

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
    public static DateTimeOffset QuotaDayStart(DateTimeOffset instant)
    {
        var local = TimeZoneInfo.ConvertTime(instant, Central);
        var midnight = new DateTime(local.Year, local.Month, local.Day, 0, 0, 0, DateTimeKind.Unspecified);
        return new DateTimeOffset(midnight, Central.GetUtcOffset(midnight)).ToUniversalTime();
    }

    /// <summary>The quota day (Central time) as <c>yyyy-MM-dd</c>.</summary>
    public static DateOnly QuotaDay(DateTimeOffset instant) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, Central).DateTime);

    public static TimeZoneInfo Central { get; } = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
}
