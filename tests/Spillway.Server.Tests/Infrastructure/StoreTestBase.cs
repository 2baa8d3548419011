namespace Spillway.Server.Tests.Infrastructure;

/// <summary>
/// The base of every HTTP behaviour test class. Each class is abstract and has one subclass per store
/// (<c>..._Embedded</c>, <c>..._Postgres</c>), so one suite runs unchanged against every provider.
/// </summary>
public abstract class StoreTestBase
{
    protected abstract StoreKind Store { get; }

    protected Task<SpillwayTestServer> StartAsync(IDictionary<string, string?>? settings = null) =>
        SpillwayTestServer.StartAsync(settings, Store);

    /// <summary>Starts a server whose API call limits never get in the way of polling, with the given limit overrides.</summary>
    protected async Task<SpillwayTestServer> StartWithRoomAsync(IDictionary<string, string?>? settings = null, object? limits = null)
    {
        var server = await StartAsync(settings);
        await server.SetLimitsWithRoomAsync(limits);
        return server;
    }

    /// <summary>Settings of a server whose worker never claims a job: enqueued jobs stay Queued.</summary>
    protected static Dictionary<string, string?> PausedWorker => new() { ["Spillway:Worker:Enabled"] = "false" };
}
