using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;

namespace Spillway.Server.Console;

/// <summary>A job as the console lists it: the stored record and the email of the API user that owns it.</summary>
internal sealed record ConsoleJob(ExportJobRecord Job, string ApiUser);

/// <summary>The reads the console's pages share. All of them come from the shared store, so every node shows the same.</summary>
internal static class ConsoleData
{
    /// <summary>Jobs read per API user and kind at most; far above what a subscription's job retention leaves.</summary>
    private const int MaxJobsPerUserAndKind = 20_000;

    /// <summary>The subscription, without asking the store about ids that cannot be one (NUL bytes upset PostgreSQL).</summary>
    public static Task<Subscription?> FindAsync(IIdentityStore identity, string munchkinId, CancellationToken ct) =>
        munchkinId.Length is 0 or > 64 || munchkinId.Any(char.IsControl)
            ? Task.FromResult<Subscription?>(null)
            : identity.FindSubscriptionAsync(munchkinId, ct);

    /// <summary>
    /// Every job of the subscription, of every kind and API user, newest first: the same records the job list of each
    /// user and kind pages through, so the console never shows a job the API would not.
    /// </summary>
    public static async Task<List<ConsoleJob>> JobsAsync(Subscription subscription, IIdentityStore identity, IExportJobStore jobs, ExtractKinds kinds,
        CancellationToken ct)
    {
        var all = new List<ConsoleJob>();
        foreach (var user in await identity.ListApiUsersAsync(subscription.Id, ct))
        {
            foreach (var kind in kinds.All)
            {
                JobListCursor? after = null;
                var read = 0;
                do
                {
                    var page = await jobs.ListAsync(user.Id, kind.Name, SpillwayClock.Earliest, null, 300, after, ct);
                    all.AddRange(page.Jobs.Select(j => new ConsoleJob(j, user.Email)));
                    read += page.Jobs.Count;
                    after = page.Next;
                }
                while (after is not null && read < MaxJobsPerUserAndKind);
            }
        }

        all.Sort((a, b) => b.Job.CreatedAt.CompareTo(a.Job.CreatedAt) is var byTime and not 0 ? byTime : b.Job.ExportId.CompareTo(a.Job.ExportId));
        return all;
    }
}
