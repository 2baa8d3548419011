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
        var app = SpillwayApp.Build([.. ConfigurationArgs(result, demo: false)]);
        await SpillwayApp.InitializeAsync(app, ct);
        return app;
    }

    public static T Get<T>(this WebApplication app) where T : notnull => app.Services.GetRequiredService<T>();
}
