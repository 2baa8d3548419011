using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary><c>spillway seed</c>: a deterministic, realistic demo world for a subscription: leads first, then activities that name them.</summary>
internal static class SeedCommand
{
    public static Command Create()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription (created if missing)." };
        var activities = new Option<long>("--activities", "-n") { Description = "How many activities.", DefaultValueFactory = _ => 200_000 };
        var leads = new Option<long?>("--leads")
        {
            Description = "How many leads (default one per 8 activities, at least 100); millions work.",
        };
        var days = new Option<int>("--days") { Description = "Days back from now that they cover.", DefaultValueFactory = _ => 45 };
        var seed = new Option<int>("--seed") { Description = "The random seed (same seed, same activities).", DefaultValueFactory = _ => 1 };
        var command = new Command("seed", "Generate realistic demo leads and activities (stop the server on the same data folder first).")
        {
            munchkin, activities, leads, days, seed, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
        };
        command.SetAction(async (result, ct) =>
        {
            var leadCount = result.GetValue(leads);
            if (result.GetValue(activities) is < 0 or > 100_000_000 || leadCount is < 0 or > DemoWorld.MaxLeads
                || (result.GetValue(activities) > 0 && leadCount == 0))
            {
                throw new CliException(ExitCodes.Usage, "Seed 0 to 100,000,000 activities and 0 to 20,000,000 leads; activities need at least one lead.");
            }

            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var admin = app.Get<SubscriptionAdmin>();
            var id = result.GetValue(munchkin)!;
            var subscription = await app.Get<IIdentityStore>().FindSubscriptionAsync(id, ct);
            if (subscription is null)
            {
                var created = await admin.CreateSubscriptionAsync(id, null, ct);
                if (created.Error is not null)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]{created.Error}[/]");
                    return 1;
                }

                subscription = created.Value!;
            }

            var count = result.GetValue(activities);
            var watch = Stopwatch.StartNew();
            SeedResult added = new(0, 0);
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"Seeding {subscription.MunchkinId}", maxValue: Math.Max(1, count));
                added = await admin.SeedAsync(subscription, count, leadCount, result.GetValue(days), result.GetValue(seed),
                    new Progress<long>(n => task.Value = n), ct);
                task.Value = task.MaxValue;
            });
            AnsiConsole.MarkupLineInterpolated(
                $"Added {added.Leads:N0} leads and {added.Activities:N0} activities in {watch.Elapsed.TotalSeconds:F1} s.");
            return 0;
        });
        return command;
    }
}
