using Spillway.Server.Activities.Catalog;

namespace Spillway.Server.Tests.Activities;

public class StandardActivityTypesTests
{
    // A real types.json, copied row by row: id | name | description | primary | attributes.
    public static TheoryData<int, string, string, string?, string> ObservedTypes => new()
    {
        { 1, "Visit Webpage", "User visits a web page", "Webpage ID:integer",
            "Client IP Address:string, Personalized URL:boolean, Query Parameters:string, Referrer URL:string, Search Engine:string, Search Query:string, User Agent:string, Webpage URL:string" },
        { 2, "Fill Out Form", "User fills out and submits a form on web page", "Webform ID:integer",
            "Client IP Address:string, Form Fields:text, Query Parameters:string, Referrer URL:string, User Agent:string, Webpage ID:integer" },
        { 3, "Click Link", "User clicks link on a page", "Link ID:integer",
            "Client IP Address:string, Query Parameters:string, Referrer URL:string, User Agent:string, Webpage ID:integer" },
        { 6, "Send Email", "Send Marketo Email to a person", "Mailing ID:integer",
            "Campaign Run ID:integer, Choice Number:integer, Has Predictive:boolean, Step ID:integer, Test Variant:integer" },
        { 7, "Email Delivered", "Marketo Email is delivered to a lead/contact", "Mailing ID:integer",
            "Campaign Run ID:integer, Choice Number:integer, Has Predictive:boolean, Step ID:integer, Test Variant:integer" },
        { 8, "Email Bounced", "Marketo Email is bounced for a lead", "Mailing ID:integer",
            "Campaign Run ID:integer, Category:string, Choice Number:integer, Details:string, Email:string, Has Predictive:boolean, Step ID:integer, Subcategory:string, Test Variant:integer" },
        { 9, "Unsubscribe Email", "Person unsubscribed from Marketo Emails", "Mailing ID:integer",
            "Campaign Run ID:integer, Client IP Address:string, Form Fields:text, Has Predictive:boolean, Query Parameters:string, Referrer URL:string, Test Variant:integer, User Agent:string, Webform ID:integer, Webpage ID:integer" },
        { 10, "Open Email", "User opens Marketo Email", "Mailing ID:integer",
            "Campaign Run ID:integer, Choice Number:integer, Device:string, Has Predictive:boolean, Is Mobile Device:boolean, Platform:string, Step ID:integer, Test Variant:integer, User Agent:string" },
        { 11, "Click Email", "User clicks on a link in a Marketo Email", "Mailing ID:integer",
            "Campaign Run ID:integer, Choice Number:integer, Device:string, Is Mobile Device:boolean, Is Predictive:boolean, Link:string, Link ID:string, Platform:string, Step ID:integer, Test Variant:integer, User Agent:string" },
        { 12, "New Lead", "New person/record is added to the lead database", null,
            "Created Date:date, Form Name:string, Lead Source:string, List Name:string, SFDC Type:string, Source Type:string, API Method Name:string, Modifying User:string, Request Id:string" },
    };

    [Theory]
    [MemberData(nameof(ObservedTypes))]
    public void Observed_types_match_the_recorded_response_exactly(int id, string name, string description, string? primary, string attributes)
    {
        var type = StandardActivityTypes.Find(id);
        Assert.NotNull(type);
        Assert.Equal(name, type.Name);
        Assert.Equal(description, type.Description);
        Assert.Equal(primary, type.PrimaryAttribute is null ? null : $"{type.PrimaryAttribute.Name}:{type.PrimaryAttribute.DataType}");
        Assert.Equal(attributes, string.Join(", ", type.Attributes.Select(a => $"{a.Name}:{a.DataType}")));
        Assert.Null(type.ApiName);
    }

    // Marketo's list of activity types, every id with its REST name.
    private const string OtherTypes =
        "1 Visit Webpage|2 Fill Out Form|3 Click Link|6 Send Email|7 Email Delivered|8 Email Bounced|9 Unsubscribe Email|" +
        "10 Open Email|11 Click Email|12 New Lead|13 Change Data Value|19 Sync Lead to SFDC|21 Convert Lead|22 Change Score|" +
        "23 Change Owner|24 Add to List|25 Remove from List|26 SFDC Activity|27 Email Bounced Soft|28 Sync Lead Updates to SFDC|" +
        "29 Delete Lead from SFDC|30 SFDC Activity Updated|31 SFDC Merge Leads|32 Merge Leads|34 Add to Opportunity|" +
        "35 Remove from Opportunity|36 Update Opportunity|37 Delete Lead|38 Send Alert|39 Send Sales Email|40 Open Sales Email|" +
        "41 Click Sales Email|42 Add to SFDC Campaign|43 Remove from SFDC Campaign|44 Change Status in SFDC Campaign|" +
        "45 Receive Sales Email|46 Interesting Moment|47 Request Campaign|48 Sales Email Bounced|100 Change Lead Partition|" +
        "101 Change Revenue Stage|102 Change Revenue Stage Manually|104 Change Status in Progression|106 Enrich with Data.com|" +
        "108 Change Segment|110 Call Webhook|111 Sent Forward to Friend Email|112 Received Forward to Friend Email|" +
        "113 Add to Nurture|114 Change Nurture Track|115 Change Nurture Cadence|123 Change Program Member Data|" +
        "131 Fill Out Facebook Lead Ads Form|132 Click RTP Call to Action|133 Click Predictive Content|145 Push Lead to Marketo|" +
        "147 Fill Out Linked Lead Gen Form|300 Sync Lead to Microsoft|400 Share Content|401 Vote in Poll|" +
        "402 Sign Up for Referral Offer|403 Achieve Goal In Referral|405 Click Shared Link|406 Win Sweepstakes|" +
        "407 Enter Sweepstakes|408 Disqualify Sweepstakes|409 Earn Entry In Social App|410 Refer to Social App";

