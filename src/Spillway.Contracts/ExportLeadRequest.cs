namespace Spillway.Contracts;

/// <summary>The body of <c>POST /bulk/v1/leads/export/create.json</c>.</summary>
public sealed record ExportLeadRequest
{
    /// <summary><c>CSV</c> (default), <c>TSV</c> or <c>SSV</c>.</summary>
    public string? Format { get; init; }

    /// <summary>Replacement header text by field name.</summary>
    public IReadOnlyDictionary<string, string>? ColumnHeaderNames { get; init; }

    /// <summary>The columns, in order: REST names of lead fields (required, at least one).</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];

    /// <summary>The filter: exactly one of its members.</summary>
    public ExportLeadFilter Filter { get; init; } = new();
}

/// <summary>The filter of a lead export: set exactly one member.</summary>
public sealed record ExportLeadFilter
{
    /// <summary>Leads created in this inclusive range, at most 31 days.</summary>
    public DateRange? CreatedAt { get; init; }

    /// <summary>Leads whose most recent field change is in this inclusive range, at most 31 days.</summary>
    public DateRange? UpdatedAt { get; init; }

    /// <summary>Members of the static list with this id.</summary>
    public int? StaticListId { get; init; }

    /// <summary>Members of the static list with this name.</summary>
    public string? StaticListName { get; init; }

    /// <summary>Members of the smart list with this id.</summary>
    public int? SmartListId { get; init; }

    /// <summary>Members of the smart list with this name.</summary>
    public string? SmartListName { get; init; }
}
