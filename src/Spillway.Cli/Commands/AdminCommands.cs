using System.CommandLine;
using Spectre.Console;
using Spillway.Server.Admin;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway subscription ...</c> and <c>spillway user ...</c>: manage the store directly (stop the server first when
/// it runs on the same data folder; the admin HTTP API does the same while it runs).
/// </summary>
internal static class AdminCommands
{
    public static Command Subscription()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "Like 123-ABC-456." };
        var name = new Option<string?>("--name") { Description = "A display name." };
        var create = new Command("create", "Create a subscription.") { munchkin, name, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        create.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var created = await app.Get<SubscriptionAdmin>().CreateSubscriptionAsync(result.GetValue(munchkin)!, result.GetValue(name), ct);
            return Report(created.Error, () => AnsiConsole.MarkupLineInterpolated($"Created subscription [bold]{created.Value!.MunchkinId}[/]."));
        });

        var list = new Command("list", "List subscriptions.") { CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        list.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var table = new Table().AddColumns("Munchkin id", "Name", "API users", "Activities");
            foreach (var s in await app.Get<IIdentityStore>().ListSubscriptionsAsync(ct))
            {
                var users = await app.Get<IIdentityStore>().ListApiUsersAsync(s.Id, ct);
                var count = await app.Get<IActivityStore>().CountAsync(s.Id, ct);
                table.AddRow(Markup.Escape(s.MunchkinId), Markup.Escape(s.Name), users.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return 0;
        });

        return new Command("subscription", "Manage subscriptions.") { create, list };
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
        var add = new Command("add", "Add an API user with a client id and secret (the secret is shown once).")
        {
            munchkin, email, permission, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres,
        };
        add.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var added = await app.Get<SubscriptionAdmin>().AddApiUserAsync(result.GetValue(munchkin)!, result.GetValue(email)!,
                result.GetValue(permission) ?? [], null, null, ct);
            return Report(added.Error, () => PrintCredential(added.Value.Credential));
        });

        var list = new Command("list", "List the API users of a subscription.") { munchkin, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        list.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var identity = app.Get<IIdentityStore>();
            var subscription = await identity.FindSubscriptionAsync(result.GetValue(munchkin)!, ct);
            if (subscription is null)
            {
                return Report($"No subscription {result.GetValue(munchkin)}.", () => { });
            }

            var table = new Table().AddColumns("Email", "Permissions", "Client ids");
            foreach (var user in await identity.ListApiUsersAsync(subscription.Id, ct))
            {
                var credentials = await identity.ListCredentialsAsync(user.Id, ct);
                table.AddRow(Markup.Escape(user.Email), Markup.Escape(string.Join(", ", user.Permissions)),
                    Markup.Escape(string.Join(", ", credentials.Select(c => c.ClientId))));
            }

            AnsiConsole.Write(table);
            return 0;
        });

        var clientId = new Argument<string>("client-id") { Description = "The client id whose secret to replace." };
        var rotate = new Command("rotate-secret", "Replace a client secret; its tokens stop working.") { clientId, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        rotate.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var rotated = await app.Get<SubscriptionAdmin>().RotateSecretAsync(result.GetValue(clientId)!, ct);
            return Report(rotated.Error, () => PrintCredential(rotated.Value!));
        });

        return new Command("user", "Manage API users and their credentials.") { add, list, rotate };
    }

    private static void PrintCredential(IssuedCredential credential)
    {
        AnsiConsole.MarkupLineInterpolated($"client_id     [bold]{credential.ClientId}[/]");
        AnsiConsole.MarkupLineInterpolated($"client_secret [bold]{credential.ClientSecret}[/]  (shown once; stored hashed)");
    }

    private static int Report(string? error, Action ok)
    {
        if (error is not null)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{error}[/]");
            return 1;
        }

        ok();
        return 0;
    }
}
