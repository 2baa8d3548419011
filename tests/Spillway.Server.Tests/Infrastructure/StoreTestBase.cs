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
}
