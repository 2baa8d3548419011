namespace Spillway.Contracts;

/// <summary>
/// The columns of an activity export file, by their wire names. Names match exactly and case-sensitively, as Marketo's
/// do: <c>marketoGUID</c> is a field, <c>marketoGuid</c> is not.
/// </summary>
public static class ActivityExportFields
{
    /// <summary>The activity's unique id.</summary>
    public const string MarketoGuid = "marketoGUID";

    /// <summary>The lead (person) id.</summary>
    public const string LeadId = "leadId";

    /// <summary>When the activity happened.</summary>
    public const string ActivityDate = "activityDate";

    /// <summary>The activity type id.</summary>
    public const string ActivityTypeId = "activityTypeId";

    /// <summary>The campaign that caused the activity.</summary>
    public const string CampaignId = "campaignId";

    /// <summary>The id of the primary attribute value.</summary>
    public const string PrimaryAttributeValueId = "primaryAttributeValueId";

    /// <summary>The primary attribute value.</summary>
    public const string PrimaryAttributeValue = "primaryAttributeValue";

    /// <summary>The secondary attributes, a JSON object.</summary>
    public const string Attributes = "attributes";

    /// <summary><c>succeeded</c>, <c>skipped</c> or <c>failed</c>; only when asked for.</summary>
    public const string ActionResult = "actionResult";

    /// <summary>Every exportable field, in the order Marketo documents them.</summary>
    public static IReadOnlyList<string> All { get; } = Array.AsReadOnly(
    [
        MarketoGuid, LeadId, ActivityDate, ActivityTypeId, CampaignId, PrimaryAttributeValueId, PrimaryAttributeValue, Attributes, ActionResult,
    ]);

    /// <summary>
    /// The 8 columns written when a request gives no <c>fields</c>, in file order: every field but
    /// <see cref="ActionResult"/>.
    /// </summary>
    public static IReadOnlyList<string> Default { get; } = Array.AsReadOnly(
    [
        MarketoGuid, LeadId, ActivityDate, ActivityTypeId, CampaignId, PrimaryAttributeValueId, PrimaryAttributeValue, Attributes,
    ]);

    /// <summary>The columns without which a row does not identify an activity (what an import or a typed read needs).</summary>
    public static IReadOnlyList<string> Required { get; } = Array.AsReadOnly([MarketoGuid, LeadId, ActivityDate, ActivityTypeId]);

    /// <summary>Whether <paramref name="name"/> is the wire name of an exportable field (exact, case-sensitive).</summary>
    /// <param name="name">The name.</param>
    /// <returns>Whether it is one of <see cref="All"/>.</returns>
    public static bool IsField(string? name) => name is not null && IndexOf(name) >= 0;

    /// <summary>The position of a wire name in <see cref="All"/>, or -1 (exact, case-sensitive).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The index, or -1.</returns>
    public static int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (var i = 0; i < All.Count; i++)
        {
            if (string.Equals(All[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
