using System.Text.Json;

namespace Spillway.Client;

/// <summary>
/// One activity row of an export file as a client reads it: the marketoGUID as the text the file holds and the
/// attributes parsed. (<see cref="Spillway.Contracts.ActivityRecord"/> is the same row as the server stores it.)
/// </summary>
public sealed record ExportedActivity
{
    /// <summary>The activity's unique id (numeric-looking text).</summary>
    public required string MarketoGuid { get; init; }

    /// <summary>The lead (person) id.</summary>
    public required long LeadId { get; init; }

    /// <summary>When the activity happened (UTC, second precision).</summary>
    public required DateTimeOffset ActivityDate { get; init; }

    /// <summary>The activity type id.</summary>
    public required int ActivityTypeId { get; init; }

    /// <summary>The campaign that caused the activity, if any.</summary>
    public long? CampaignId { get; init; }

    /// <summary>The id of the primary attribute value (a webpage, form, list, program, lead field ...), if any.</summary>
    public long? PrimaryAttributeValueId { get; init; }

    /// <summary>The primary attribute value (its name), if any.</summary>
    public string? PrimaryAttributeValue { get; init; }

    /// <summary>
    /// The secondary attributes: a JSON object from display name to typed value (numbers and booleans stay JSON
    /// numbers and booleans). An empty object when the file has <c>null</c>, nothing, or no such column.
    /// </summary>
    public JsonElement Attributes { get; init; }

    /// <summary><c>succeeded</c>, <c>skipped</c> or <c>failed</c>, when the export asked for <c>actionResult</c>.</summary>
    public string? ActionResult { get; init; }
}
