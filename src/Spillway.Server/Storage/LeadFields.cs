using System.Collections.Frozen;
using System.Text.Json.Serialization;

namespace Spillway.Server.Storage;

/// <summary>The REST or SOAP name of a lead field, as <c>GET /rest/v1/leads/describe.json</c> reports it.</summary>
/// <param name="Name">The API name.</param>
/// <param name="ReadOnly">Whether the API may write the field.</param>
public sealed record LeadFieldApiName(string Name, bool ReadOnly);

/// <summary>One lead field, as an item of <c>GET /rest/v1/leads/describe.json</c>'s <c>result</c>.</summary>
/// <param name="Id">The field id. It is also the AttributeName asset id that Change Data Value (13) and
/// Change Score (22) carry as primaryAttributeValueId.</param>
/// <param name="DisplayName">The friendly label; the primaryAttributeValue of 13 and 22.</param>
/// <param name="DataType">string, text, email, phone, url, integer, float, currency, boolean, date, datetime.</param>
/// <param name="Length">The maximum length, for string-like types only.</param>
/// <param name="Rest">The REST name, when the field is exposed to REST.</param>
/// <param name="Soap">The SOAP name, when the field is exposed to SOAP.</param>
public sealed record LeadField(
    int Id,
    string DisplayName,
    string DataType,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Length,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LeadFieldApiName? Rest,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LeadFieldApiName? Soap);

