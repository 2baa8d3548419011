namespace Spillway.Server.Activities.Export;

/// <summary>A column of the activity export file. Not persisted by value: stored as its wire name.</summary>
public enum ExportField
{
    MarketoGuid,
    LeadId,
    ActivityDate,
    ActivityTypeId,
    CampaignId,
    PrimaryAttributeValueId,
    PrimaryAttributeValue,
    Attributes,
    ActionResult,
}

/// <summary>The export columns by wire name (<see cref="ActivityExportFields"/>) and the default column list.</summary>
public static class ExportFields
{
    // Indexed by ExportField: the enum lists the fields in the same order.
    private static readonly IReadOnlyList<string> WireNames = ActivityExportFields.All;

    /// <summary>The 8 columns written when a request gives no <c>fields</c>, in file order. <c>actionResult</c> is not among them.</summary>
    public static IReadOnlyList<ExportField> Default { get; } = Array.AsReadOnly(
        ActivityExportFields.Default.Select(name => (ExportField)ActivityExportFields.IndexOf(name)).ToArray());

    /// <summary>
    /// Maps a wire name to its field. Matching is exact and case-sensitive (ordinal), as Marketo field names are:
    /// <c>marketoGUID</c> is a field, <c>marketoGuid</c> and <c>MarketoGUID</c> are unknown names. No trimming either.
    /// </summary>
    public static bool TryParse(string wireName, out ExportField field)
    {
        ArgumentNullException.ThrowIfNull(wireName);
        var index = ActivityExportFields.IndexOf(wireName);
        field = index < 0 ? default : (ExportField)index;
        return index >= 0;
    }

    /// <summary>The wire name of a field, e.g. <c>marketoGUID</c> for <see cref="ExportField.MarketoGuid"/>.</summary>
    public static string WireName(ExportField field) =>
        (uint)field < (uint)WireNames.Count
            ? WireNames[(int)field]
            : throw new ArgumentOutOfRangeException(nameof(field), field, "Unknown export field.");
}
