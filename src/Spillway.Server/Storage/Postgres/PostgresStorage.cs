namespace Spillway.Server.Storage.Postgres;

// Placeholder until the PostgreSQL provider lands (branch pg); replaced on merge.
public static class PostgresStorage
{
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, string connectionString) =>
        throw new NotSupportedException("The PostgreSQL provider is not built yet.");
}
