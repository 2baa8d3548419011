using Microsoft.AspNetCore.Builder;

namespace Spillway.Testing;

/// <summary>How <see cref="SpillwayServer.StartAsync(SpillwayServerOptions?, CancellationToken)"/> starts a server.</summary>
/// <remarks>The defaults give a server on a free loopback port over a temporary embedded store, with one subscription
/// and one API user that may read and write activities and leads, no demo data and fast job pickup.</remarks>
public sealed class SpillwayServerOptions
{
    /// <summary>The subscription created at start (Marketo's Munchkin id form). Default <c>123-ABC-456</c>.</summary>
    public string MunchkinId { get; set; } = "123-ABC-456";

    /// <summary>The email of the API user created at start. Default <c>tests@example.com</c>.</summary>
    public string ApiUserEmail { get; set; } = "tests@example.com";

    /// <summary>The permissions of that API user. Default: <c>Read-Write Activity</c> and <c>Read-Write Lead</c>.</summary>
    public IList<string> Permissions { get; } = ["Read-Write Activity", "Read-Write Lead"];

    /// <summary>Demo activities to generate at start (0, the default: none). Deterministic for <see cref="Seed"/>.</summary>
    public long SeedActivities { get; set; }

    /// <summary>How many days back from now the demo activities spread. Default 30.</summary>
    public int SeedDaysBack { get; set; } = 30;

    /// <summary>The seed of the demo data generator: the same seed gives the same activities. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>The data folder. Null (the default): a new temporary folder, deleted when the server is disposed. A
    /// folder you give is kept.</summary>
    public string? DataPath { get; set; }

    /// <summary>Keep the embedded store in memory (a tmpfs folder under <c>/dev/shm</c> on Linux, a temporary folder
    /// elsewhere), deleted at dispose; <see cref="DataPath"/> is then ignored.</summary>
    public bool InMemory { get; set; }

    /// <summary>Run on PostgreSQL with this connection string instead of the embedded store. The database is migrated
    /// at start and kept at dispose (give each test run its own database).</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The loopback port; 0 (the default) takes a free one.</summary>
    public int Port { get; set; }

    /// <summary>The admin key of the admin and control API. Null (the default): a random key, in <see cref="SpillwayServer.AdminKey"/>.</summary>
    public string? AdminKey { get; set; }

    /// <summary>More server settings, as configuration keys (e.g. <c>Spillway:Limits:MaxWindowDays</c>), applied last.</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Changes the server's composition before it is built (advanced: e.g. to add a logging provider).</summary>
    public Action<WebApplicationBuilder>? ConfigureHost { get; set; }
}