/// <summary>
/// The standard Marketo lead fields. Display names, REST and SOAP names and data types follow Marketo's
/// "List of Standard Fields" page and real describe responses. Ids 2 (Company Name), 48 (First Name),
/// 50 (Last Name), 51 (Email Address) and 60 (Address) are the ids seen in real responses; the other ids are
/// plausible, stable values (ids differ per subscription in Marketo).
/// </summary>
public static class LeadFields
{
    /// <summary>All standard lead fields, ordered by id.</summary>
    public static IReadOnlyList<LeadField> All { get; } =
    [
        S(2, "Company Name", "company", "Company"),
        S(3, "Site", "site", "Site"),
        F(4, "Billing Address", "text", null, "billingStreet", "BillingStreet"),
        S(5, "Billing City", "billingCity", "BillingCity"),
        S(6, "Billing State", "billingState", "BillingState"),
        S(7, "Billing Country", "billingCountry", "BillingCountry"),
        S(8, "Billing Postal Code", "billingPostalCode", "BillingPostalCode"),
        F(9, "Website", "url", 255, "website", "Website"),
        F(10, "Main Phone", "phone", 255, "mainPhone", "MainPhone"),
        F(11, "Annual Revenue", "currency", null, "annualRevenue", "AnnualRevenue"),
        F(12, "Num Employees", "integer", null, "numberOfEmployees", "NumberOfEmployees"),
        S(13, "Industry", "industry", "Industry"),
        F(14, "SIC Code", "string", 40, "sicCode", "SICCode"),
        S(45, "Salutation", "salutation", "Salutation"),
        S(48, "First Name", "firstName", "FirstName"),
        S(49, "Middle Name", "middleName", "MiddleName"),
        S(50, "Last Name", "lastName", "LastName"),
        F(51, "Email Address", "email", 255, "email", "Email"),
        F(52, "Phone Number", "phone", 255, "phone", "Phone"),
        F(53, "Mobile Phone Number", "phone", 255, "mobilePhone", "MobilePhone"),
        F(54, "Fax Number", "phone", 255, "fax", "Fax"),
        S(55, "Job Title", "title", "Title"),
        F(57, "Date of Birth", "date", null, "dateOfBirth", "DateofBirth"),
        F(60, "Address", "text", null, "address", "Address"),
        S(61, "City", "city", "City"),
        S(62, "State", "state", "State"),
        S(63, "Country", "country", "Country"),
        S(64, "Postal Code", "postalCode", "PostalCode"),
        R(66, "Original Source Type", "string", 255, "originalSourceType", "OriginalSourceType"),
        R(67, "Original Source Info", "string", 255, "originalSourceInfo", "OriginalSourceInfo"),
        S(68, "Registration Source Type", "registrationSourceType", "RegistrationSourceType"),
        S(69, "Registration Source Info", "registrationSourceInfo", "RegistrationSourceInfo"),
        R(70, "Original Search Engine", "string", 255, "originalSearchEngine", "OriginalSearchEngine"),
        R(71, "Original Search Phrase", "string", 255, "originalSearchPhrase", "OriginalSearchPhrase"),
        R(72, "Original Referrer", "string", 255, "originalReferrer", "OriginalReferrer"),
        F(73, "Email Invalid", "boolean", null, "emailInvalid", "EmailInvalid"),
        S(74, "Email Invalid Cause", "emailInvalidCause", "EmailInvalidCause"),
        F(75, "Unsubscribed", "boolean", null, "unsubscribed", "Unsubscribed"),
        F(76, "Unsubscribed Reason", "text", null, "unsubscribedReason", "UnsubscribedReason"),
        F(77, "Do Not Call", "boolean", null, "doNotCall", "DoNotCall"),
        S(78, "Do Not Call Reason", "doNotCallReason", "DoNotCallReason"),
        R(79, "Anonymous IP", "string", 255, "anonymousIP", "AnonymousIP"),
        R(80, "Inferred Company", "string", 255, "inferredCompany", "InferredCompany"),
        R(81, "Inferred Country", "string", 255, "inferredCountry", "InferredCountry"),
        S(82, "Department", "department", "Department"),
        F(83, "Lead Score", "integer", null, "leadScore", "LeadScore"),
        S(84, "Lead Status", "leadStatus", "LeadStatus"),
        S(85, "Lead Source", "leadSource", "LeadSource"),
        S(86, "Role", "leadRole", "LeadRole"),
        S(87, "Rating", "rating", "Rating"),
        F(88, "Priority", "integer", null, "priority", "Priority"),
        F(89, "Urgency", "float", null, "urgency", "Urgency"),
        F(90, "Relative Score", "integer", null, "relativeScore", "RelativeScore"),
        F(91, "Relative Urgency", "integer", null, "relativeUrgency", "RelativeUrgency"),
        F(92, "Marketing Suspended", "boolean", null, "marketingSuspended", "MarketingSuspended"),
        F(93, "Black Listed", "boolean", null, "blackListed", "BlackListed"),
        S(94, "Person Time Zone", "leadPersonTimeZone", "LeadPersonTimeZone"),
        new(95, "Created At", "datetime", null, new("createdAt", true), null),
        new(96, "Updated At", "datetime", null, new("updatedAt", true), null),
    ];

    private static readonly FrozenDictionary<int, LeadField> ById = All.ToFrozenDictionary(f => f.Id);
    private static readonly FrozenDictionary<string, LeadField> ByRestName =
        All.Where(f => f.Rest is not null).ToFrozenDictionary(f => f.Rest!.Name, StringComparer.Ordinal);

    /// <summary>The field with this id, or null.</summary>
    public static LeadField? Find(int id) => ById.GetValueOrDefault(id);

    /// <summary>The field with this REST name (case-sensitive), or null.</summary>
    public static LeadField? FindByRestName(string restName) => ByRestName.GetValueOrDefault(restName);

    private static LeadField S(int id, string displayName, string rest, string soap) =>
        F(id, displayName, "string", 255, rest, soap);

    private static LeadField F(int id, string displayName, string dataType, int? length, string rest, string soap) =>
        new(id, displayName, dataType, length, new(rest, false), new(soap, false));

    private static LeadField R(int id, string displayName, string dataType, int? length, string rest, string soap) =>
        new(id, displayName, dataType, length, new(rest, true), new(soap, true));
}
