using Spillway.Server;

var app = SpillwayApp.Build(args);
await SpillwayApp.InitializeAsync(app);
await app.RunAsync();

/// <summary>The entry point, visible to test hosts.</summary>
public partial class Program;
