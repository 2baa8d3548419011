namespace Spillway.Client;

/// <summary>Marketo's quota day: it resets at midnight Central time (America/Chicago, CST/CDT).</summary>
public static class QuotaClock
{
    private static readonly Lazy<TimeZoneInfo> Central = new(LoadCentral);

    /// <summary>The time zone of the quota day.</summary>
    public static TimeZoneInfo CentralTimeZone => Central.Value;

    /// <summary>The next midnight in America/Chicago strictly after <paramref name="now"/>.</summary>
    /// <param name="now">The current instant.</param>
    /// <returns>The reset instant, with the Central offset in force at that midnight.</returns>
    public static DateTimeOffset NextReset(DateTimeOffset now)
    {
        var zone = Central.Value;
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var midnight = DateTime.SpecifyKind(local.Date.AddDays(1), DateTimeKind.Unspecified);
        // Midnight is never skipped or repeated in Chicago (DST changes at 02:00), so the offset is unambiguous.
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    private static TimeZoneInfo LoadCentral()
    {
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

        // No time zone data on this machine: the US rules in force since 2007.
        var rule = TimeZoneInfo.AdjustmentRule.CreateAdjustmentRule(
            DateTime.MinValue.Date, DateTime.MaxValue.Date, TimeSpan.FromHours(1),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 3, 2, DayOfWeek.Sunday),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 11, 1, DayOfWeek.Sunday));
        return TimeZoneInfo.CreateCustomTimeZone("America/Chicago", TimeSpan.FromHours(-6), "Central Time", "CST", "CDT", [rule]);
    }
}
