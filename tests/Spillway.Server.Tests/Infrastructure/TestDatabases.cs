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

    public static Task<string> CreatePostgresDatabaseAsync() =>
        throw new NotSupportedException("Fresh PostgreSQL databases per test arrive with the PostgreSQL provider.");
}
