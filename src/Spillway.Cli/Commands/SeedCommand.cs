using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using System.Text.Json.Nodes;

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
        var command = AdminCommands.WithTarget(new Command("seed", "Generate realistic demo activities (in a data folder with the server stopped, or with --url through a running server).")
        {
            munchkin, activities, days, seed,
        });
        command.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var id = result.GetValue(munchkin)!;
            var count = result.GetValue(activities);
            var watch = Stopwatch.StartNew();
            (long Added, long Total) seeded = default;
            if (backend.IsLocal)
            {
                // The bar goes to stderr so that stdout carries only the summary (or the --json document).
                await JsonOutput.Error().Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Seeding {id}", maxValue: Math.Max(1, count));
                    seeded = await backend.SeedAsync(id, count, result.GetValue(days), result.GetValue(seed), new Progress<long>(n => task.Value = n), ct);
                    task.Value = task.MaxValue;
                });
            }
            else
            {
                seeded = await backend.SeedAsync(id, count, result.GetValue(days), result.GetValue(seed), null, ct);
            }

            var summary = new SeedSummary(id, seeded.Added, seeded.Total, watch.Elapsed.TotalSeconds);
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonObject
                {
                    ["munchkinId"] = summary.MunchkinId,
                    ["added"] = summary.Added,
                    ["total"] = summary.Total,
                    ["seconds"] = Math.Round(summary.Seconds, 3),
                });
            }
            else
            {
                JsonOutput.Out().MarkupLineInterpolated(
                    $"Added {summary.Added:N0} activities in {summary.Seconds:F1} s ({summary.Added / Math.Max(0.001, summary.Seconds):N0}/s); {summary.Total:N0} in all.");
            }

            return 0;
        });
        return command;
    }
}
