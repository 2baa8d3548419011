namespace Spillway.Contracts;

/// <summary>An activity type as <c>GET /rest/v1/activities/types.json</c> returns it.</summary>
public sealed record ActivityType
{
    /// <summary>The type id; custom types start at 100000.</summary>
    public int Id { get; init; }

    /// <summary>The API name (custom types only).</summary>
    public string? ApiName { get; init; }

    /// <summary>The display name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The description.</summary>
    public string? Description { get; init; }

    /// <summary>The primary attribute, when the type has one.</summary>
    public ActivityTypeAttribute? PrimaryAttribute { get; init; }

    /// <summary>The secondary attributes.</summary>
    public IReadOnlyList<ActivityTypeAttribute> Attributes { get; init; } = [];
}

/// <summary>An attribute of an activity type.</summary>
public sealed record ActivityTypeAttribute
{
    /// <summary>The API name (custom types only).</summary>
    public string? ApiName { get; init; }

    /// <summary>The display name, which is also the key in the export's <c>attributes</c> JSON.</summary>
    public string Name { get; init; } = "";

    /// <summary>The data type: integer, string, text, boolean, date, datetime, float, ...</summary>
    public string DataType { get; init; } = "string";
}

/// <summary>One day of API usage, as <c>GET /rest/v1/stats/usage.json</c> returns it.</summary>
public sealed record UsageDay
{
    /// <summary>The day (Central time), <c>yyyy-MM-dd</c>.</summary>
    public string Date { get; init; } = "";

    /// <summary>Calls that day by all API users of the subscription.</summary>
    public long Total { get; init; }

    /// <summary>Calls per API user.</summary>
    public IReadOnlyList<UsageByUser> Users { get; init; } = [];
}

/// <summary>Calls by one API user.</summary>
/// <param name="UserId">The API user's email.</param>
/// <param name="Count">The number of calls.</param>
public sealed record UsageByUser(string UserId, long Count);
