namespace Spillway.Server.Storage;

/// <summary>
/// Reads activities page by page for the REST activity endpoints (Get Lead Activities, Get Lead Changes, Get Deleted
/// Leads). Pages are ordered by marketoGUID, which only grows for new activities, so a position "after marketoGUID g"
/// never skips or repeats an activity, also while activities are being added.
/// </summary>
public interface IActivityPageReader
{
    /// <summary>
    /// At most <see cref="ActivityPageQuery.Limit"/> activities of the subscription with marketoGUID greater than
    /// <see cref="ActivityPageQuery.AfterMarketoGuid"/> and activityDate at or after <see cref="ActivityPageQuery.Since"/>,
    /// matching every given filter, ordered by marketoGUID.
    /// </summary>
    Task<IReadOnlyList<ActivityRecord>> ReadPageAsync(ActivityPageQuery query, CancellationToken ct);

    /// <summary>
    /// The members of a static list as the activity history tells it: leads whose latest Add to List (24) or Remove from
    /// List (25) activity for <paramref name="listId"/> (its primaryAttributeValueId) is an add, ordered by lead id,
    /// at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<long>> ListMembersAsync(int subscriptionId, long listId, int limit, CancellationToken ct);
}

/// <summary>A page request. A null filter does not filter; an empty list matches nothing.</summary>
public sealed record ActivityPageQuery(
    int SubscriptionId,
    DateTimeOffset Since,
    long AfterMarketoGuid,
    IReadOnlyList<int>? ActivityTypeIds,
    IReadOnlyList<long>? PrimaryAttributeValueIds,
    IReadOnlyList<long>? LeadIds,
    int Limit);

/// <summary>Adds new activities (Add Custom Activities), giving them their marketoGUIDs.</summary>
public interface IActivityWriter
{
    /// <summary>
    /// Appends <paramref name="activities"/> to the subscription with consecutive new marketoGUIDs, in input order,
    /// above every marketoGUID stored for any subscription (the <see cref="ActivityRecord.MarketoGuid"/> of the input is
    /// ignored). The GUIDs are assigned and the rows committed under one lock, in one statement, so a reader that has
    /// seen GUID g has seen every committed GUID below g. Batches that arrive while another commits share the next
    /// commit (each keeps its own consecutive GUIDs; see <see cref="GroupCommit"/>). Returns the first GUID assigned.
    /// </summary>
    Task<long> AppendNewAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct);
}
