using System.CommandLine;
using Spillway.Server;

namespace Spillway.Cli.Commands;

/// <summary><c>spillway serve</c>: runs the server (on the embedded store unless told otherwise).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen.", DefaultValueFactory = _ => "http://127.0.0.1:5171" };
        var noDemo = new Option<bool>("--no-demo") { Description = "Do not create the demo subscription, user and activities." };
        var inMemory = new Option<bool>("--in-memory") { Description = "Keep the store in memory (a tmpfs under /dev/shm): nothing on disk, gone when the server stops. For CI." };
        var seedFrom = new Option<DirectoryInfo?>("--seed-from")
        {
            Description = "On the first start of an empty store, load the lead files (*.leads.csv, *.leads.ndjson, ...) and activity files (*.csv, *.ndjson, ...) of this folder into the demo subscription instead of generated activities.",
        };
        var command = new Command("serve", "Run the Spillway server. Extra --Section:Key=value arguments go to the server's configuration.")
        {
            urls, noDemo, inMemory, seedFrom, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, ct) =>
        {
            // The first start without --data creates ./spillway-data (the quick start); a folder named with --data must exist or come with --create.
            // An in-memory server makes its own folder on a tmpfs and touches none on disk.
            if (!result.GetValue(inMemory))
            {
                CommonOptions.RequireDataFolder(result, createDefault: true);
            }

            if (result.GetValue(seedFrom) is { } seed)
            {
                // The files load into the demo subscription, which --no-demo turns off; a typo in the folder is caught before the store is touched.
                if (result.GetValue(noDemo))
                {
                    throw new CliException(ExitCodes.Usage, "--seed-from loads into the demo subscription, which --no-demo turns off: give one of them.");
                }

                if (!seed.Exists)
                {
                    throw new CliException(ExitCodes.Usage, $"The seed folder {seed.FullName} does not exist.");
                }
            }

            var args = CommonOptions.ConfigurationArgs(result, demo: !result.GetValue(noDemo));
            if (result.GetValue(seedFrom) is { } folder)
            {
                args.Add($"--Spillway:Demo:SeedFrom={folder.FullName}");
            }

            args.Remove("--Logging:LogLevel:Default=Warning");
            args.Insert(0, $"--urls={result.GetValue(urls)}");
            if (result.GetValue(inMemory))
            {
                args.Add("--Spillway:InMemory=true");
            }

            return await SpillwayHost.RunAsync([.. args], Console.Error, ct);
        });
        return command;
    }
}
