using Spillway.Cli;

return await CliApp.RunAsync(args, Console.Error);
