using System.Globalization;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Seeding;

/// <summary>One planned Change Data Value: the lead's value of a field moves from <see cref="Old"/> to <see cref="New"/>.</summary>
internal readonly record struct DemoChange(long Time, int Lead, int Field, string? Old, string New, int Previous);

/// <summary>A field that Change Data Value rows change, its asset (the row's primary attribute) and the values it takes.</summary>
internal sealed record DemoChangeField(LeadColumn Column, Asset Asset, int Weight, string[] Values);

/// <summary>
/// The lead side of a demo world, planned before any row is written: ids, creation times, how busy each lead is, and
/// every Change Data Value in date order. A lead's fields at creation are a function of the seed and its id, so the
/// plan keeps only arrays and the changes, and millions of leads fit.
/// </summary>
internal sealed class DemoLeadPlan
{
    /// <summary>Leads created before the range are spread over this many seconds before it (three years).</summary>
    private const long HistorySeconds = 3 * 365 * 86_400L;

    /// <summary>The share of activities that are New Lead and Change Data Value rows, in 1/10000ths.</summary>
    internal const int NewLeadWeight = 200;

    internal const int ChangeWeight = 900;

    private static readonly int[] WeightLevels = [1, 3, 10, 30];

    private readonly int _seed;

    public DemoLeadPlan(int seed, long activities, long leads, long start, long end)
    {
        _seed = seed;
        Count = checked((int)leads);
        Ids = new long[Count];
        Created = new long[Count];
        Weight = new byte[Count];
        LastChange = new int[Count];
        Array.Fill(LastChange, -1);

        // A share of the activities are creations inside the range; at least one lead is older than the range, so every
        // second of it has a lead to name.
        var newLeads = Count == 0 ? 0 : (int)Math.Min(Count - 1, Math.Round(activities * (double)NewLeadWeight / 10_000));
        Before = Count - newLeads;
        NewLeadRows = newLeads;

        var rng = new DemoRandom(seed, 10);
        var id = 1000L + rng.Next(5000);
        var gaps = new List<long>();
        for (var i = 0; i < Count; i++)
        {
            Ids[i] = id;
            if (rng.Next(100) < 20)
            {
                // A deleted or merged-away lead leaves a hole in the sequence.
                var gap = 1 + rng.Next(1, 50);
                gaps.Add(id + 1);
                id += gap;
            }
            else
            {
                id++;
            }

            // Half the leads are quiet, a few are very busy: activity is skewed towards a minority.
            var level = rng.Next(100);
            Weight[i] = (byte)WeightLevels[level < 50 ? 0 : level < 80 ? 1 : level < 95 ? 2 : 3];
        }

        Gaps = [.. gaps];
        var at = 0;
        foreach (var second in DemoTimeline.Seconds(new DemoRandom(seed, 11), Before, start - HistorySeconds, start - 1))
        {
            Created[at++] = second;
        }

        foreach (var second in DemoTimeline.Seconds(new DemoRandom(seed, 12), newLeads, start, end))
        {
            Created[at++] = second;
        }

        Fields = BuildChangeFields();
        var changes = Count == 0 ? 0 : Math.Min(activities - newLeads, (long)Math.Round(activities * (double)ChangeWeight / 10_000));
        PlanChanges(changes, start, end);
    }

    public int Count { get; }

    /// <summary>How many leads were created before the range (the first ones by id).</summary>
    public int Before { get; }

    /// <summary>How many leads were created inside the range, each with one New Lead row.</summary>
    public int NewLeadRows { get; }

    public long[] Ids { get; }

    /// <summary>Creation times in Unix seconds, non-decreasing by index.</summary>
    public long[] Created { get; }

    /// <summary>Relative activity of each lead (1, 3, 10 or 30).</summary>
    public byte[] Weight { get; }

    /// <summary>Ids that are not leads (holes in the sequence), for the loser of a merge.</summary>
    public long[] Gaps { get; }

    public DemoChangeField[] Fields { get; }

    /// <summary>Every planned change in date order.</summary>
    public List<DemoChange> Changes { get; } = [];

    /// <summary>The index into <see cref="Changes"/> of each lead's last change, or -1.</summary>
    private int[] LastChange { get; }

    /// <summary>
    /// A lead among the first <paramref name="known"/> (those that exist at the row's date), busy leads more often and
    /// the newest leads a little more often (a new lead is active right after it arrives).
    /// </summary>
    public int PickActive(DemoRandom rng, int known)
    {
        if (known > 200 && rng.Next(100) < 10)
        {
            return known - 1 - rng.Next(50);
        }

        while (true)
        {
            var i = (int)rng.NextLong(known);
            if (rng.Next(30) < Weight[i])
            {
                return i;
            }
        }
    }

    /// <summary>The fields of lead <paramref name="index"/> as it was created.</summary>
    public DemoLeadProfile Profile(int index) => new(_seed, Ids[index], Created[index]);

