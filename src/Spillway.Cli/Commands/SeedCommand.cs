using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary><c>spillway seed</c>: deterministic, realistic demo activities for a subscription.</summary>
internal static class SeedCommand
{
    public static Command Create()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription (created if missing)." };
        var activities = new Option<long>("--activities", "-n") { Description = "How many activities.", DefaultValueFactory = _ => 200_000 };
        var days = new Option<int>("--days") { Description = "Days back from now that they cover.", DefaultValueFactory = _ => 45 };
        var seed = new Option<int>("--seed") { Description = "The random seed (same seed, same activities).", DefaultValueFactory = _ => 1 };
        var command = new Command("seed", "Generate realistic demo activities (stop the server on the same data folder first).")
        {
            munchkin, activities, days, seed, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
        };
        command.SetAction(async (result, ct) =>
        {
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
            long added = 0;
            await AnsiConsole.Progress().StartAsync(async progress =>
            {
                var task = progress.AddTask($"Seeding {subscription.MunchkinId}", maxValue: Math.Max(1, count));
                added = await admin.SeedAsync(subscription, count, result.GetValue(days), result.GetValue(seed),
                    new Progress<long>(n => task.Value = n), ct);
                task.Value = task.MaxValue;
            });
            AnsiConsole.MarkupLineInterpolated(
                $"Added {added:N0} activities in {watch.Elapsed.TotalSeconds:F1} s ({added / Math.Max(0.001, watch.Elapsed.TotalSeconds):N0}/s).");
            return 0;
        });
        return command;
    }
}
