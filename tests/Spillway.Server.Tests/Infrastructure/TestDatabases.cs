namespace Spillway.Server.Tests.Infrastructure;

/// <summary>
/// PostgreSQL for tests comes from <c>SPILLWAY_TEST_POSTGRES</c>, which scripts/test.sh sets after starting a private
/// cluster. A test that needs it fails without it: it never skips or passes silently.
/// </summary>
public static class TestDatabases
{
    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable("SPILLWAY_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "SPILLWAY_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL.");

    /// <summary>A fresh, empty database on the test cluster, for one server (or one set of nodes).</summary>
    public static Task<string> CreatePostgresDatabaseAsync() => Storage.PostgresTestDatabase.CreateDatabaseAsync();
}
