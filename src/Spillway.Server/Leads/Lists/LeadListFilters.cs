using Spillway.Server.Leads.Export;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Lists;

/// <summary>The lead extract's list filters: which list a filter names, and a smart list's rule when its job runs.</summary>
internal static class LeadListFilters
{
    /// <summary>
    /// The id of the static or smart list the spec names by id or by name, or null when there is none. Names match
    /// exactly (ordinal); when two lists share a name the lowest id wins.
    /// </summary>
    public static async Task<long?> FindListIdAsync(IListStore lists, int subscriptionId, LeadExtractSpec spec, CancellationToken ct)
    {
        if (spec.Filter == LeadExtractFilterKind.StaticList)
        {
            if (spec.ListId is { } id)
            {
                return (await lists.FindListAsync(subscriptionId, id, ct))?.Id;
            }

            return (await lists.GetListsAsync(subscriptionId, ct)).FirstOrDefault(l => string.Equals(l.Name, spec.ListName, StringComparison.Ordinal))?.Id;
        }

        var smart = await lists.GetSmartListsAsync(subscriptionId, ct);
        return smart.FirstOrDefault(l => spec.ListId is { } id ? l.Id == id : string.Equals(l.Name, spec.ListName, StringComparison.Ordinal))?.Id;
    }

    /// <summary>The rule of the smart list, read when the job starts; a list removed since the job was created fails the job.</summary>
    public static async Task<SmartListRule> RuleAsync(IListStore lists, int subscriptionId, long smartListId, CancellationToken ct) =>
        (await lists.GetSmartListsAsync(subscriptionId, ct)).FirstOrDefault(l => l.Id == smartListId)?.Rule
        ?? throw new InvalidOperationException($"Smart list {smartListId} no longer exists.");
}
