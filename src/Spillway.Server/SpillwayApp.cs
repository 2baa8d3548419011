namespace Spillway.Server;

/// <summary>The composition root: what the server is made of, in one place.</summary>
public static class SpillwayApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        app.MapGet("/health", () => "ok");
        return app;
    }
}
