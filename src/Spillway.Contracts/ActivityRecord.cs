namespace Spillway.Contracts;

/// <summary>
/// One activity as an export file row holds it, every column typed. The server stores and streams this shape, and an
/// import reads it back; <see cref="Attributes"/> is the compact JSON object text the file carries as is.
/// </summary>
/// <param name="MarketoGuid">The activity's unique id.</param>
/// <param name="LeadId">The lead (person) id.</param>
/// <param name="ActivityDate">When the activity happened (UTC, second precision on the wire).</param>
/// <param name="ActivityTypeId">The activity type id.</param>
/// <param name="CampaignId">The campaign that caused the activity, if any.</param>
/// <param name="PrimaryAttributeValueId">The id of the primary attribute value, if any.</param>
/// <param name="PrimaryAttributeValue">The primary attribute value, if any.</param>
/// <param name="Attributes">The secondary attributes as a JSON object's text; <c>{}</c> when there are none.</param>
/// <param name="ActionResult"><c>succeeded</c>, <c>skipped</c> or <c>failed</c>, if any.</param>
public sealed record ActivityRecord(
    long MarketoGuid,
    long LeadId,
    DateTimeOffset ActivityDate,
    int ActivityTypeId,
    long? CampaignId,
    long? PrimaryAttributeValueId,
    string? PrimaryAttributeValue,
    string Attributes,
    string? ActionResult);
