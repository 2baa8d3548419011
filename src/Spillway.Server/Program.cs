using Spillway.Server;

return await SpillwayHost.RunAsync(args, Console.Error);

/// <summary>The entry point, visible to test hosts.</summary>
public partial class Program;
