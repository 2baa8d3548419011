using System.Collections.Concurrent;
using System.Collections.Frozen;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities;

/// <summary>
/// The activity types a subscription knows: the standard catalogue plus its approved custom types. The custom types
/// are cached per subscription for a few seconds (and dropped at once when this process changes them), so the bulk
/// create and types.json do not read the store on every call.
/// </summary>
public sealed class ActivityTypeRegistry(IActivityTypeStore store, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<int, (ActivityTypeSet Set, DateTimeOffset Until)> _cache = new();

    /// <summary>The standard and approved custom types of the subscription.</summary>
    public async ValueTask<ActivityTypeSet> GetAsync(int subscriptionId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(subscriptionId, out var cached) && cached.Until > now)
        {
            return cached.Set;
        }

        var custom = await store.ListAsync(subscriptionId, ct);
        var set = new ActivityTypeSet(custom.Where(t => t.Approved is not null).ToList());
        _cache[subscriptionId] = (set, now + CacheFor);
        return set;
    }

    /// <summary>Drops the cached types of a subscription after a change.</summary>
    public void Invalidate(int subscriptionId) => _cache.TryRemove(subscriptionId, out _);
}

/// <summary>A snapshot of the types of one subscription.</summary>
public sealed class ActivityTypeSet
{
    private static readonly FrozenSet<int> Standard = StandardActivityTypes.All.Select(t => t.Id).ToFrozenSet();
    private readonly Dictionary<int, CustomActivityTypeRecord> _custom;

    internal ActivityTypeSet(IReadOnlyList<CustomActivityTypeRecord> approvedCustom)
    {
        _custom = approvedCustom.ToDictionary(t => t.Id);
        All = [.. StandardActivityTypes.All, .. approvedCustom.OrderBy(t => t.Id).Select(ToWire)];
    }

    /// <summary>Every type as types.json lists it: standard types by id, then custom types by id.</summary>
    public IReadOnlyList<ActivityType> All { get; }

    public bool IsKnown(int activityTypeId) => Standard.Contains(activityTypeId) || _custom.ContainsKey(activityTypeId);

    /// <summary>The approved custom type with this id, or null.</summary>
    public CustomActivityTypeRecord? Custom(int activityTypeId) => _custom.GetValueOrDefault(activityTypeId);

    private static ActivityType ToWire(CustomActivityTypeRecord type)
    {
        var v = type.Approved!;
        return new ActivityType
        {
            Id = type.Id,
            ApiName = type.ApiName,
            Name = v.Name,
            Description = v.Description,
            PrimaryAttribute = Attribute(v.PrimaryAttribute),
            Attributes = [.. v.Attributes.Select(Attribute)],
        };
    }

    private static ActivityTypeAttribute Attribute(CustomAttributeDefinition a) => new() { ApiName = a.ApiName, Name = a.Name, DataType = a.DataType };
}
