namespace Spillway.Contracts;

/// <summary>The body of <c>POST /bulk/v1/activities/export/create.json</c>.</summary>
public sealed record ExportActivityRequest
{
    /// <summary><c>CSV</c> (default), <c>TSV</c> or <c>SSV</c>.</summary>
    public string? Format { get; init; }

    /// <summary>Replacement header text by field name.</summary>
    public IReadOnlyDictionary<string, string>? ColumnHeaderNames { get; init; }

    /// <summary>The columns, in order; null for the 8 default columns.</summary>
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>The filter; <c>createdAt</c> is required.</summary>
    public ExportActivityFilter Filter { get; init; } = new();
}

/// <summary>The filter of an activity export.</summary>
public sealed record ExportActivityFilter
{
    /// <summary>The inclusive activity date range, at most 31 days.</summary>
    public DateRange? CreatedAt { get; init; }

    /// <summary>Only these activity types.</summary>
    public IReadOnlyList<int>? ActivityTypeIds { get; init; }

    /// <summary>Only these primary attribute value ids (at most 50).</summary>
    public IReadOnlyList<long>? PrimaryAttributeValueIds { get; init; }

    /// <summary>Only these primary attribute values (at most 50).</summary>
    public IReadOnlyList<string>? PrimaryAttributeValues { get; init; }
}

/// <summary>An inclusive date-time range.</summary>
/// <param name="StartAt">The first instant, inclusive.</param>
/// <param name="EndAt">The last instant, inclusive.</param>
public sealed record DateRange(DateTimeOffset StartAt, DateTimeOffset EndAt);
