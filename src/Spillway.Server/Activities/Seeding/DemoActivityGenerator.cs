using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Seeding;

/// <summary>
/// Generates realistic, deterministic demo activities: standard types in realistic proportions, a daily and weekly
/// rhythm, a skewed lead population, attributes typed per <see cref="Catalog.StandardActivityTypes"/> and asset
/// references consistent with <see cref="Catalog.AssetCatalog.Standard"/>. About 1 % of the rows carry text that is
/// hard to export (quotes, commas, tabs, CR, LF, CRLF, NUL, padding, CJK, emoji). Never generates Delete Lead (37).
/// The activities are those of a <see cref="DemoWorld"/> with its default lead population; seeding the leads too
/// takes the world itself.
/// </summary>
public sealed class DemoActivityGenerator
{
    private readonly int _seed;

    /// <summary>A generator whose output depends only on <paramref name="seed"/> and the arguments of <see cref="Generate"/>.</summary>
    public DemoActivityGenerator(int seed) => _seed = seed;

    /// <summary>The seed.</summary>
    public int Seed => _seed;

    /// <summary>
    /// Exactly <paramref name="count"/> activities dated within [<paramref name="from"/>, <paramref name="to"/>]
    /// (whole seconds, UTC), in non-decreasing date order, naming the leads of the default lead population, with marketoGUIDs increasing from
    /// <paramref name="firstMarketoGuid"/> (with gaps). Lazy; every enumeration yields the same sequence.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count or first GUID.</exception>
    /// <exception cref="ArgumentException">The range holds no whole second.</exception>
    public IEnumerable<ActivityRecord> Generate(long count, DateTimeOffset from, DateTimeOffset to, long firstMarketoGuid)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(firstMarketoGuid);
        return DemoWorld.Create(_seed, count, null, from, to).Activities(firstMarketoGuid);
    }
}

/// <summary>Spreads a count over a range of seconds with a daily and weekly rhythm, in order.</summary>
internal static class DemoTimeline
{
    // Relative activity per local hour (US Central, UTC-6): quiet nights, busy working hours.
    private static readonly double[] HourWeights =
    [
        0.15, 0.10, 0.08, 0.07, 0.08, 0.12, 0.25, 0.50, 0.85, 1.00, 1.00, 0.95,
        0.85, 0.95, 1.00, 0.95, 0.85, 0.70, 0.55, 0.45, 0.40, 0.35, 0.28, 0.20,
    ];

    // Sunday .. Saturday.
    private static readonly double[] DayWeights = [0.30, 1.00, 1.05, 1.05, 1.00, 0.85, 0.35];

    private const long LocalOffsetSeconds = -6 * 3600;

    public static IEnumerable<long> Seconds(DemoRandom rng, long count, long start, long end)
    {
        var firstHour = FloorDiv(start, 3600);
        var hours = checked((int)(FloorDiv(end, 3600) - firstHour + 1));
        var weights = new double[hours];
        var total = 0.0;
        var currentDay = long.MinValue;
        var dayFactor = 1.0;
        for (var i = 0; i < hours; i++)
        {
            var hourStart = (firstHour + i) * 3600;
            var length = Math.Min(hourStart + 3599, end) - Math.Max(hourStart, start) + 1;
            var local = hourStart + LocalOffsetSeconds;
            var day = FloorDiv(local, 86400);
            if (day != currentDay)
            {
                currentDay = day;
                dayFactor = 0.8 + (0.4 * rng.NextDouble());
            }

            var localHour = (int)((local - (day * 86400)) / 3600);
            var dayOfWeek = (int)(((day + 4) % 7 + 7) % 7); // 1970-01-01 was a Thursday
            var w = HourWeights[localHour] * DayWeights[dayOfWeek] * dayFactor * length / 3600.0;
            if (rng.Next(100) < 3)
            {
                w *= 3; // an email blast
            }

            weights[i] = w;
            total += w;
        }

        var emitted = 0L;
        var cumulative = 0.0;
        var offsets = new int[64];
        var perSecond = new int[3600];
        for (var i = 0; i < hours; i++)
        {
            cumulative += weights[i];
            var target = i == hours - 1 ? count : Math.Min(count, (long)Math.Round(count * (cumulative / total)));
            var n = target - emitted;
            if (n <= 0)
            {
                continue;
            }

            emitted = target;
            var hourStart = (firstHour + i) * 3600;
            var bucketStart = Math.Max(hourStart, start);
            var length = (int)(Math.Min(hourStart + 3599, end) - bucketStart + 1);
            if (n * 4 < length)
            {
                // Sparse: draw and sort.
                var k = (int)n;
                if (offsets.Length < k)
                {
                    offsets = new int[k];
                }

                for (var j = 0; j < k; j++)
                {
                    offsets[j] = rng.Next(length);
                }

                Array.Sort(offsets, 0, k);
                for (var j = 0; j < k; j++)
                {
                    yield return bucketStart + offsets[j];
                }
            }
            else
            {
                // Dense: count per second.
                Array.Clear(perSecond, 0, length);
                for (var j = 0L; j < n; j++)
                {
                    perSecond[rng.Next(length)]++;
                }

                for (var s = 0; s < length; s++)
                {
                    for (var c = perSecond[s]; c > 0; c--)
                    {
                        yield return bucketStart + s;
                    }
                }
            }
        }
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
