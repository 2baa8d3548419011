using System.Collections.Frozen;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Catalog;

/// <summary>The assets (lead fields, programs, static lists, forms) that activities refer to, by group.</summary>
public sealed class AssetCatalog
{
    private readonly FrozenDictionary<AssetGroup, IReadOnlyList<Asset>> _byGroup;
    private readonly FrozenDictionary<(AssetGroup, long), Asset> _byId;
    private readonly FrozenDictionary<(AssetGroup, string), Asset> _byValue;

    /// <summary>Builds a catalogue; ids and qualified names must be unique within a group.</summary>
    public AssetCatalog(IEnumerable<Asset> assets)
    {
        ArgumentNullException.ThrowIfNull(assets);
        var byGroup = new Dictionary<AssetGroup, List<Asset>>();
        var byId = new Dictionary<(AssetGroup, long), Asset>();
        var byValue = new Dictionary<(AssetGroup, string), Asset>();
        foreach (var group in Enum.GetValues<AssetGroup>())
        {
            byGroup[group] = [];
        }

        foreach (var asset in assets)
        {
            if (!byId.TryAdd((asset.Group, asset.Id), asset))
            {
                throw new ArgumentException($"Duplicate {asset.Group} id {asset.Id}.", nameof(assets));
            }

            if (!byValue.TryAdd((asset.Group, asset.QualifiedName), asset))
            {
                throw new ArgumentException($"Duplicate {asset.Group} name '{asset.QualifiedName}'.", nameof(assets));
            }

            if (asset.Group == AssetGroup.AttributeName && asset.Name != asset.QualifiedName)
            {
                // A lead field is also found by its plain name; first one wins if two fields share a name.
                byValue.TryAdd((asset.Group, asset.Name), asset);
            }

            byGroup[asset.Group].Add(asset);
        }

        _byGroup = byGroup.ToFrozenDictionary(kv => kv.Key, kv => (IReadOnlyList<Asset>)kv.Value.AsReadOnly());
        _byId = byId.ToFrozenDictionary();
        _byValue = byValue.ToFrozenDictionary();
    }

    /// <summary>
    /// A realistic fixed catalogue: the standard lead fields (<see cref="LeadFields.All"/>), 25 programs,
    /// 30 static lists and 20 forms. Some names hold text that is hard to quote (comma, double quote, CJK).
    /// </summary>
    public static AssetCatalog Standard { get; } = new(StandardAssets.Build());

    /// <summary>The assets of a group, in catalogue order.</summary>
    public IReadOnlyList<Asset> In(AssetGroup group) => _byGroup.TryGetValue(group, out var list) ? list : [];

    /// <summary>The asset of a group with this id, or null.</summary>
    public Asset? FindById(AssetGroup group, long id) => _byId.GetValueOrDefault((group, id));

    /// <summary>
    /// The asset of a group named by a <c>primaryAttributeValues</c> entry: an exact, case-sensitive match on
    /// <see cref="Asset.QualifiedName"/> (for lead fields also on <see cref="Asset.Name"/>), or null.
    /// </summary>
    public Asset? FindByValue(AssetGroup group, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return _byValue.GetValueOrDefault((group, value));
    }
}

/// <summary>The data behind <see cref="AssetCatalog.Standard"/>.</summary>
internal static class StandardAssets
{
    /// <summary>Program id of "GL_OP_ALL_2021", the program of the documented filter example.</summary>
    internal const long GlOpAll2021 = 1001;

    /// <summary>Programs: (id, name). 1670 "MembershipTest1" is the program of the documented export sample.</summary>
    internal static readonly (long Id, string Name)[] Programs =
    [
        (GlOpAll2021, "GL_OP_ALL_2021"),
        (1670, "MembershipTest1"),
        (1038, "2024-01 Webinar - Data Mesh Basics"),
        (1075, "2024-03 Tradeshow - RSA Conference"),
        (1112, "2024 Q2 Newsletter"),
        (1149, "Nurture - Early Stage"),
        (1186, "Nurture - Late Stage"),
        (1223, "Content Syndication - TechTarget"),
        (1260, "2025-02 Webinar - AI in Marketing"),
        (1297, "Website - Contact Us"),
        (1334, "Website - Demo Request"),
        (1371, "Website - Gated Content"),
        (1408, "Events, EMEA 2025"),
        (1445, "Partner \"Connect\" Summit 2024"),
        (1482, "東京セミナー 2025"),
        (1519, "Operational - Lead Lifecycle"),
        (1556, "Operational - Scoring"),
        (1593, "Operational - Data Hygiene"),
        (1630, "2025-06 Roadshow - Chicago"),
        (1704, "Paid Social - LinkedIn Q3"),
        (1741, "Paid Search - Google Brand"),
        (1778, "Customer Onboarding"),
        (1815, "Product Launch - Spillway 2.0"),
        (1852, "Free Trial"),
        (1889, "Re-engagement Campaign"),
    ];

