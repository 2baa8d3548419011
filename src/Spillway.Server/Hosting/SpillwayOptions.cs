namespace Spillway.Server.Hosting;

/// <summary>
/// Server settings, bound from the <c>Spillway</c> section (appsettings, <c>Spillway__*</c> environment variables,
/// or <c>--Spillway:*</c> on the command line). See docs/configuration.md.
/// </summary>
public sealed class SpillwayOptions
{
    public const string Section = "Spillway";

    /// <summary>The folder that holds everything of the embedded store and the export files. Created if missing.</summary>
    public string DataPath { get; set; } = "spillway-data";

    /// <summary>
    /// Runs the embedded store in memory, for CI and throw-away servers: its data folder is a new folder on a tmpfs
    /// (<c>/dev/shm</c> on Linux; a temporary folder where there is none) that is deleted when the server stops, and
    /// <see cref="DataPath"/> is ignored. Not with <c>Postgres</c>.
    /// </summary>
    public bool InMemory { get; set; }

    /// <summary><c>Embedded</c> (default: SQLite for metadata, DuckDB for activities) or <c>Postgres</c>.</summary>
    public string Provider { get; set; } = "Embedded";

    /// <summary>The PostgreSQL connection string, when <see cref="Provider"/> is <c>Postgres</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The memory DuckDB may use for the activity store (its buffer pool and sorts); it spills to <c>duckdb-tmp/</c>
    /// beyond. Small on purpose: exports stream a few hours at a time, the buffer pool only caches blocks the OS page
    /// cache holds anyway, and the server's peak stays under 300 MB during a 1 GB export (docs/performance.md).
    /// </summary>
    public string DuckDbMemoryLimit { get; set; } = "64MB";

    /// <summary>The folder for export files; defaults to <c>{DataPath}/exports</c>. Shared by all nodes of a cluster.</summary>
    public string? ExportPath { get; set; }

    /// <summary>This node's name in leases; defaults to the machine name and process id.</summary>
    public string? NodeId { get; set; }

    /// <summary>The key that opens the admin API (<c>X-Spillway-Admin-Key</c>). Generated and stored in the data folder if unset.</summary>
    public string? AdminKey { get; set; }

    /// <summary>The short pod suffix of tokens (<c>&lt;uuid&gt;:&lt;pod&gt;</c>).</summary>
    public string TokenPod { get; set; } = "sw";

    /// <summary>Reject <c>access_token</c> in the query string with 601 (rehearse Marketo's deprecation).</summary>
    public bool RejectQueryStringToken { get; set; }

    /// <summary>
    /// On PostgreSQL, lets each node hold call grants: while a subscription is far from its call limits, a node admits
    /// calls without a database round trip (docs/deployment.md). Off: every call is checked in the database.
    /// </summary>
    public bool CallGrants { get; set; } = true;

    public DemoOptions Demo { get; set; } = new();

    public LimitDefaults Limits { get; set; } = new();

    public WorkerOptions Worker { get; set; } = new();

    public RealismOptions Realism { get; set; } = new();

    public DownloadOptions Downloads { get; set; } = new();
}

/// <summary>How long the server waits on a client that stops reading a response (docs/configuration.md).</summary>
public sealed class DownloadOptions
{
    /// <summary>
    /// A file download is cut (its connection closed, its concurrent-call slot freed) when a 64 KB block of it does not
    /// leave within this many seconds, i.e. the client reads slower than about 2 KB/s or not at all; 0 = never.
    /// </summary>
    public double StallSeconds { get; set; } = 30;

    /// <summary>
    /// Every other response must progress at this many bytes per second after a 5 s grace (Kestrel's minimum response
    /// data rate); 0 = no minimum.
    /// </summary>
    public double MinResponseBytesPerSecond { get; set; } = 240;
}

/// <summary>
/// Marketo-like timing for clients that want to rehearse production. Off by default: state changes are
/// immediate. It never changes the contract, only when a change becomes visible.
/// </summary>
public sealed class RealismOptions
{
    /// <summary>A job's status refreshes at most this often (Marketo: every 60 s); 0 = always current.</summary>
    public double StatusRefreshSeconds { get; set; }

    /// <summary>A Queued job waits at least this long before it may start; 0 = as soon as a slot is free.</summary>
    public double StartLatencySeconds { get; set; }
}

/// <summary>The demo subscription and development API user created on first start.</summary>
public sealed class DemoOptions
{
    /// <summary>Create the demo subscription, user and activities on first start.</summary>
    public bool Enabled { get; set; } = true;
    public string MunchkinId { get; set; } = "123-ABC-456";
    public string Email { get; set; } = "dev@spillway.local";
    /// <summary>The well-known development client id (like Azurite's development account: public, for local use only).</summary>
    public string ClientId { get; set; } = "spillway-dev-client";
    public string ClientSecret { get; set; } = "spillway-dev-secret-do-not-use-in-production";
    /// <summary>Activities seeded on first start.</summary>
    public long Activities { get; set; } = 200_000;
    /// <summary>Days back from now that the seeded activities cover.</summary>
    public int DaysBack { get; set; } = 45;
    public int Seed { get; set; } = 20_260_101;
    /// <summary>
    /// A folder of lead and activity files loaded into the demo subscription instead of generated activities, on the
    /// first start of an empty store (no subscription at all); ignored, with a log line, on any other start.
    /// </summary>
    public string? SeedFrom { get; set; }
}

/// <summary>Server-wide defaults of the per-subscription limits.</summary>
public sealed class LimitDefaults
{
    public int MaxProcessingJobs { get; set; } = 2;
    public int MaxQueuedJobs { get; set; } = 10;
    public long DailyExportQuotaMegabytes { get; set; } = 500;
    public int FileRetentionDays { get; set; } = 7;
    public int JobRetentionDays { get; set; } = 30;
    public int ListWindowDays { get; set; } = 7;
    public int MaxWindowDays { get; set; } = 31;
    public int RateLimitCalls { get; set; } = 100;
    public int RateLimitWindowSeconds { get; set; } = 20;
    public int ConcurrentCalls { get; set; } = 10;
    public int DailyCallQuota { get; set; } = 50_000;
    public int TokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>
    /// Whether the Bulk Lead Extract's updatedAt and smart-list filters are available. Without them, as on a Marketo
    /// subscription that lacks them, those filters answer 1035.
    /// </summary>
    public bool AdvancedLeadExtractFilters { get; set; } = true;
}

/// <summary>The export worker.</summary>
public sealed class WorkerOptions
{
    /// <summary>Whether this node claims and runs export jobs. When false, enqueued jobs stay Queued (useful to hold a
    /// queue still, in tests, or on an API-only node of a cluster).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Jobs this node runs at once (across subscriptions; each subscription still has its own 2-slot limit).</summary>
    public int Concurrency { get; set; } = 4;
    /// <summary>How long a lease lasts without renewal. Another node takes over a job this long after its node died.</summary>
    public double LeaseSeconds { get; set; } = 30;
    /// <summary>How often a running job renews its lease and notices a cancel from another node.</summary>
    public double RenewSeconds { get; set; } = 2;
    /// <summary>How often an idle worker looks for work that another node enqueued.</summary>
    public double PollSeconds { get; set; } = 1;
    /// <summary>Hours of activities read per ordered chunk (bounds the engine's sort memory: 6 hours of a 10 M store are about 10 MB).</summary>
    public int ChunkHours { get; set; } = 6;
    /// <summary>The SSV delimiter (space by default; the docs disagree, some say semicolon).</summary>
    public string SsvDelimiter { get; set; } = " ";
}
