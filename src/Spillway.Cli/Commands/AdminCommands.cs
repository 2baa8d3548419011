using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spillway.Server.Admin;
using Spillway.Server.Identity;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway subscription ...</c> and <c>spillway user ...</c>: on a data folder (stop the server on it first), or
/// with <c>--url</c> through a running server's admin API; the output is the same either way.
/// </summary>
internal static class AdminCommands
{
    public static Command Subscription()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "Like 123-ABC-456." };
        var name = new Option<string?>("--name") { Description = "A display name." };
        var create = WithTarget(new Command("create", "Create a subscription.") { munchkin, name });
        create.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var created = await backend.CreateSubscriptionAsync(result.GetValue(munchkin)!, result.GetValue(name), ct);
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonObject { ["munchkinId"] = created.MunchkinId, ["name"] = created.Name });
            }
            else
            {
                JsonOutput.Out().MarkupLineInterpolated($"Created subscription [bold]{created.MunchkinId}[/].");
            }

            return 0;
        });

        var list = WithTarget(new Command("list", "List subscriptions."));
        list.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var rows = await backend.ListSubscriptionsAsync(ct);
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonArray([.. rows.Select(s => new JsonObject
                {
                    ["munchkinId"] = s.MunchkinId,
                    ["name"] = s.Name,
                    ["apiUsers"] = s.ApiUsers,
                    ["activities"] = s.Activities,
                })]));
                return 0;
            }

            var table = new Table().AddColumns("Munchkin id", "Name", "API users", "Activities");
            foreach (var s in rows)
            {
                table.AddRow(Markup.Escape(s.MunchkinId), Markup.Escape(s.Name), s.ApiUsers.ToString(CultureInfo.InvariantCulture),
                    s.Activities.ToString("N0", CultureInfo.InvariantCulture));
            }

            JsonOutput.Out().Write(table);
            return 0;
        });

        return new Command("subscription", "Manage subscriptions (a data folder, or a running server with --url).") { create, list };
    }

    public static Command User()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription." };
        var email = new Argument<string>("email") { Description = "The API user's email (the token scope)." };
        var permission = new Option<string[]>("--permission", "-p")
        {
            Description = $"A role permission (repeatable). Known: {string.Join(", ", Permissions.Known)}.",
            DefaultValueFactory = _ => [Permissions.ReadOnlyActivity],
            AllowMultipleArgumentsPerToken = false,
        };
        var add = WithTarget(new Command("add", "Add an API user with a client id and secret (the secret is shown once).") { munchkin, email, permission });
        add.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var (user, credential) = await backend.AddApiUserAsync(result.GetValue(munchkin)!, result.GetValue(email)!, result.GetValue(permission) ?? [], ct);
            if (result.GetValue(JsonOutput.Json))
            {
                var json = UserJson(user);
                json["clientId"] = credential.ClientId;
                json["clientSecret"] = credential.ClientSecret;
                JsonOutput.Write(json);
            }
            else
            {
                PrintCredential(credential);
            }

            return 0;
        });

        var list = WithTarget(new Command("list", "List the API users of a subscription.") { munchkin });
        list.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var rows = await backend.ListApiUsersAsync(result.GetValue(munchkin)!, ct);
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonArray([.. rows.Select(UserJson)]));
                return 0;
            }

            var table = new Table().AddColumns("Email", "Permissions", "Client ids");
            foreach (var user in rows)
            {
                table.AddRow(Markup.Escape(user.Email), Markup.Escape(string.Join(", ", user.Permissions)), Markup.Escape(string.Join(", ", user.ClientIds)));
            }

            JsonOutput.Out().Write(table);
            return 0;
        });

        var clientId = new Argument<string>("client-id") { Description = "The client id whose secret to replace." };
        var rotate = WithTarget(new Command("rotate-secret", "Replace a client secret; its tokens stop working.") { clientId });
        rotate.SetAction(async (result, ct) =>
        {
            await using var backend = await AdminTarget.OpenAsync(result, ct);
            var rotated = await backend.RotateSecretAsync(result.GetValue(clientId)!, ct);
            if (result.GetValue(JsonOutput.Json))
            {
                JsonOutput.Write(new JsonObject { ["clientId"] = rotated.ClientId, ["clientSecret"] = rotated.ClientSecret });
            }
            else
            {
                PrintCredential(rotated);
            }

            return 0;
        });

        return new Command("user", "Manage API users and their credentials (a data folder, or a running server with --url).") { add, list, rotate };
    }

    /// <summary>Adds the options that choose the store or server and --json.</summary>
    internal static Command WithTarget(Command command)
    {
        foreach (var option in AdminTarget.All)
        {
            command.Options.Add(option);
        }

        return command;
    }

    private static JsonObject UserJson(ApiUserRow user) => new()
    {
        ["email"] = user.Email,
        ["permissions"] = JsonOutput.Array(user.Permissions),
        ["clientIds"] = JsonOutput.Array(user.ClientIds),
    };

    private static void PrintCredential(IssuedCredential credential)
    {
        var console = JsonOutput.Out();
        console.MarkupLineInterpolated($"client_id     [bold]{credential.ClientId}[/]");
        console.MarkupLineInterpolated($"client_secret [bold]{credential.ClientSecret}[/]  (shown once; stored hashed)");
    }
}