    /// <summary>Static lists: (id, program id, list name).</summary>
    internal static readonly (long Id, long ProgramId, string Name)[] Lists =
    [
        (4201, GlOpAll2021, "MPS Outbound"),
        (4214, GlOpAll2021, "MPS Inbound"),
        (4227, GlOpAll2021, "Do Not Email"),
        (4240, 1670, "Members"),
        (4253, 1038, "Registrants"),
        (4266, 1038, "Attendees"),
        (4279, 1038, "No Shows"),
        (4292, 1075, "Booth Scans"),
        (4305, 1075, "Meeting Requests"),
        (4318, 1112, "Subscribers"),
        (4331, 1149, "Nurture Pool"),
        (4344, 1223, "TechTarget Leads, March"),
        (4357, 1260, "Registrants"),
        (4370, 1260, "Attendees"),
        (4383, 1408, "Invited"),
        (4396, 1445, "\"VIP\" Accounts"),
        (4409, 1482, "参加者リスト"),
        (4422, 1519, "MQL Recycle"),
        (4435, 1519, "Sales Rejected"),
        (4448, 1556, "Score Reset Queue"),
        (4461, 1593, "Bad Emails"),
        (4474, 1593, "Duplicates To Review"),
        (4487, 1593, "GDPR Deletion Requests"),
        (4500, 1630, "Chicago Invitees"),
        (4513, 1704, "LinkedIn Lead Gen"),
        (4526, 1778, "New Customers"),
        (4539, 1815, "Beta Waitlist"),
        (4552, 1852, "Trial Users"),
        (4565, 1852, "Trial Expired"),
        (4578, 1889, "Inactive 180 Days"),
    ];

    /// <summary>Forms: (id, program id, form name).</summary>
    internal static readonly (long Id, long ProgramId, string Name)[] Forms =
    [
        (2101, 1297, "Contact Us Form"),
        (2108, 1334, "Demo Request Form"),
        (2115, 1371, "Gated Content - Short"),
        (2122, 1371, "Gated Content - Long"),
        (2129, 1038, "Registration Form"),
        (2136, 1260, "Registration Form"),
        (2143, 1075, "Meeting Request Form"),
        (2150, 1112, "Newsletter Signup"),
        (2157, 1852, "Trial Signup"),
        (2164, 1408, "RSVP, EMEA"),
        (2171, 1445, "Partner \"Connect\" Registration"),
        (2178, 1482, "お申し込みフォーム"),
        (2185, 1778, "Onboarding Survey"),
        (2192, 1815, "Beta Signup"),
        (2199, 1630, "Roadshow RSVP"),
        (2206, 1223, "Whitepaper Download"),
        (2213, GlOpAll2021, "Preference Center"),
        (2220, 1889, "Stay Subscribed"),
        (2227, 1593, "Update Your Info"),
        (2234, 1741, "Landing Page Form"),
    ];

    internal static string ProgramName(long programId)
    {
        foreach (var (id, name) in Programs)
        {
            if (id == programId)
            {
                return name;
            }
        }

        throw new InvalidOperationException($"Unknown program {programId}.");
    }

    internal static IEnumerable<Asset> Build()
    {
        foreach (var field in LeadFields.All)
        {
            yield return new Asset(field.Id, field.DisplayName, field.DisplayName, AssetGroup.AttributeName);
        }

        foreach (var (id, name) in Programs)
        {
            yield return new Asset(id, name, name, AssetGroup.MarketingProgram);
        }

        foreach (var (id, programId, name) in Lists)
        {
            yield return new Asset(id, name, ProgramName(programId) + "." + name, AssetGroup.StaticList);
        }

        foreach (var (id, programId, name) in Forms)
        {
            yield return new Asset(id, name, ProgramName(programId) + "." + name, AssetGroup.WebForm);
        }
    }
}
