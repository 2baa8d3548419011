using System.Collections.Frozen;

namespace Spillway.Server.Storage;

/// <summary>
/// The lead database of a subscription. Lead ids are per subscription, assigned from a per-subscription sequence
/// that never hands out an id twice (a deleted lead's id is not reused, as in Marketo).
/// </summary>
public interface ILeadStore
{
    /// <summary>The leads with these ids that exist, ordered by id.</summary>
    Task<IReadOnlyList<LeadRecord>> GetByIdsAsync(int subscriptionId, IReadOnlyList<long> ids, CancellationToken ct);

    /// <summary>
    /// At most <paramref name="limit"/> leads whose <paramref name="column"/> equals one of <paramref name="values"/>
    /// (text compares case-insensitively) and whose id is above <paramref name="afterId"/>, ordered by id.
    /// </summary>
    Task<IReadOnlyList<LeadRecord>> FindAsync(int subscriptionId, LeadColumn column, IReadOnlyList<object> values, long afterId, int limit,
        CancellationToken ct);

    /// <summary>How many leads <see cref="FindAsync"/> would find from the start, counting at most <paramref name="cap"/>.</summary>
    Task<long> CountMatchesAsync(int subscriptionId, LeadColumn column, IReadOnlyList<object> values, long cap, CancellationToken ct);

    /// <summary>
    /// Creates or updates the records in input order, in one transaction: every record is either applied whole or
    /// skipped with its reason, and a later record sees the earlier ones. Returns one outcome per record.
    /// </summary>
    Task<IReadOnlyList<LeadSyncOutcome>> SyncAsync(int subscriptionId, LeadSyncRequest request, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Inserts or replaces these leads exactly as given (id, times and standard fields; a field absent from the map is
    /// null), writing no activity: a bulk load, not a sync. The last record of a repeated id wins. The subscription's id
    /// sequence moves past the largest id, so a later create never reuses one, and its lead database is on afterwards.
    /// Commits in batches; a value of the wrong kind for its field (or text with NUL) throws before anything is written.
    /// </summary>
    Task PutAsync(int subscriptionId, IReadOnlyList<LeadRecord> leads, CancellationToken ct);

    /// <summary>Deletes the leads with these ids that exist, in one transaction; returns them as they were.</summary>
    Task<IReadOnlyList<LeadRecord>> DeleteAsync(int subscriptionId, IReadOnlyList<long> ids, CancellationToken ct);

    Task<long> CountAsync(int subscriptionId, CancellationToken ct);

    /// <summary>
    /// Whether the subscription keeps a lead database: true once a lead was ever created in it (deleting every lead
    /// does not turn it off again).
    /// </summary>
    Task<bool> HasLeadDatabaseAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Deletes every lead of the subscription and its id sequence (admin reset).</summary>
    Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct);
}

/// <summary>
/// One stored lead. <see cref="Fields"/> maps a standard or custom field's REST name to its value (string, long, double, bool,
/// DateOnly or DateTimeOffset by the field's <see cref="LeadColumn.Kind"/>); a null value is not in the map.
/// <see cref="FieldsUpdatedAt"/> is the time of the most recent change of a field value, which the visible
/// <see cref="UpdatedAt"/> need not equal.
/// </summary>
public sealed record LeadRecord(long Id, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset FieldsUpdatedAt,
    IReadOnlyDictionary<string, object> Fields)
{
    public object? Get(string restName) => Fields.GetValueOrDefault(restName);
}

public enum LeadSyncAction
{
    CreateOrUpdate = 0,
    CreateOnly = 1,
    UpdateOnly = 2,
}

/// <summary>
/// A validated Sync Leads batch. Each record maps REST names to typed values (null clears a field); the lookup field's
/// value is in the record when it was given. <see cref="LookupField"/> is <c>id</c> or a searchable column.
/// </summary>
public sealed record LeadSyncRequest(LeadSyncAction Action, string LookupField, IReadOnlyList<IReadOnlyDictionary<string, object?>> Records);

public enum LeadSyncStatus
{
    Created = 0,
    Updated = 1,
    Skipped = 2,
}

/// <summary>A field whose value a sync changed.</summary>
public sealed record LeadValueChange(LeadColumn Column, object? OldValue, object? NewValue);

/// <summary>What happened to one record of a sync: created or updated (with the lead as stored after it), or skipped with a reason.</summary>
public sealed record LeadSyncOutcome(LeadSyncStatus Status, LeadRecord? Lead, IReadOnlyList<LeadValueChange> Changes, string? ReasonCode,
    string? ReasonMessage)
{
    public static LeadSyncOutcome Skip(string code, string message) => new(LeadSyncStatus.Skipped, null, [], code, message);
}

/// <summary>How a standard field is stored: typed columns, so a scan ordered by id reads them without parsing.</summary>
public enum LeadValueKind
{
    Text = 0,
    Integer = 1,
    Float = 2,
    Boolean = 3,
    Date = 4,
    DateTime = 5,
}

/// <summary>
/// A lead field and the column that holds it. A custom field (<see cref="IsCustom"/>) has no column of its own: its value
/// is the member of the lead row's <c>custom</c> JSON object named <see cref="RestName"/>.
/// </summary>
public sealed record LeadColumn(LeadField Field, string RestName, string ColumnName, LeadValueKind Kind)
{
    public bool IsCustom { get; init; }
}

/// <summary>
/// The lead table's standard columns, one per writable or read-only field of the describe catalogue (createdAt and
/// updatedAt are the row's own time columns). The migrations create exactly these; a test holds them in step.
/// </summary>
public static class LeadColumns
{
    public static IReadOnlyList<LeadColumn> All { get; } =
        [.. LeadFields.All.Where(f => f.Rest is { Name: not ("createdAt" or "updatedAt") }).Select(f => new LeadColumn(f, f.Rest!.Name, Snake(f.Rest.Name), KindOf(f.DataType)))];

    private static readonly FrozenDictionary<string, LeadColumn> ByRestName = All.ToFrozenDictionary(c => c.RestName, StringComparer.Ordinal);

    /// <summary>A standard field's column, or null (also for <c>id</c>, which is the key, not a field column).</summary>
    public static LeadColumn? Find(string restName) => ByRestName.GetValueOrDefault(restName);

    /// <summary>The lead id as a searchable key.</summary>
    public static LeadColumn Id { get; } = new(new LeadField(0, "Id", "integer", null, new("id", true), null), "id", "id", LeadValueKind.Integer);

    public static LeadValueKind KindOf(string dataType) => dataType switch
    {
        "integer" => LeadValueKind.Integer,
        "float" or "currency" => LeadValueKind.Float,
        "boolean" => LeadValueKind.Boolean,
        "date" => LeadValueKind.Date,
        "datetime" => LeadValueKind.DateTime,
        _ => LeadValueKind.Text,
    };

    private static string Snake(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                // A run of capitals is one word: anonymousIP is anonymous_ip.
                text.Append(i > 0 && char.IsUpper(name[i - 1]) ? "" : "_").Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
