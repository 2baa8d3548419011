using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway lead-field add|list</c>: a subscription's custom lead fields, on the store directly (stop the server
/// first when it runs on the same data folder; the admin API's <c>lead-fields</c> does the same while it runs).
/// </summary>
internal static class LeadFieldCommands
{
    public static Command Create()
    {
        var munchkin = new Argument<string>("munchkin-id") { Description = "The subscription." };
        var name = new Argument<string>("name") { Description = "The REST name: a letter, then letters, digits or underscores (at most 50)." };
        var type = new Option<string>("--type", "-t")
        {
            Description = $"The data type: {string.Join(", ", LeadCustomFields.DataTypes)}.",
            Required = true,
        };
        var displayName = new Option<string?>("--display-name") { Description = "The friendly label describe shows. Default: the name." };
        var add = new Command("add", "Define a custom lead field.") { munchkin, name, type, displayName, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        add.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var (field, error) = await LeadFieldAdmin.AddAsync(app.Get<IIdentityStore>(), app.Get<ILeadFieldStore>(), app.Get<TimeProvider>(),
                result.GetValue(munchkin)!, result.GetValue(name), result.GetValue(displayName), result.GetValue(type), ct);
            if (field is null)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{error!.Detail}[/]");
                return ExitCodes.Failure;
            }

            AnsiConsole.MarkupLineInterpolated($"Defined lead field [bold]{field.Rest!.Name}[/] ({field.DataType}), id {field.Id}.");
            return 0;
        });

        var list = new Command("list", "List a subscription's custom lead fields.") { munchkin, CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres };
        list.SetAction(async (result, ct) =>
        {
            await using var app = await CommonOptions.OpenStoreAsync(result, ct);
            var (fields, error) = await LeadFieldAdmin.ListAsync(app.Get<IIdentityStore>(), app.Get<ILeadFieldStore>(), result.GetValue(munchkin)!, ct);
            if (fields is null)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]{error!.Detail}[/]");
                return ExitCodes.Failure;
            }

            var table = new Table().AddColumns("Id", "Name", "Display name", "Type");
            foreach (var field in fields)
            {
                table.AddRow(field.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(field.Rest!.Name), Markup.Escape(field.DisplayName), field.DataType);
            }

            AnsiConsole.Write(table);
            return 0;
        });

        return new Command("lead-field", "Manage a subscription's custom lead fields.") { add, list };
    }
}
