using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spillway.Server.Activities.Seeding;

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
        var seed = new Option<int>("--seed") { Description = "The random seed (same seed, same leads and activities).", DefaultValueFactory = _ => 1 };
        var command = AdminCommands.WithTarget(new Command("seed",
            "Generate realistic demo leads and activities (in a data folder with the server stopped, or with --url through a running server).")
        {
            munchkin, activities, leads, days, seed,
        });
        command.SetAction(async (result, ct) =>
        {
            var count = result.GetValue(activities);
            var leadCount = result.GetValue(leads);
            if (count is < 0 or > 100_000_000 || leadCount is < 0 or > DemoWorld.MaxLeads || (count > 0 && leadCount == 0))
            {
                throw new CliException(ExitCodes.Usage, "Seed 0 to 100,000,000 activities and 0 to 20,000,000 leads; activities need at least one lead.");
            }

            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var id = result.GetValue(munchkin)!;
            var watch = Stopwatch.StartNew();
            SeedSummary? seeded = null;
            if (backend.IsLocal)
            {
                // The bar goes to stderr so that stdout carries only the summary (or the --json document).
                await JsonOutput.Error().Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Seeding {id}", maxValue: Math.Max(1, count));
                    seeded = await backend.SeedAsync(id, count, leadCount, result.GetValue(days), result.GetValue(seed), new Progress<long>(n => task.Value = n), ct);
                    task.Value = task.MaxValue;
                });
            }
            else
            {
                seeded = await backend.SeedAsync(id, count, leadCount, result.GetValue(days), result.GetValue(seed), null, ct);
            }

            var summary = seeded! with { Seconds = watch.Elapsed.TotalSeconds };
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonObject
                {
                    ["munchkinId"] = summary.MunchkinId,
                    ["leads"] = summary.Leads,
                    ["added"] = summary.Added,
                    ["total"] = summary.Total,
                    ["seconds"] = Math.Round(summary.Seconds, 3),
                });
            }
            else
            {
                JsonOutput.Out().MarkupLineInterpolated(
                    $"Added {summary.Leads:N0} leads and {summary.Added:N0} activities in {summary.Seconds:F1} s; {summary.Total:N0} activities in all.");
            }

            return 0;
        });
        return command;
    }
}
