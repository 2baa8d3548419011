using Spillway.Server.Activities.Seeding;

namespace Spillway.Server.Activities.Catalog;

/// <summary>A progression step of a channel: what a program member's status can be.</summary>
/// <param name="Name">The status name, as Change Status in Progression writes it.</param>
/// <param name="Step">The step number; higher is further along.</param>
/// <param name="Success">Whether reaching the step is the program's success.</param>
public sealed record ProgressionStatus(string Name, int Step, bool Success);

/// <summary>A program channel: its id, name, the program type it applies to and its progression steps.</summary>
public sealed record ProgramChannel(long Id, string Name, string ApplicableProgramType, IReadOnlyList<ProgressionStatus> Statuses);

/// <summary>A marketing program: the parent of static lists, forms, emails and smart campaigns.</summary>
public sealed record MarketingProgram(long Id, string Name, string Type, ProgramChannel Channel, string Status, DateTimeOffset CreatedAt);

/// <summary>A smart campaign of a program. Trigger campaigns are requestable (Request Campaign names them); batch ones are not.</summary>
public sealed record SmartCampaign(long Id, string Name, string Description, string Type, bool IsActive, MarketingProgram Program, DateTimeOffset CreatedAt);

/// <summary>An email, landing page or form asset; its program is null when it lives outside one (web pages).</summary>
public sealed record WorldAsset(long Id, string Name, MarketingProgram? Program, DateTimeOffset CreatedAt);

