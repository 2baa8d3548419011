namespace Spillway.Server.Activities.Catalog;

/// <summary>The asset groups that a bulk export's primary attribute filter works on.</summary>
public enum AssetGroup
{
    /// <summary>Lead fields: Change Data Value (13), Change Score (22).</summary>
    AttributeName,

    /// <summary>Programs: Change Status in Progression (104).</summary>
    MarketingProgram,

    /// <summary>Static lists: Add to List (24), Remove from List (25).</summary>
    StaticList,

    /// <summary>Forms: Fill Out Form (2).</summary>
    WebForm,
}

/// <summary>Which activity types belong to which asset group.</summary>
public static class AssetGroups
{
    /// <summary>The asset group of a standard activity type, or null when its primary attribute cannot be filtered.</summary>
    public static AssetGroup? GroupOf(int activityTypeId) => activityTypeId switch
    {
        StandardActivityTypes.ChangeDataValue or StandardActivityTypes.ChangeScore => AssetGroup.AttributeName,
        StandardActivityTypes.ChangeStatusInProgression => AssetGroup.MarketingProgram,
        StandardActivityTypes.AddToList or StandardActivityTypes.RemoveFromList => AssetGroup.StaticList,
        StandardActivityTypes.FillOutForm => AssetGroup.WebForm,
        _ => null,
    };
}

/// <summary>An asset that an activity's primary attribute refers to.</summary>
/// <param name="Id">The asset id: an activity's primaryAttributeValueId and what <c>primaryAttributeValueIds</c> names.</param>
/// <param name="Name">What an export writes in the primaryAttributeValue column.</param>
/// <param name="QualifiedName">What a <c>primaryAttributeValues</c> filter names: <c>"&lt;program&gt;.&lt;asset&gt;"</c>
/// for static lists and web forms, the program name for programs, the field display name for lead fields.</param>
/// <param name="Group">The asset group.</param>
public sealed record Asset(long Id, string Name, string QualifiedName, AssetGroup Group);