    /// <summary>Lead <paramref name="index"/> as stored: its fields at creation with every planned change applied.</summary>
    public LeadRecord Stored(int index)
    {
        var profile = Profile(index);
        var fields = profile.Fields;
        var created = DateTimeOffset.FromUnixTimeSeconds(Created[index]);
        var updated = LastChange[index] < 0 ? created : DateTimeOffset.FromUnixTimeSeconds(Changes[LastChange[index]].Time);
        var seen = 0UL;
        for (var c = LastChange[index]; c >= 0; c = Changes[c].Previous)
        {
            var change = Changes[c];

            // Walking back from the last change, the first one seen of a field is its stored value.
            if ((seen & (1UL << change.Field)) == 0)
            {
                seen |= 1UL << change.Field;
                var column = Fields[change.Field].Column;
                fields[column.RestName] = Parse(column, change.New);
            }
        }

        return new LeadRecord(Ids[index], created, updated, updated, fields);
    }

    /// <summary>A value as Change Data Value writes it (text; booleans as true/false, numbers invariant).</summary>
    public static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => (string)value,
    };

    private static object Parse(LeadColumn column, string value) => column.Kind switch
    {
        LeadValueKind.Boolean => value == "true",
        LeadValueKind.Integer => long.Parse(value, CultureInfo.InvariantCulture),
        LeadValueKind.Float => double.Parse(value, CultureInfo.InvariantCulture),
        _ => value,
    };

    private void PlanChanges(long count, long start, long end)
    {
        var slots = new List<int>();
        for (var f = 0; f < Fields.Length; f++)
        {
            slots.AddRange(Enumerable.Repeat(f, Fields[f].Weight));
        }

        var rng = new DemoRandom(_seed, 13);
        var older = 0;
        foreach (var second in DemoTimeline.Seconds(new DemoRandom(_seed, 14), count, start, end))
        {
            while (older < Count && Created[older] < second)
            {
                older++;
            }

            // Only the busier leads change, and only after they were created.
            var lead = 0;
            for (var attempt = 0; attempt < 64; attempt++)
            {
                lead = (int)rng.NextLong(older);
                if (Weight[lead] >= 10)
                {
                    break;
                }
            }

            var field = slots[rng.Next(slots.Count)];
            var spec = Fields[field];
            var old = Current(lead, field);
            string next;
            if (spec.Column.Kind == LeadValueKind.Text && rng.Next(100) == 0)
            {
                next = DemoText.HardStorable[rng.Next(DemoText.HardStorable.Length)];
            }
            else
            {
                var pick = rng.Next(spec.Values.Length);
                next = spec.Values[pick] == old ? spec.Values[(pick + 1) % spec.Values.Length] : spec.Values[pick];
            }

            if (next == old)
            {
                next = spec.Values[0] == old ? spec.Values[1] : spec.Values[0];
            }

            Changes.Add(new DemoChange(second, lead, field, old, next, LastChange[lead]));
            LastChange[lead] = Changes.Count - 1;
        }
    }

    /// <summary>The lead's value of a change field now: its last planned change, else its value at creation.</summary>
    private string? Current(int lead, int field)
    {
        for (var c = LastChange[lead]; c >= 0; c = Changes[c].Previous)
        {
            if (Changes[c].Field == field)
            {
                return Changes[c].New;
            }
        }

        return Profile(lead).Fields.TryGetValue(Fields[field].Column.RestName, out var value) ? Format(value) : null;
    }

    private static DemoChangeField[] BuildChangeFields()
    {
        var catalog = AssetCatalog.Standard;
        // Email is not among them: the activities that carry a lead's email (bounces, form fills) keep matching it.
        (string RestName, int Weight, string[] Values)[] spec =
        [
            ("leadStatus", 20, DemoText.LeadStatuses), ("title", 8, DemoText.Titles), ("leadSource", 8, DemoText.LeadSources),
            ("company", 6, DemoText.Companies), ("phone", 5, DemoText.Phones), ("city", 5, DemoText.Cities),
            ("country", 5, DemoText.Countries), ("unsubscribed", 5, DemoText.Booleans), ("industry", 4, DemoText.Industries),
            ("rating", 4, DemoText.Ratings), ("state", 3, DemoText.States), ("emailInvalid", 3, DemoText.Booleans),
            ("numberOfEmployees", 3, DemoText.Employees), ("leadRole", 3, DemoText.Roles), ("department", 3, DemoText.Departments),
            ("firstName", 2, DemoText.FirstNames), ("lastName", 2, DemoText.LastNames), ("postalCode", 2, DemoText.PostalCodes),
            ("leadPersonTimeZone", 2, DemoText.TimeZones), ("mobilePhone", 2, DemoText.Phones), ("marketingSuspended", 1, DemoText.Booleans),
            ("annualRevenue", 1, DemoText.Revenues), ("website", 1, DemoText.Websites), ("doNotCall", 1, DemoText.Booleans),
        ];
        var fields = new DemoChangeField[spec.Length];
        for (var i = 0; i < spec.Length; i++)
        {
            var column = LeadColumns.Find(spec[i].RestName) ?? throw new InvalidOperationException($"No lead column '{spec[i].RestName}'.");
            var asset = catalog.FindById(AssetGroup.AttributeName, column.Field.Id)
                ?? throw new InvalidOperationException($"No asset for '{spec[i].RestName}'.");
            fields[i] = new DemoChangeField(column, asset, spec[i].Weight, spec[i].Values);
        }

        return fields;
    }
}
