using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Seeding;

/// <summary>
/// A deterministic demo world: a lead population first, then activities that only name those leads. Leads are created
/// over the seeded range and the three years before it (ids grow with creation time, with gaps); each lead created
/// inside the range has one New Lead activity at its creation, no activity of a lead is dated before its creation, and
/// the Change Data Value rows of a lead chain exactly from its value at creation to its stored value. The same seed,
/// counts and range give the same leads and the same activities.
/// </summary>
public sealed class DemoWorld
{
    /// <summary>The most leads a world holds (the ids and creation times of all of them are kept in memory).</summary>
    public const long MaxLeads = 20_000_000;

    private readonly int _seed;
    private readonly long _count;
    private readonly long _start;
    private readonly long _end;
    private DemoLeadPlan? _plan;

    private DemoWorld(int seed, long activities, long leads, long start, long end)
    {
        _seed = seed;
        _count = activities;
        LeadCount = leads;
        _start = start;
        _end = end;
    }

    /// <summary>The seed.</summary>
    public int Seed => _seed;

    /// <summary>How many activities <see cref="Activities"/> yields.</summary>
    public long ActivityCount => _count;

    /// <summary>How many leads <see cref="Leads"/> yields.</summary>
    public long LeadCount { get; }

    /// <summary>About one lead per eight activities, and at least 100 when there are activities at all.</summary>
    public static long DefaultLeadCount(long activities) => activities <= 0 ? 0 : Math.Max(100, activities / 8);

    /// <summary>
    /// A world of <paramref name="activities"/> activities dated within [<paramref name="from"/>, <paramref name="to"/>]
    /// (whole seconds, UTC) and <paramref name="leads"/> leads (null: <see cref="DefaultLeadCount"/>). Nothing is
    /// generated until the leads or activities are enumerated.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, more than <see cref="MaxLeads"/> leads, or activities without any lead.</exception>
    /// <exception cref="ArgumentException">The range holds no whole second.</exception>
    public static DemoWorld Create(int seed, long activities, long? leads, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(activities);
        var leadCount = leads ?? DefaultLeadCount(activities);
        ArgumentOutOfRangeException.ThrowIfNegative(leadCount, nameof(leads));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(leadCount, MaxLeads, nameof(leads));
        if (activities > 0 && leadCount == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(leads), "Activities need at least one lead to name.");
        }

        var start = from.ToUnixTimeSeconds();
        if (from.UtcTicks % TimeSpan.TicksPerSecond != 0)
        {
            start++;
        }

        var end = to.ToUnixTimeSeconds();
        if (end < start)
        {
            throw new ArgumentException("The range from..to holds no whole second.", nameof(to));
        }

        return new DemoWorld(seed, activities, leadCount, start, end);
    }

    internal DemoLeadPlan Plan => _plan ??= new DemoLeadPlan(_seed, _count, LeadCount, _start, _end);

    /// <summary>The leads as stored, in id order. Lazy; every enumeration yields the same sequence.</summary>
    public IEnumerable<LeadRecord> Leads()
    {
        var plan = Plan;
        for (var i = 0; i < plan.Count; i++)
        {
            yield return plan.Stored(i);
        }
    }

    /// <summary>
    /// The activities in non-decreasing date order, with marketoGUIDs increasing from <paramref name="firstMarketoGuid"/>
    /// (with gaps). Lazy; every enumeration yields the same sequence.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative first GUID.</exception>
    public IEnumerable<ActivityRecord> Activities(long firstMarketoGuid)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstMarketoGuid);
        return IterateActivities(firstMarketoGuid);
    }

    private IEnumerable<ActivityRecord> IterateActivities(long firstMarketoGuid)
    {
        if (_count == 0)
        {
            yield break;
        }

        var plan = Plan;
        var rows = new DemoRowFactory(_seed, plan);
        var gaps = new DemoRandom(_seed, 3);
        var guid = firstMarketoGuid;

        // Three ordered streams merge by date: New Lead rows at the creations inside the range, the planned Change Data
        // Value rows, and the other activities on the daily rhythm. At one second a creation comes first, so a lead's
        // first row is its New Lead.
        var random = DemoTimeline.Seconds(new DemoRandom(_seed, 1), _count - plan.NewLeadRows - plan.Changes.Count, _start, _end).GetEnumerator();
        var hasRandom = random.MoveNext();
        var nextNew = plan.Before;
        var nextChange = 0;
        for (var emitted = 0L; emitted < _count; emitted++)
        {
            var newAt = nextNew < plan.Count ? plan.Created[nextNew] : long.MaxValue;
            var changeAt = nextChange < plan.Changes.Count ? plan.Changes[nextChange].Time : long.MaxValue;
            var randomAt = hasRandom ? random.Current : long.MaxValue;
            if (newAt <= changeAt && newAt <= randomAt)
            {
                yield return rows.NewLead(guid, nextNew++);
            }
            else if (changeAt <= randomAt)
            {
                yield return rows.ChangeDataValue(guid, nextChange++);
            }
            else
            {
                yield return rows.Create(guid, randomAt);
                hasRandom = random.MoveNext();
            }

            // Marketo's GUIDs are shared with other record kinds, so an instance sees gaps.
            guid += gaps.Next(100) < 4 ? 1 + gaps.Next(1, 40) : 1;
        }
    }
}
