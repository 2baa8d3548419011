using System.Collections.Frozen;
using Spillway.Contracts;

namespace Spillway.Server.Activities.Catalog;

/// <summary>
/// The standard Marketo activity types, as <c>GET /rest/v1/activities/types.json</c> describes them.
/// </summary>
/// <remarks>
/// <para>Provenance of each entry:</para>
/// <list type="bullet">
/// <item>Ids 1, 2, 3, 6, 7, 8, 9, 10, 11, 12: copied exactly (name, description, primary attribute, attributes
/// with data types, in order) from the real 2019 <c>types.json</c> response.</item>
/// <item>Ids 13, 22, 24, 25, 37, 46, 104: attribute names from Marketo's activity docs. The primary attribute names of
/// 13 and 22 ("Attribute Name"), of 24/25 ("List ID") and of 104 ("Program ID") and all data types not given
/// there are inferred. 104's data types follow the bulk-export sample row.</item>
/// <item>Every other id: the name from Marketo's list of activity types; description, primary attribute and attributes are
/// inferred (a plausible small set in the style of the observed types).</item>
/// </list>
/// </remarks>
public static class StandardActivityTypes
{
    /// <summary>Fill Out Form.</summary>
    public const int FillOutForm = 2;

    /// <summary>New Lead: no primary attribute; in bulk files primaryAttributeValueId is the lead id.</summary>
    public const int NewLead = 12;

    /// <summary>Change Data Value (asset group Attribute Name).</summary>
    public const int ChangeDataValue = 13;

    /// <summary>Change Score (asset group Attribute Name).</summary>
    public const int ChangeScore = 22;

    /// <summary>Add to List (asset group Static List).</summary>
    public const int AddToList = 24;

    /// <summary>Remove from List (asset group Static List).</summary>
    public const int RemoveFromList = 25;

    /// <summary>Delete Lead: a standard type that bulk extract does not support.</summary>
    public const int DeleteLead = 37;

    /// <summary>Change Status in Progression (asset group Marketing Program).</summary>
    public const int ChangeStatusInProgression = 104;

    // Declared before All: static initialisers run in textual order.
    // "Mailing ID"-primary email types share these secondary attributes (types 6 and 7 of a real types.json).
    private static readonly string[] EmailStepAttributes =
        ["Campaign Run ID:integer", "Choice Number:integer", "Has Predictive:boolean", "Step ID:integer", "Test Variant:integer"];

    private static readonly string[] ListAttributes =
        ["Source:string", "API Method Name:string", "Modifying User:string", "Request Id:string"];

    /// <summary>All standard types, ordered by id.</summary>
    public static IReadOnlyList<ActivityType> All { get; } = Array.AsReadOnly(Build());

    private static readonly FrozenDictionary<int, ActivityType> ById = All.ToFrozenDictionary(t => t.Id);

    /// <summary>The standard type with this id, or null.</summary>
    public static ActivityType? Find(int id) => ById.GetValueOrDefault(id);

