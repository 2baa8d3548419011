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
        var command = new Command("serve", "Run the Spillway server. Extra --Section:Key=value arguments go to the server's configuration.")
        {
            urls, noDemo, inMemory, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
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

            var args = CommonOptions.ConfigurationArgs(result, demo: !result.GetValue(noDemo));
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