    [Fact]
    public void Catalogue_holds_exactly_the_reference_ids_with_their_names()
    {
        var expected = OtherTypes.Split('|').Select(s => s.Split(' ', 2)).Select(p => (int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p[1])).ToList();
        Assert.Equal(expected, StandardActivityTypes.All.Select(t => (t.Id, t.Name)).ToList());
    }

    [Fact]
    public void Ids_are_unique_and_ordered_and_lookups_work()
    {
        var ids = StandardActivityTypes.All.Select(t => t.Id).ToList();
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.Equal(ids.Order().ToList(), ids);
        Assert.All(StandardActivityTypes.All, t => Assert.Same(t, StandardActivityTypes.Find(t.Id)));
        Assert.Null(StandardActivityTypes.Find(5));
        Assert.Null(StandardActivityTypes.Find(100001));
    }

    [Fact]
    public void Delete_lead_and_new_lead_are_present()
    {
        Assert.Equal(37, StandardActivityTypes.DeleteLead);
        Assert.Equal(12, StandardActivityTypes.NewLead);
        Assert.Equal("Delete Lead", StandardActivityTypes.Find(StandardActivityTypes.DeleteLead)?.Name);
        Assert.Null(StandardActivityTypes.Find(StandardActivityTypes.NewLead)!.PrimaryAttribute);
    }

    [Fact]
    public void Every_type_is_well_formed()
    {
        string[] vocabulary = ["integer", "string", "text", "boolean", "date", "datetime", "float"];
        Assert.All(StandardActivityTypes.All, t =>
        {
            Assert.False(string.IsNullOrWhiteSpace(t.Name));
            Assert.False(string.IsNullOrWhiteSpace(t.Description));
            Assert.Equal(t.Attributes.Count, t.Attributes.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count());
            Assert.All(t.Attributes, a => Assert.Contains(a.DataType, vocabulary));
            Assert.True(t.Attributes.Count <= 20, "at most 20 secondary attributes");
            if (t.PrimaryAttribute is { } p)
            {
                Assert.Contains(p.DataType, vocabulary);
            }
        });
    }

    [Fact]
    public void Change_status_in_progression_has_the_documented_attributes()
    {
        var type = StandardActivityTypes.Find(104)!;
        Assert.Equal(
            ["Reason:string", "Program Member ID:integer", "Acquired By:boolean", "Old Status:string", "New Status:string",
             "Old Status ID:integer", "New Status ID:integer", "Success:boolean"],
            type.Attributes.Select(a => $"{a.Name}:{a.DataType}"));
    }

    [Fact]
    public void Change_data_value_and_change_score_carry_the_reference_attribute_names()
    {
        Assert.Equal(
            ["New Value", "Old Value", "Reason", "Source", "API Method Name", "Modifying User", "Request Id"],
            StandardActivityTypes.Find(13)!.Attributes.Select(a => a.Name));
        Assert.Equal(
            ["Change Value", "New Value", "Old Value", "Reason", "Priority", "Urgency", "Relative Score", "Relative Urgency"],
            StandardActivityTypes.Find(22)!.Attributes.Select(a => a.Name));
    }

    [Theory]
    [InlineData(13, AssetGroup.AttributeName)]
    [InlineData(22, AssetGroup.AttributeName)]
    [InlineData(104, AssetGroup.MarketingProgram)]
    [InlineData(24, AssetGroup.StaticList)]
    [InlineData(25, AssetGroup.StaticList)]
    [InlineData(2, AssetGroup.WebForm)]
    public void Asset_group_types(int typeId, AssetGroup group) => Assert.Equal(group, AssetGroups.GroupOf(typeId));

    [Fact]
    public void Other_types_have_no_asset_group()
    {
        var grouped = new HashSet<int> { 2, 13, 22, 24, 25, 104 };
        Assert.All(StandardActivityTypes.All.Where(t => !grouped.Contains(t.Id)), t => Assert.Null(AssetGroups.GroupOf(t.Id)));
        Assert.Null(AssetGroups.GroupOf(0));
        Assert.Null(AssetGroups.GroupOf(100001));
    }
}