/// <summary>
/// The fixed marketing world that seeded activities name: programs with their channels, smart campaigns, emails,
/// landing pages (the tracked web pages) and forms. Every primaryAttributeValueId and campaignId the demo generator
/// writes for a program, campaign, email, web page or form is an id here, so each resolves through the asset
/// endpoints. The world is the same for every subscription and does not change, so it is built once, not stored.
/// </summary>
public static class MarketingWorld
{
    private static readonly DateTimeOffset Epoch = new(2021, 1, 4, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The channels, with Marketo's default progression steps.</summary>
    public static IReadOnlyList<ProgramChannel> Channels { get; } =
    [
        Channel(1, "Webinar", "event", ("Not in Program", false), ("Invited", false), ("Registered", false), ("No Show", false), ("Attended", true), ("Attended On-demand", true)),
        Channel(2, "Tradeshow", "event", ("Not in Program", false), ("Invited", false), ("Registered", false), ("Visited Booth", true), ("Engaged", true)),
        Channel(3, "Nurture", "Engagement", ("Not in Program", false), ("Member", false), ("Engaged", true)),
        Channel(4, "Email Send", "Email", ("Not in Program", false), ("Sent", false), ("Engaged", true)),
        Channel(5, "Content Syndication", "Default", ("Not in Program", false), ("Acquired", false), ("Engaged", true)),
        Channel(6, "Website", "Default", ("Not in Program", false), ("Visited", false), ("Filled-out Form", true)),
        Channel(7, "Operational", "Default", ("Not in Program", false), ("Member", true)),
        Channel(8, "Online Advertising", "Default", ("Not in Program", false), ("Clicked", false), ("Converted", true)),
    ];

    /// <summary>The programs of <see cref="AssetCatalog.Standard"/>, in catalogue order.</summary>
    public static IReadOnlyList<MarketingProgram> Programs { get; } =
        [.. StandardAssets.Programs.Select((p, i) => ProgramOf(p.Id, p.Name, i))];

    /// <summary>
    /// The smart campaigns: 60, ids 8497, 8510, … (13 apart), each named "&lt;program&gt;.&lt;stem&gt;" and owned by
    /// the programs in turn.
    /// </summary>
    public static IReadOnlyList<SmartCampaign> Campaigns { get; } = [.. Enumerable.Range(0, 60).Select(CampaignOf)];

    /// <summary>The emails: two per program, ids 12001, 12004, … (3 apart), named "&lt;program&gt;.&lt;stem&gt;".</summary>
    public static IReadOnlyList<WorldAsset> Emails { get; } = [.. Enumerable.Range(0, StandardAssets.Programs.Length * 2).Select(EmailOf)];

    /// <summary>The landing pages: the tracked web pages that Visit Webpage names.</summary>
    public static IReadOnlyList<WorldAsset> LandingPages { get; } =
        [.. DemoText.Pages.Select((p, i) => new WorldAsset(p.Id, p.Page, null, Epoch.AddDays(i)))];

    /// <summary>The forms that Fill Out Form names, with their programs.</summary>
    public static IReadOnlyList<WorldAsset> Forms { get; } =
        [.. StandardAssets.Forms.Select((f, i) => new WorldAsset(f.Id, f.Name, ProgramById(f.ProgramId), Epoch.AddDays(40 + i)))];

    /// <summary>
    /// The static lists that Add to List (24) and Remove from List (25) name: (id, program id, name). This is the hook
    /// for the lead store's static lists: a store that holds lists seeds these, with these ids, so that every list id
    /// an activity writes resolves through the list endpoints.
    /// </summary>
    public static IReadOnlyList<(long Id, long ProgramId, string Name)> StaticListsToSeed { get; } = StandardAssets.Lists;

    /// <summary>The program with this id, or null.</summary>
    public static MarketingProgram? ProgramById(long id) => Programs.FirstOrDefault(p => p.Id == id);

    /// <summary>The smart campaign with this id, or null.</summary>
    public static SmartCampaign? CampaignById(long id) => Campaigns.FirstOrDefault(c => c.Id == id);

    private static ProgramChannel Channel(long id, string name, string type, params (string Name, bool Success)[] steps) =>
        new(id, name, type, [.. steps.Select((s, i) => new ProgressionStatus(s.Name, i, s.Success))]);

    private static MarketingProgram ProgramOf(long id, string name, int index)
    {
        var channel = ChannelFor(name);
        var (type, status) = channel.ApplicableProgramType switch
        {
            "event" => ("Event", ""),
            "Engagement" => ("Engagement", "on"),
            "Email" => ("Email", "unlocked"),
            _ => ("Default", ""),
        };
        return new MarketingProgram(id, name, type, channel, status, Epoch.AddDays(index * 7));
    }

    private static ProgramChannel ChannelFor(string name)
    {
        string channel = name switch
        {
            _ when name.Contains("Webinar", StringComparison.Ordinal) => "Webinar",
            _ when name.Contains("Tradeshow", StringComparison.Ordinal) || name.Contains("Roadshow", StringComparison.Ordinal)
                || name.Contains("Events", StringComparison.Ordinal) || name.Contains("Summit", StringComparison.Ordinal)
                || name.Contains("セミナー", StringComparison.Ordinal) => "Tradeshow",
            _ when name.StartsWith("Nurture", StringComparison.Ordinal) || name == "Customer Onboarding"
                || name == "Re-engagement Campaign" => "Nurture",
            _ when name.Contains("Newsletter", StringComparison.Ordinal) => "Email Send",
            _ when name.StartsWith("Content Syndication", StringComparison.Ordinal) => "Content Syndication",
            _ when name.StartsWith("Website", StringComparison.Ordinal) || name == "Free Trial" => "Website",
            _ when name.StartsWith("Paid", StringComparison.Ordinal) => "Online Advertising",
            _ => "Operational",
        };
        return Channels.First(c => c.Name == channel);
    }

    private static SmartCampaign CampaignOf(int k)
    {
        var program = Programs[k % Programs.Count];
        var stem = DemoText.CampaignStems[k % DemoText.CampaignStems.Length];

        // Sends and clean-ups run as scheduled batches; everything that reacts to a lead is a trigger.
        var batch = stem.Contains("Send", StringComparison.Ordinal) || stem.StartsWith("Data Hygiene", StringComparison.Ordinal);
        return new SmartCampaign(8497 + (k * 13), program.Name + "." + stem, "", batch ? "batch" : "trigger", IsActive: !batch, program,
            program.CreatedAt.AddHours(1 + k));
    }

    private static WorldAsset EmailOf(int k)
    {
        var program = Programs[k / 2];
        return new WorldAsset(12001 + (k * 3), program.Name + "." + DemoText.EmailStems[(k * 7) % DemoText.EmailStems.Length], program,
            program.CreatedAt.AddHours(2 + k));
    }
}
