using System.Globalization;
using System.Text;
using Spillway.Server.Activities.Catalog;

namespace Spillway.Server.Activities.Seeding;

/// <summary>
/// A demo lead as it was created: standard fields in realistic shares, a consistent place (city, state, country, postal
/// code, time zone) and how it arrived (form, list import, CRM sync or API). A function of the seed and the id only.
/// </summary>
internal sealed class DemoLeadProfile
{
    private static readonly Asset[] Forms = [.. AssetCatalog.Standard.In(AssetGroup.WebForm)];
    private static readonly Asset[] Lists = [.. AssetCatalog.Standard.In(AssetGroup.StaticList)];
    private static readonly string[] Salutations = ["Mr.", "Ms.", "Dr.", "Mx."];

    // Mostly early in the funnel; the later statuses are rarer.
    private static readonly int[] StatusWeights = [30, 20, 12, 12, 8, 5, 4, 4, 3, 2];

    public DemoLeadProfile(int seed, long id, long createdSeconds)
    {
        Id = id;
        var rng = new DemoRandom(unchecked(((long)seed << 32) ^ id), 20);
        var fields = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["firstName"] = FirstNameOf(id),
            ["lastName"] = LastNameOf(id),
            ["email"] = EmailOf(id),
            ["company"] = CompanyOf(id),
            ["title"] = rng.Pick(DemoText.Titles),
        };
        if (rng.Percent(30))
        {
            fields["salutation"] = rng.Pick(Salutations);
        }

        if (rng.Percent(80))
        {
            fields["industry"] = rng.Pick(DemoText.Industries);
        }

        if (rng.Percent(60))
        {
            fields["numberOfEmployees"] = long.Parse(rng.Pick(DemoText.Employees), CultureInfo.InvariantCulture);
        }

        if (rng.Percent(40))
        {
            fields["annualRevenue"] = double.Parse(rng.Pick(DemoText.Revenues), CultureInfo.InvariantCulture);
        }

        if (rng.Percent(40))
        {
            fields["website"] = rng.Pick(DemoText.Websites);
        }

        if (rng.Percent(90))
        {
            var place = rng.Pick(DemoText.Places);
            fields["city"] = place.City;
            if (place.State is not null)
            {
                fields["state"] = place.State;
            }

            fields["country"] = place.Country;
            fields["postalCode"] = place.PostalCode;
            fields["leadPersonTimeZone"] = place.TimeZone;
        }

        if (rng.Percent(70))
        {
            fields["phone"] = rng.Pick(DemoText.Phones);
        }

        if (rng.Percent(25))
        {
            fields["mobilePhone"] = rng.Pick(DemoText.Phones);
        }

        LeadSource = rng.Pick(DemoText.LeadSources);
        fields["leadSource"] = LeadSource;
        fields["leadStatus"] = DemoText.LeadStatuses[Weighted(rng, StatusWeights)];
        if (rng.Percent(85))
        {
            fields["leadScore"] = (long)rng.Next(0, 150);
        }

        if (rng.Percent(60))
        {
            fields["department"] = rng.Pick(DemoText.Departments);
        }

        if (rng.Percent(40))
        {
            fields["leadRole"] = rng.Pick(DemoText.Roles);
        }

        if (rng.Percent(40))
        {
            fields["rating"] = rng.Pick(DemoText.Ratings);
        }

        if (rng.Percent(5))
        {
            fields["dateOfBirth"] = new DateOnly(1950, 1, 1).AddDays(rng.Next(0, 18_000));
        }

        fields["unsubscribed"] = rng.Percent(4);
        fields["emailInvalid"] = rng.Percent(2);
        fields["doNotCall"] = false;
        fields["marketingSuspended"] = false;
        fields["blackListed"] = false;

        SourceKind = rng.Next(4);
        Form = Forms[(int)(rng.NextDouble() * rng.NextDouble() * Forms.Length)];
        List = rng.Pick(Lists);
        SfdcContact = rng.Next(3) == 0;
        (fields["originalSourceType"], fields["originalSourceInfo"]) = SourceKind switch
        {
            0 => ("Web form fillout", Form.Name),
            1 => ("List import", List.Name),
            2 => ("SFDC sync", SfdcContact ? "Contact" : "Lead"),
            _ => ("Web service API", "syncLead"),
        };

        // About 1 % of the leads carry text that is hard to export (never NUL, which a lead field cannot hold).
        if (rng.Next(100) == 0)
        {
            fields[rng.Next(2) == 0 ? "address" : "title"] = rng.Pick(DemoText.HardStorable);
        }

        Fields = fields;
        CreatedSeconds = createdSeconds;
    }

    public long Id { get; }

    public long CreatedSeconds { get; }

    /// <summary>The standard fields at creation, typed as the lead store holds them.</summary>
    public Dictionary<string, object> Fields { get; }

    public string LeadSource { get; }

    /// <summary>How the lead arrived: 0 a form fill-out, 1 a list import, 2 a CRM sync, 3 the API.</summary>
    public int SourceKind { get; }

    public Asset Form { get; }

    public Asset List { get; }

    public bool SfdcContact { get; }

    public static string FirstNameOf(long id) => DemoText.FirstNames[(int)(id % DemoText.FirstNames.Length)];

    public static string LastNameOf(long id) => DemoText.LastNames[(int)(id / DemoText.FirstNames.Length % DemoText.LastNames.Length)];

    public static string CompanyOf(long id) => DemoText.Companies[(int)(id / 3 % DemoText.Companies.Length)];

    /// <summary>A unique ASCII address from the name (accents dropped: an email address with other characters is refused).</summary>
    public static string EmailOf(long id) => string.Create(CultureInfo.InvariantCulture,
        $"{Local(FirstNameOf(id))}.{Local(LastNameOf(id))}{id}@{DemoText.Domains[(int)(id / 7 % DemoText.Domains.Length)]}");

    private static string Local(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name.Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetter(c))
            {
                text.Append(char.ToLowerInvariant(c));
            }
        }

        return text.ToString();
    }

    private static int Weighted(DemoRandom rng, int[] weights)
    {
        var total = 0;
        foreach (var w in weights)
        {
            total += w;
        }

        var r = rng.Next(total);
        for (var i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }
}
