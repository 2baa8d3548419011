using System.Text;
using Spillway.Server.Storage;

/// <summary>
/// An activity with its text already UTF-8, as a store hands it to the export: the benches feed the writer the rows
/// it gets in production, without timing the encoding.
/// </summary>
internal sealed record EncodedActivity(
    long MarketoGuid,
    long LeadId,
    long ActivityDateUnixSeconds,
    int ActivityTypeId,
    long? CampaignId,
    long? PrimaryAttributeValueId,
    byte[]? PrimaryAttributeValue,
    byte[] Attributes,
    byte[]? ActionResult)
{
    public static EncodedActivity From(ActivityRecord row) => new(
        row.MarketoGuid, row.LeadId, row.ActivityDate.ToUnixTimeSeconds(), row.ActivityTypeId, row.CampaignId, row.PrimaryAttributeValueId,
        row.PrimaryAttributeValue is null ? null : Encoding.UTF8.GetBytes(row.PrimaryAttributeValue),
        Encoding.UTF8.GetBytes(row.Attributes),
        row.ActionResult is null ? null : Encoding.UTF8.GetBytes(row.ActionResult));

    public void WriteTo(IActivityRowSink sink) => sink.WriteRow(new Utf8ActivityRow
    {
        MarketoGuid = MarketoGuid,
        LeadId = LeadId,
        ActivityDateUnixSeconds = ActivityDateUnixSeconds,
        ActivityTypeId = ActivityTypeId,
        CampaignId = CampaignId,
        PrimaryAttributeValueId = PrimaryAttributeValueId,
        HasPrimaryAttributeValue = PrimaryAttributeValue is not null,
        PrimaryAttributeValue = PrimaryAttributeValue,
        Attributes = Attributes,
        HasActionResult = ActionResult is not null,
        ActionResult = ActionResult,
    });
}
