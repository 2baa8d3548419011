using System.CommandLine;
using Spillway.Cli.Commands;

var root = new RootCommand("Spillway: Marketo's Bulk Activity Extract API over your own activity store.")
{
    ServeCommand.Create(),
    AdminCommands.Subscription(),
    AdminCommands.User(),
    SeedCommand.Create(),
    ExportCommand.Create(),
    ImportCommand.Create(),
    ControlCommands.Create(),
    SnapshotCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
