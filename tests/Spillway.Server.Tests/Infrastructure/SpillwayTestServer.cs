using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server;
using Spillway.Server.Admin;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;
using Spillway.Testing;

namespace Spillway.Server.Tests.Infrastructure;

public enum StoreKind
{
    Embedded,
    Postgres,
}

/// <summary>
/// A real Spillway server for one test: real Kestrel on a loopback port, a real store in a fresh temp folder (or a fresh
/// PostgreSQL database), driven over HTTP. A subscription <see cref="MunchkinId"/> and an API user with
/// Read-Write Activity exist from the start.
/// </summary>
public sealed class SpillwayTestServer : IAsyncDisposable
{
    public const string MunchkinId = "111-AAA-111";
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly SpillwayServer _server;
    private readonly string _dataPath;

    private SpillwayTestServer(SpillwayServer server, string dataPath)
    {
        _server = server;
        _dataPath = dataPath;
        BaseAddress = server.BaseAddress;
        Http = server.CreateClient();
        Admin = server.CreateAdminClient();
        ClientId = server.ClientId;
        ClientSecret = server.ClientSecret;
    }

    /// <summary>The Spillway.Testing server underneath: the same one users start in their own test suites.</summary>
    public SpillwayServer Server => _server;

    public Uri BaseAddress { get; }

    /// <summary>A plain client: no token, no admin key.</summary>
    public HttpClient Http { get; }

    /// <summary>A client with the admin key.</summary>
    public HttpClient Admin { get; }

    public string DataPath => _dataPath;

    /// <summary>Leaves the data folder at dispose, for a test that starts another server on it (and deletes it itself).</summary>
    public bool KeepData { get; set; }

    /// <summary>The test's own PostgreSQL database, when the server runs on PostgreSQL.</summary>
    public string? PostgresConnectionString { get; private init; }

