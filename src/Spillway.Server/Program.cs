var app = Spillway.Server.SpillwayApp.Build(args);
await app.RunAsync();

/// <summary>The entry point, visible to test hosts.</summary>
public partial class Program;
