using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;

namespace Spillway.Server.Activities;

/// <summary>
/// The activity types a subscription knows: the standard catalogue (custom activity types join it in a later step).
/// </summary>
public sealed class ActivityTypeRegistry
{
    private readonly HashSet<int> _standard = [.. StandardActivityTypes.All.Select(t => t.Id)];

    public IReadOnlyList<ActivityType> TypesOf(int subscriptionId) => StandardActivityTypes.All;

    public bool IsKnown(int subscriptionId, int activityTypeId) => _standard.Contains(activityTypeId);
}