    /// <summary>Runs SQL on the metadata store under the running server (to break it, or to inspect it).</summary>
    public async Task ExecuteMetadataSqlAsync(string sql)
    {
        if (PostgresConnectionString is { } cs)
        {
            await using var pg = new Npgsql.NpgsqlConnection(cs);
            await pg.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand(sql, pg);
            await command.ExecuteNonQueryAsync();
            return;
        }

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataPath, "metadata.db")};Pooling=False");
        await connection.OpenAsync();
        await using var sqlite = connection.CreateCommand();
        sqlite.CommandText = sql;
        await sqlite.ExecuteNonQueryAsync();
    }

    /// <summary>Every value of every table of the metadata store, as text (to prove what is not stored).</summary>
    public async Task<List<string>> ReadAllMetadataTextAsync()
    {
        var cells = new List<string>();
        System.Data.Common.DbConnection connection = PostgresConnectionString is { } cs
            ? new Npgsql.NpgsqlConnection(cs)
            : new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataPath, "metadata.db")};Mode=ReadOnly;Pooling=False");
        await using (connection)
        {
            await connection.OpenAsync();
            var tables = new List<string>();
            await using (var list = connection.CreateCommand())
            {
                list.CommandText = PostgresConnectionString is null
                    ? "SELECT name FROM sqlite_master WHERE type = 'table'"
                    : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'";
                await using var reader = await list.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            Assert.Contains("api_credential", tables);
            foreach (var table in tables)
            {
                await using var select = connection.CreateCommand();
                select.CommandText = $"SELECT * FROM \"{table}\"";
                await using var reader = await select.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        cells.Add(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    }
                }
            }
        }

        return cells;
    }

    public IServiceProvider Services => _server.Services;

    public SpillwayClock Clock => Services.GetRequiredService<SpillwayClock>();

    public string ClientId { get; }

    public string ClientSecret { get; }

    /// <param name="configure">Changes the server's composition before it is built (e.g. registers one more service).</param>
    public static async Task<SpillwayTestServer> StartAsync(IDictionary<string, string?>? settings = null, StoreKind store = StoreKind.Embedded,
        string? dataPath = null, Action<WebApplicationBuilder>? configure = null)
    {
        // The data folder is always named here (so a test can restart on it) and always deleted at dispose.
        dataPath ??= Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var options = new SpillwayServerOptions
        {
            MunchkinId = MunchkinId,
            ApiUserEmail = "tester@example.com",
            DataPath = dataPath,
            AdminKey = settings?.TryGetValue("Spillway:AdminKey", out var key) == true && key is not null ? key : AdminKey,
            ConfigureHost = configure,
            PostgresConnectionString = store == StoreKind.Postgres ? await TestDatabases.CreatePostgresDatabaseAsync() : null,
        };
        options.Permissions.Clear();
        options.Permissions.Add("Read-Write Activity");
        options.Settings["Spillway:Worker:RenewSeconds"] = "0.5";
        options.Settings["Logging:LogLevel:Spillway"] = "Warning";
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            options.Settings[name] = value;
        }

        var server = await SpillwayServer.StartAsync(options);
        return new SpillwayTestServer(server, dataPath)
        {
            PostgresConnectionString = options.PostgresConnectionString,
        };
    }

    /// <summary>Adds an API user to the test subscription and returns its credentials.</summary>
    public async Task<(string ClientId, string ClientSecret)> CreateApiUserAsync(string email, params string[] permissions)
    {
        var admin = Services.GetRequiredService<SubscriptionAdmin>();
        var result = await admin.AddApiUserAsync(MunchkinId, email, permissions, null, null, CancellationToken.None);
        Assert.Null(result.Error);
        return (result.Value.Credential.ClientId, result.Value.Credential.ClientSecret);
    }

    /// <summary>Gets a token for the default API user (or the given credentials).</summary>
    public async Task<string> GetTokenAsync(string? clientId = null, string? clientSecret = null)
    {
        var response = await Http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={Uri.EscapeDataString(clientId ?? ClientId)}&client_secret={Uri.EscapeDataString(clientSecret ?? ClientSecret)}");
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>A client that sends a fresh token of the default API user (or the given credentials) as a bearer header.</summary>
    public async Task<HttpClient> AuthorizedClientAsync(string? clientId = null, string? clientSecret = null)
    {
        var token = await GetTokenAsync(clientId, clientSecret);
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Appends activities straight to the store of the test subscription.</summary>
    public async Task AppendAsync(params ActivityRecord[] activities)
    {
        var subscription = await Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(MunchkinId, CancellationToken.None);
        await Services.GetRequiredService<IActivityStore>().AppendAsync(subscription!.Id, activities, CancellationToken.None);
    }

    public async Task<long> SeedAsync(long count, int daysBack, int seed = 1)
    {
        var response = await Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{MunchkinId}/seed", new { activities = count, daysBack, seed });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("added").GetInt64();
    }

    public async Task SetLimitsAsync(object overrides)
    {
        var response = await Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{MunchkinId}/limits", overrides);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Replaces the subscription's limit overrides with API call limits high enough that polling never meets them (606/607/615),
    /// plus the given overrides (camelCase members of SubscriptionLimitOverrides).
    /// </summary>
    public Task SetLimitsWithRoomAsync(object? overrides = null)
    {
        var merged = new Dictionary<string, object?>
        {
            ["rateLimitCalls"] = 1_000_000,
            ["concurrentCalls"] = 1_000,
            ["dailyCallQuota"] = 100_000_000,
        };
        if (overrides is not null)
        {
            foreach (var property in overrides.GetType().GetProperties())
            {
                merged[property.Name] = property.GetValue(overrides);
            }
        }

        return SetLimitsAsync(merged);
    }

    /// <summary>Runs the retention sweep now (admin API).</summary>
    public async Task SweepAsync()
    {
        var response = await Admin.PostAsync("/_spillway/admin/retention/sweep", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The folder of published export files.</summary>
    public string ExportFilesPath => ExportFolders.Files(Path.Combine(_dataPath, "exports"));

    /// <summary>The folder of export files being written.</summary>
    public string ExportTempPath => ExportFolders.Temp(Path.Combine(_dataPath, "exports"));

    /// <summary>Files in the export folders (published and temporary) whose name belongs to <paramref name="exportId"/>.</summary>
    public IReadOnlyList<string> ExportFilesOf(string exportId)
    {
        var prefix = Guid.Parse(exportId).ToString("N");
        return [.. new[] { ExportFilesPath, ExportTempPath }
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles)
            .Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal))];
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Admin.Dispose();
        await _server.DisposeAsync();
        if (KeepData)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Admin API helpers for tests that need more than the default subscription and user.</summary>
public static class SpillwayTestServerAdmin
{
    /// <summary>Creates a subscription through the admin API.</summary>
    public static async Task CreateSubscriptionViaAdminAsync(this SpillwayTestServer server, string munchkinId)
    {
        var response = await server.Admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>Adds an API user through the admin API and returns the credential it answers with.</summary>
    public static async Task<(string ClientId, string ClientSecret)> AddUserViaAdminAsync(this SpillwayTestServer server, string munchkinId,
        string email, params string[] permissions)
    {
        var response = await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkinId}/users", new { email, permissions });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var credential = json.RootElement.GetProperty("credential");
        return (credential.GetProperty("clientId").GetString()!, credential.GetProperty("clientSecret").GetString()!);
    }

    /// <summary>A client that carries no token by default.</summary>
    public static HttpClient NewClient(this SpillwayTestServer server) => new() { BaseAddress = server.BaseAddress };

    /// <summary>The raw identity call with query parameters.</summary>
    public static Task<HttpResponseMessage> TokenByQueryAsync(this SpillwayTestServer server, string clientId, string clientSecret,
        string extra = "") =>
        server.Http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={Uri.EscapeDataString(clientId)}" +
            $"&client_secret={Uri.EscapeDataString(clientSecret)}{extra}");
}

/// <summary>
/// Captures the server's log entries with their scope values (for example the request id), so a test can check what
/// was logged. Attach with <see cref="AttachTo"/>; it sees every entry logged after that.
/// </summary>
public sealed class LogCapture : Microsoft.Extensions.Logging.ILoggerProvider, Microsoft.Extensions.Logging.ISupportExternalScope
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<LogEntry> _entries = new();
    private Microsoft.Extensions.Logging.IExternalScopeProvider? _scopes;

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public static LogCapture AttachTo(SpillwayTestServer server)
    {
        var capture = new LogCapture();
        server.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(capture);
        return capture;
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(Microsoft.Extensions.Logging.IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    public sealed record LogEntry(Microsoft.Extensions.Logging.LogLevel Level, string Category, string Message, Exception? Exception,
        IReadOnlyDictionary<string, object?> ScopeValues);

    private sealed class Logger(LogCapture owner, string category) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes?.Push(state);

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            owner._scopes?.ForEachScope((scope, dict) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        dict[key] = value;
                    }
                }
            }, values);
            owner._entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception, values));
        }
    }
}