    private static ActivityType[] Build() =>
    [
        // ---- exact, from a real types.json response ----
        T(1, "Visit Webpage", "User visits a web page", "Webpage ID:integer",
            "Client IP Address:string", "Personalized URL:boolean", "Query Parameters:string", "Referrer URL:string",
            "Search Engine:string", "Search Query:string", "User Agent:string", "Webpage URL:string"),
        T(2, "Fill Out Form", "User fills out and submits a form on web page", "Webform ID:integer",
            "Client IP Address:string", "Form Fields:text", "Query Parameters:string", "Referrer URL:string",
            "User Agent:string", "Webpage ID:integer"),
        T(3, "Click Link", "User clicks link on a page", "Link ID:integer",
            "Client IP Address:string", "Query Parameters:string", "Referrer URL:string", "User Agent:string",
            "Webpage ID:integer"),
        T(6, "Send Email", "Send Marketo Email to a person", "Mailing ID:integer", EmailStepAttributes),
        T(7, "Email Delivered", "Marketo Email is delivered to a lead/contact", "Mailing ID:integer", EmailStepAttributes),
        T(8, "Email Bounced", "Marketo Email is bounced for a lead", "Mailing ID:integer",
            "Campaign Run ID:integer", "Category:string", "Choice Number:integer", "Details:string", "Email:string",
            "Has Predictive:boolean", "Step ID:integer", "Subcategory:string", "Test Variant:integer"),
        T(9, "Unsubscribe Email", "Person unsubscribed from Marketo Emails", "Mailing ID:integer",
            "Campaign Run ID:integer", "Client IP Address:string", "Form Fields:text", "Has Predictive:boolean",
            "Query Parameters:string", "Referrer URL:string", "Test Variant:integer", "User Agent:string",
            "Webform ID:integer", "Webpage ID:integer"),
        T(10, "Open Email", "User opens Marketo Email", "Mailing ID:integer",
            "Campaign Run ID:integer", "Choice Number:integer", "Device:string", "Has Predictive:boolean",
            "Is Mobile Device:boolean", "Platform:string", "Step ID:integer", "Test Variant:integer", "User Agent:string"),
        T(11, "Click Email", "User clicks on a link in a Marketo Email", "Mailing ID:integer",
            "Campaign Run ID:integer", "Choice Number:integer", "Device:string", "Is Mobile Device:boolean",
            "Is Predictive:boolean", "Link:string", "Link ID:string", "Platform:string", "Step ID:integer",
            "Test Variant:integer", "User Agent:string"),
        T(12, "New Lead", "New person/record is added to the lead database", null,
            "Created Date:date", "Form Name:string", "Lead Source:string", "List Name:string", "SFDC Type:string",
            "Source Type:string", "API Method Name:string", "Modifying User:string", "Request Id:string"),

        // ---- names from Marketo's activity docs, primary attribute names and data types partly inferred ----
        T(13, "Change Data Value", "Changed attribute value for a person", "Attribute Name:integer",
            "New Value:string", "Old Value:string", "Reason:string", "Source:string", "API Method Name:string",
            "Modifying User:string", "Request Id:string"),

        // ---- names from Marketo's list of activity types; everything else inferred ----
        T(19, "Sync Lead to SFDC", "Person is synchronized to Salesforce", null, "Assign To:string", "Sync Type:string"),
        T(21, "Convert Lead", "Convert a person to a contact in Salesforce", null,
            "Account Name:string", "Converted Status:string", "Opportunity Name:string"),
        T(22, "Change Score", "Changed score value for a person", "Attribute Name:integer",
            "Change Value:string", "New Value:integer", "Old Value:integer", "Reason:string", "Priority:integer",
            "Urgency:float", "Relative Score:integer", "Relative Urgency:integer"),
        T(23, "Change Owner", "Changed owner of a person", "Owner ID:integer", "New Owner:string", "Old Owner:string"),
        T(24, "Add to List", "Person added to a static list", "List ID:integer", ListAttributes),
        T(25, "Remove from List", "Person removed from a static list", "List ID:integer", ListAttributes),
        T(26, "SFDC Activity", "Salesforce activity logged for a person", "Activity ID:integer",
            "Subject:string", "Status:string", "Priority:string", "Due Date:date"),
        T(27, "Email Bounced Soft", "Marketo Email soft bounces for a person", "Mailing ID:integer",
            "Campaign Run ID:integer", "Category:string", "Choice Number:integer", "Details:string", "Email:string",
            "Has Predictive:boolean", "Step ID:integer", "Subcategory:string", "Test Variant:integer"),
        T(28, "Sync Lead Updates to SFDC", "Person updates are synchronized to Salesforce", null, "Reason:string"),
        T(29, "Delete Lead from SFDC", "Person is deleted from Salesforce", null, "Reason:string"),
        T(30, "SFDC Activity Updated", "Salesforce activity for a person is updated", "Activity ID:integer",
            "Subject:string", "Status:string", "Priority:string", "Due Date:date"),
        T(31, "SFDC Merge Leads", "Persons are merged in Salesforce", "Lead ID:integer",
            "Merge IDs:string", "Master Updated:boolean"),
        T(32, "Merge Leads", "Merge two or more persons", "Lead ID:integer",
            "Merge IDs:string", "Merged in Sales:boolean", "Merge Source:string", "Master Updated:boolean"),
        T(34, "Add to Opportunity", "Person is added to an opportunity", "Opportunity ID:integer",
            "Role:string", "Is Primary:boolean"),
        T(35, "Remove from Opportunity", "Person is removed from an opportunity", "Opportunity ID:integer",
            "Role:string", "Is Primary:boolean"),
        T(36, "Update Opportunity", "Opportunity of a person is updated", "Opportunity ID:integer",
            "Data Value Changes:string", "New Value:string", "Old Value:string"),
        T(37, "Delete Lead", "Delete a person from the lead database", "Lead ID:integer"),
        T(38, "Send Alert", "Send alert about a person", "Mailing ID:integer",
            "Send To Owner:string", "Send To Smart List:string", "Send To User:string"),
        T(39, "Send Sales Email", "Send a sales email to a person", "Template ID:integer",
            "Subject:string", "Source:string", "Sent By:string"),
        T(40, "Open Sales Email", "Person opens a sales email", "Template ID:integer",
            "Subject:string", "Source:string", "Is Mobile Device:boolean", "Device:string", "Platform:string"),
        T(41, "Click Sales Email", "Person clicks a link in a sales email", "Template ID:integer",
            "Subject:string", "Source:string", "Link:string", "Is Mobile Device:boolean", "Device:string"),
        T(42, "Add to SFDC Campaign", "Person is added to a Salesforce campaign", "Campaign ID:integer", "Status:string"),
        T(43, "Remove from SFDC Campaign", "Person is removed from a Salesforce campaign", "Campaign ID:integer"),
        T(44, "Change Status in SFDC Campaign", "Status of a person in a Salesforce campaign changes",
            "Campaign ID:integer", "New Status:string", "Old Status:string"),
        T(45, "Receive Sales Email", "Person receives a sales email", "Template ID:integer",
            "Subject:string", "Source:string", "Received By:string"),
        T(46, "Interesting Moment", "Person reaches an interesting moment", null,
            "Type:string", "Description:string", "Source:string", "Date:datetime"),
        T(47, "Request Campaign", "Person is requested into a smart campaign", "Campaign ID:integer", "Source:string"),
        T(48, "Sales Email Bounced", "Sales email bounces for a person", "Template ID:integer",
            "Subject:string", "Details:string", "Email:string"),
        T(100, "Change Lead Partition", "Person moves to another lead partition", "Partition ID:integer",
            "Old Partition ID:integer", "Reason:string"),
        T(101, "Change Revenue Stage", "Revenue stage of a person changes", "Model ID:integer",
            "New Stage ID:integer", "Old Stage ID:integer", "New Stage:string", "Old Stage:string", "Reason:string"),
        T(102, "Change Revenue Stage Manually", "Revenue stage of a person is changed manually", "Model ID:integer",
            "New Stage ID:integer", "Old Stage ID:integer", "New Stage:string", "Old Stage:string", "Reason:string"),
        T(104, "Change Status in Progression", "Change a person's program status", "Program ID:integer",
            "Reason:string", "Program Member ID:integer", "Acquired By:boolean", "Old Status:string",
            "New Status:string", "Old Status ID:integer", "New Status ID:integer", "Success:boolean"),
        T(106, "Enrich with Data.com", "Person is enriched with Data.com data", null, "Result:string"),
        T(108, "Change Segment", "Person moves to another segment", "Segmentation ID:integer",
            "New Segment ID:integer", "New Segment:string"),
        T(110, "Call Webhook", "A webhook is called for a person", "Webhook ID:integer",
            "Webhook Response:string", "Error Type:string"),
        T(111, "Sent Forward to Friend Email", "Person forwards a Marketo Email to a friend", "Mailing ID:integer",
            "Campaign Run ID:integer", "Step ID:integer", "Choice Number:integer"),
        T(112, "Received Forward to Friend Email", "Person receives a forwarded Marketo Email", "Mailing ID:integer",
            "Campaign Run ID:integer", "Step ID:integer", "Choice Number:integer"),
        T(113, "Add to Nurture", "Person is added to a nurture program", "Program ID:integer",
            "Track ID:integer", "Track Name:string"),
        T(114, "Change Nurture Track", "Person's nurture track changes", "Program ID:integer",
            "Previous Track ID:integer", "New Track ID:integer", "Previous Track:string", "New Track:string"),
        T(115, "Change Nurture Cadence", "Person's nurture cadence changes", "Program ID:integer",
            "New Nurture Cadence:string", "Previous Nurture Cadence:string"),
        T(123, "Change Program Member Data", "Program member data of a person changes", "Program ID:integer",
            "Attribute Name:string", "New Value:string", "Old Value:string", "Reason:string"),
        T(131, "Fill Out Facebook Lead Ads Form", "Person fills out a Facebook Lead Ads form", "Lead Ads Form ID:integer",
            "Facebook Page ID:string", "Ad ID:string", "Form Fields:text"),
        T(132, "Click RTP Call to Action", "Person clicks a web personalization call to action", "Campaign ID:integer",
            "Content:string", "Webpage URL:string"),
        T(133, "Click Predictive Content", "Person clicks predictive content", "Content ID:integer",
            "Channel:string", "Webpage URL:string"),
        T(145, "Push Lead to Marketo", "Person is pushed to Marketo", "Program ID:integer",
            "Source:string", "Reason:string"),
        T(147, "Fill Out Linked Lead Gen Form", "Person fills out a LinkedIn Lead Gen form", "Lead Gen Form ID:integer",
            "Campaign Name:string", "Form Fields:text"),
        T(300, "Sync Lead to Microsoft", "Person is synchronized to Microsoft Dynamics", null, "Assign To:string"),
        T(400, "Share Content", "Person shares content on a social network", "Social App ID:integer",
            "Share Network:string", "Webpage URL:string"),
        T(401, "Vote in Poll", "Person votes in a social poll", "Social App ID:integer", "Poll Response:string"),
        T(402, "Sign Up for Referral Offer", "Person signs up for a referral offer", "Social App ID:integer",
            "Webpage URL:string"),
        T(403, "Achieve Goal In Referral", "Person achieves a referral goal", "Social App ID:integer",
            "Goal Name:string"),
        T(405, "Click Shared Link", "Person clicks a shared link", "Social App ID:integer",
            "Share Network:string", "Referrer URL:string"),
        T(406, "Win Sweepstakes", "Person wins a sweepstakes", "Social App ID:integer", "Prize:string"),
        T(407, "Enter Sweepstakes", "Person enters a sweepstakes", "Social App ID:integer", "Entry Count:integer"),
        T(408, "Disqualify Sweepstakes", "Person is disqualified from a sweepstakes", "Social App ID:integer",
            "Reason:string"),
        T(409, "Earn Entry In Social App", "Person earns an entry in a social app", "Social App ID:integer",
            "Entry Count:integer"),
        T(410, "Refer to Social App", "Person refers someone to a social app", "Social App ID:integer",
            "Share Network:string"),
    ];

    private static ActivityType T(int id, string name, string description, string? primary, params string[] attributes)
    {
        var list = new ActivityTypeAttribute[attributes.Length];
        for (var i = 0; i < attributes.Length; i++)
        {
            list[i] = Attr(attributes[i]);
        }

        return new ActivityType
        {
            Id = id,
            Name = name,
            Description = description,
            PrimaryAttribute = primary is null ? null : Attr(primary),
            Attributes = Array.AsReadOnly(list),
        };
    }

    private static ActivityTypeAttribute Attr(string nameAndType)
    {
        var colon = nameAndType.LastIndexOf(':');
        return new ActivityTypeAttribute { Name = nameAndType[..colon], DataType = nameAndType[(colon + 1)..] };
    }
}
