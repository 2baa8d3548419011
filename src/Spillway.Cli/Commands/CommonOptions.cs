using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server;

namespace Spillway.Cli.Commands;

/// <summary>Options every command that opens a store shares, and the way it opens one.</summary>
internal static class CommonOptions
{
    public static readonly Option<string?> Data = new("--data")
    {
        Description = "The data folder (default: ./spillway-data, or Spillway:DataPath from configuration).",
    };

    public static readonly Option<bool> Create = new("--create")
    {
        Description = "Create the data folder (a new, empty store) when it does not exist; without it a missing folder is refused, so a typo never starts an empty store.",
    };

    public static readonly Option<string?> Postgres = new("--postgres")
    {
        Description = "A PostgreSQL connection string; use that store instead of the embedded one.",
    };

    /// <summary>ASP.NET configuration arguments for a store: the data folder or PostgreSQL, plus anything unmatched.</summary>
    public static List<string> ConfigurationArgs(ParseResult result, bool demo)
    {
        var args = new List<string>();
        if (result.GetValue(Data) is { } data)
        {
            args.Add($"--Spillway:DataPath={data}");
        }

        if (result.GetValue(Postgres) is { } cs)
        {
            args.Add("--Spillway:Provider=Postgres");
            args.Add($"--Spillway:ConnectionString={cs}");
        }

        if (!demo)
        {
            args.Add("--Spillway:Demo:Enabled=false");
        }

        args.Add("--Logging:LogLevel:Default=Warning");
        args.AddRange(result.UnmatchedTokens);
        return args;
    }

    /// <summary>Opens the store the server would use, without serving, for one command.</summary>
    public static async Task<WebApplication> OpenStoreAsync(ParseResult result, CancellationToken ct)
    {
        RequireDataFolder(result, createDefault: false);
        var app = SpillwayApp.Build([.. ConfigurationArgs(result, demo: false)]);
        await SpillwayApp.InitializeAsync(app, ct);
        return app;
    }

    /// <summary>
    /// Refuses a data folder that does not exist unless --create is given; <paramref name="createDefault"/> lets
    /// <c>serve</c> create its default folder on a first start (no --data), as the quick start needs.
    /// </summary>
    public static void RequireDataFolder(ParseResult result, bool createDefault)
    {
        if (result.GetValue(Postgres) is not null || result.GetValue(Create))
        {
            return;
        }

        var given = result.GetValue(Data);
        if (given is null && createDefault)
        {
            return;
        }

        var folder = given ?? DefaultDataFolder;
        if (!Directory.Exists(folder))
        {
            throw new CliException(ExitCodes.Usage,
                $"The data folder {Path.GetFullPath(folder)} does not exist. Check the path, or pass --create to start a new, empty store there.");
        }
    }

    /// <summary>The folder the server uses when neither --data nor configuration names one.</summary>
    public const string DefaultDataFolder = "spillway-data";

    public static T Get<T>(this WebApplication app) where T : notnull => app.Services.GetRequiredService<T>();
}