/// <summary>Looks at the server's API call limiter from inside, without making (and counting) a call.</summary>
public static class SpillwayTestServerLimiter
{
    /// <summary>Calls admitted today for the test subscription (the number usage.json reports, read without a call).</summary>
    public static async Task<long> AdmittedCallsTodayAsync(this SpillwayTestServer server)
    {
        var identity = server.Services.GetRequiredService<IIdentityStore>();
        var subscription = (await identity.FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None))!;
        var user = (await identity.ListApiUsersAsync(subscription.Id, CancellationToken.None))[0];
        var limits = server.Services.GetRequiredService<Spillway.Server.Limits.SubscriptionDirectory>().LimitsOf(subscription);
        var caller = new Spillway.Server.Identity.ApiCaller(user, subscription, limits);
        var usage = await server.Services.GetRequiredService<Spillway.Server.Storage.IApiCallLimiter>()
            .UsageAsync(caller, server.Clock.GetUtcNow(), CancellationToken.None);
        return usage.Total;
    }

    /// <summary>Waits (up to 10 s) until <paramref name="total"/> calls have been admitted today.</summary>
    public static async Task WaitForAdmittedAsync(this SpillwayTestServer server, long total)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long seen;
        while ((seen = await server.AdmittedCallsTodayAsync()) < total)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {seen} of {total} calls admitted after 10 s");
            await Task.Delay(10);
        }

        Assert.Equal(total, seen);
    }
}
