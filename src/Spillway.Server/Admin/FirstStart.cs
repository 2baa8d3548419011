using System.Diagnostics;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Leads.Import;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

/// <summary>
/// On first start, creates the demo subscription, a development API user with the well-known credentials and a demo
/// world (leads first, then activities that name them), then prints how to connect. Like Azurite's development account the credentials are public: they are
/// for local development only, and <c>Spillway:Demo:Enabled=false</c> turns all of this off.
/// </summary>
public sealed class FirstStart(IIdentityStore identity, SubscriptionAdmin admin, SeedFolder seedFolder, IOptions<SpillwayOptions> options,
    ILogger<FirstStart> logger)
{
    public async Task RunAsync(CancellationToken ct)
    {
        var demo = options.Value.Demo;
        if (!demo.Enabled)
        {
            if (!string.IsNullOrEmpty(demo.SeedFrom))
            {
                logger.LogWarning("The seed folder {Folder} is ignored: it loads into the demo subscription, and the demo is turned off", demo.SeedFrom);
            }

            return;
        }

        var seedFiles = await SeedFilesAsync(demo.SeedFrom, ct);
        var subscription = await identity.FindSubscriptionAsync(demo.MunchkinId, ct);
        if (subscription is null)
        {
            var created = await admin.CreateSubscriptionAsync(demo.MunchkinId, "Spillway demo", ct);
            if (created.Value is null)
            {
                // Another node of a cluster, starting at the same moment, created it first: it also seeds it.
                logger.LogInformation("The demo subscription was created by another node: {Reason}", created.Error);
                return;
            }

            subscription = created.Value;
            var user = await admin.AddApiUserAsync(demo.MunchkinId, demo.Email,
                [Permissions.ReadWriteActivity, Permissions.ReadWriteActivityMetadata, Permissions.ReadWriteLead,
                    Permissions.ReadOnlyAssets, Permissions.ReadOnlyCampaign], demo.ClientId, demo.ClientSecret, ct);
            if (user.Error is not null)
            {
                throw new InvalidOperationException(user.Error);
            }

            if (seedFiles is not null)
            {
                var watch = Stopwatch.StartNew();
                var loaded = await seedFolder.LoadAsync(subscription.Id, seedFiles, ct);
                logger.LogInformation("Loaded {Leads} leads from {LeadFiles} files and {Activities} activities from {ActivityFiles} files of {Folder} in {Seconds:F1} s",
                    loaded.Leads, loaded.LeadFiles, loaded.Activities, loaded.ActivityFiles, demo.SeedFrom, watch.Elapsed.TotalSeconds);
            }
            else if (demo.Activities > 0)
            {
                var watch = Stopwatch.StartNew();
                var added = await admin.SeedAsync(subscription, demo.Activities, leadCount: null, demo.DaysBack, demo.Seed, progress: null, ct);
                logger.LogInformation("Seeded {Leads} demo leads and {Count} activities over {Days} days in {Seconds:F1} s", added.Leads, added.Activities,
                    demo.DaysBack, watch.Elapsed.TotalSeconds);
            }
        }

        var credential = await identity.FindCredentialAsync(demo.ClientId, ct);
        if (credential is not null && SecretHasher.Verify(demo.ClientSecret, credential.SecretHash))
        {
            logger.LogWarning(
                "Development credentials (public, for local use only): munchkin {MunchkinId}, client_id {ClientId}, client_secret {ClientSecret}",
                demo.MunchkinId, demo.ClientId, demo.ClientSecret);
        }
    }

    /// <summary>
    /// The checked files of the seed folder when one is set and the store is empty (no subscription at all); null
    /// otherwise. A bad file stops the start before anything is created, so the next start finds the store still empty.
    /// </summary>
    private async Task<IReadOnlyList<SeedFile>?> SeedFilesAsync(string? folder, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(folder))
        {
            return null;
        }

        if ((await identity.ListSubscriptionsAsync(ct)).Count > 0)
        {
            logger.LogInformation("The store is not empty: the seed folder {Folder} is ignored", folder);
            return null;
        }

        var files = SeedFolder.Find(folder);
        SeedFolder.Check(files);
        return files;
    }
}
