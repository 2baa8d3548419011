namespace Spillway.Contracts;

/// <summary>
/// Marketo's quota day: the daily export quota and the daily call quota reset at midnight US Central time
/// (America/Chicago, CST/CDT), daylight saving included.
/// </summary>
public static class MarketoQuotaDay
{
    private static readonly Lazy<TimeZoneInfo> Central = new(FindCentral);

    /// <summary>
    /// The time zone of the quota day: America/Chicago from the machine's time zone data, or, on a machine without it
    /// (a slim container image), a fixed rule with the same result for any date since 2007: CST (UTC-6) with CDT
    /// (UTC-5) from 02:00 on the second Sunday of March to 02:00 on the first Sunday of November.
    /// </summary>
    public static TimeZoneInfo TimeZone => Central.Value;

    /// <summary>The start of the quota day that contains <paramref name="instant"/>, as a UTC instant.</summary>
    /// <param name="instant">Any instant.</param>
    /// <returns>That day's midnight in Central time, with offset zero.</returns>
    public static DateTimeOffset StartOf(DateTimeOffset instant) => StartOf(instant, Central.Value);

    /// <summary>The quota day (its Central date) that contains <paramref name="instant"/>.</summary>
    /// <param name="instant">Any instant.</param>
    /// <returns>The date.</returns>
    public static DateOnly DateOf(DateTimeOffset instant) => DateOf(instant, Central.Value);

    /// <summary>The next midnight in Central time strictly after <paramref name="now"/>: when the quota resets.</summary>
    /// <param name="now">The current instant.</param>
    /// <returns>The reset instant, with the Central offset in force at that midnight.</returns>
    public static DateTimeOffset NextReset(DateTimeOffset now) => NextReset(now, Central.Value);

    /// <summary>The rule used when the machine has no time zone data for America/Chicago.</summary>
    internal static TimeZoneInfo FixedUsCentral { get; } = CreateFixedUsCentral();

    internal static DateTimeOffset StartOf(DateTimeOffset instant, TimeZoneInfo zone) =>
        AtMidnight(DateOf(instant, zone), zone).ToUniversalTime();

    internal static DateOnly DateOf(DateTimeOffset instant, TimeZoneInfo zone) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);

    internal static DateTimeOffset NextReset(DateTimeOffset now, TimeZoneInfo zone) => AtMidnight(DateOf(now, zone).AddDays(1), zone);

    // Midnight is never skipped or repeated in Chicago (the clocks change at 02:00), so its offset is unambiguous.
    private static DateTimeOffset AtMidnight(DateOnly date, TimeZoneInfo zone)
    {
        var midnight = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    private static TimeZoneInfo FindCentral()
    {
        // The IANA id, then the Windows id for a machine without ICU's mapping.
        foreach (var id in new[] { "America/Chicago", "Central Standard Time" })
        {
            try
            {
                return TimeZoneInfo.FindSystemTimeZoneById(id);
            }
            catch (TimeZoneNotFoundException)
            {
            }
            catch (InvalidTimeZoneException)
            {
            }
        }

        return FixedUsCentral;
    }

    private static TimeZoneInfo CreateFixedUsCentral()
    {
        var twoAm = new DateTime(1, 1, 1, 2, 0, 0, DateTimeKind.Unspecified);
        var rule = TimeZoneInfo.AdjustmentRule.CreateAdjustmentRule(
            DateTime.MinValue.Date, DateTime.MaxValue.Date, TimeSpan.FromHours(1),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(twoAm, 3, 2, DayOfWeek.Sunday),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(twoAm, 11, 1, DayOfWeek.Sunday));
        return TimeZoneInfo.CreateCustomTimeZone("America/Chicago", TimeSpan.FromHours(-6), "Central Time", "CST", "CDT", [rule]);
    }
}
