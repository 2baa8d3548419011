namespace Spillway.Server.Storage;

/// <summary>Which leads a lead extract reads.</summary>
public enum LeadExtractFilterKind
{
    /// <summary>Leads created in the window.</summary>
    CreatedAt = 0,

    /// <summary>Leads whose most recent field change is in the window (the hidden last field update time, not the visible updatedAt).</summary>
    FieldsUpdatedAt = 1,

    /// <summary>Members of the static list <see cref="LeadExtractQuery.ListId"/> (the window is not used).</summary>
    StaticList = 2,

    /// <summary>Leads that match <see cref="LeadExtractQuery.SmartListRule"/> (the window is not used).</summary>
    SmartList = 3,
}

/// <summary>
/// A lead extract's read: the subscription's leads that pass the filter, ordered by id, with only the columns named by
/// <paramref name="Fields"/> (REST names: <c>id</c>, <c>createdAt</c>, <c>updatedAt</c>, a standard field or one of
/// <paramref name="CustomColumns"/>, the subscription's custom fields), in that order. Both window bounds are inclusive.
/// </summary>
public sealed record LeadExtractQuery(int SubscriptionId, LeadExtractFilterKind Filter, DateTimeOffset StartAt, DateTimeOffset EndAt,
    IReadOnlyList<string> Fields, IReadOnlyList<LeadColumn>? CustomColumns = null)
{
    /// <summary>The static list whose members a <see cref="LeadExtractFilterKind.StaticList"/> read returns.</summary>
    public long ListId { get; init; }

    /// <summary>The rule a <see cref="LeadExtractFilterKind.SmartList"/> read applies.</summary>
    public SmartListRule? SmartListRule { get; init; }
}

/// <summary>
/// One streamed lead, read column by column in the query's field order. A value is valid only during the sink's call;
/// read a cell with the getter of its column's <see cref="LeadValueKind"/> after checking <see cref="IsNull"/>.
/// </summary>
public interface ILeadRow
{
    bool IsNull(int column);

    /// <summary>A text cell as UTF-8 bytes, valid only until the next call on this row.</summary>
    ReadOnlySpan<byte> GetText(int column);

    long GetInteger(int column);

    double GetFloat(int column);

    bool GetBoolean(int column);

    DateOnly GetDate(int column);

    DateTimeOffset GetDateTime(int column);
}

/// <summary>Receives a lead extract's rows, in id order, on one thread.</summary>
public interface ILeadRowSink
{
    void WriteRow(ILeadRow row);
}

/// <summary>
/// The lead extract's read path, a role every store provides: one query over the lead table reading only the requested
/// columns, streamed row by row into the sink (never materialised), so a window of millions of wide leads costs bounded memory.
/// </summary>
public interface ILeadWindowStreamer
{
    /// <summary>Streams the leads of <paramref name="query"/> ordered by id; ends after the last row, faults with the first error.</summary>
    Task StreamLeadsAsync(LeadExtractQuery query, ILeadRowSink sink, CancellationToken ct);
}

/// <summary>The columns a lead extract may name: the describe catalogue's REST names, the subscription's custom fields included.</summary>
public static class LeadExtractColumns
{
    /// <summary>The column of a REST name (<c>id</c>, <c>createdAt</c> and <c>updatedAt</c> included), or null for an unknown name.</summary>
    public static LeadColumn? Find(string restName) => restName switch
    {
        "id" => LeadColumns.Id,
        "createdAt" => CreatedAt,
        "updatedAt" => UpdatedAt,
        _ => LeadColumns.Find(restName),
    };

    /// <summary>The column of a REST name among the standard names and then <paramref name="custom"/>, or null.</summary>
    public static LeadColumn? Find(string restName, IReadOnlyList<LeadColumn>? custom) => Find(restName) ?? LeadCustomFields.Find(custom, restName);

    private static readonly LeadColumn CreatedAt = new(LeadFields.FindByRestName("createdAt")!, "createdAt", "created_at", LeadValueKind.DateTime);
    private static readonly LeadColumn UpdatedAt = new(LeadFields.FindByRestName("updatedAt")!, "updatedAt", "updated_at", LeadValueKind.DateTime);
}
