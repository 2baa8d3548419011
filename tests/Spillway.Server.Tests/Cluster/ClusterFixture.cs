using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Cluster;

/// <summary>
/// Three <c>spillway serve</c> processes (<see cref="ServerProcess"/>) on loopback ports, sharing one fresh PostgreSQL
/// database and one export folder, each with its own <c>Spillway:NodeId</c> and short leases. The subscriptions the
/// tests need are created through node A's admin API before any API call, so no node has a stale cache of their limits.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int NodeCount = 3;
    public const string AdminKey = "cluster-test-admin-key";
    public const double LeaseSeconds = 3;
    public const double RenewSeconds = 0.5;
    public const double PollSeconds = 0.2;

    /// <summary>The subscription of the job tests: 4 API users, 600,000 activities over 20 days, call limits out of the way.</summary>
    public const string Jobs = "100-JOB-001";
    /// <summary>The 606 test: 20 calls per 20 s.</summary>
    public const string Rate = "100-RAT-002";
    /// <summary>The 615 and 607 tests: 3 calls in flight, 10 calls a day.</summary>
    public const string Calls = "100-CAL-003";
    /// <summary>The export quota test: 1 MB a day, 10,000 activities.</summary>
    public const string Quota = "100-QUO-004";
    /// <summary>The cluster-wide controls test: 2,000 activities over a day.</summary>
    public const string Controls = "100-CTL-005";

    public const long JobsActivities = 600_000;
    public const int JobsDaysBack = 20;
    public const int JobsUsers = 4;

    private readonly Stopwatch _since = Stopwatch.StartNew();
    private readonly Dictionary<(int Node, string? Token), HttpClient> _clients = [];
    private readonly Lock _clientsLock = new();
    private Dictionary<string, string?>[] _settings = [];
    private int[] _ports = [];
    private int _disposed;

    public string ConnectionString { get; private set; } = "";
    public string ExportPath { get; private set; } = "";
    public ServerProcess[] Nodes { get; } = new ServerProcess[NodeCount];
    public static string[] NodeIds { get; } = ["node-a", "node-b", "node-c"];
    private NpgsqlDataSource? _db;

    public NpgsqlDataSource Db => _db ?? throw new InvalidOperationException("The cluster did not start.");

    /// <summary>Figures for the test output (and docs/deployment.md).</summary>
    public TimeSpan StartTime { get; private set; }
    public TimeSpan SeedTime { get; private set; }
    public DateTimeOffset SeededAt { get; private set; }

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabases.CreatePostgresDatabaseAsync();
        ExportPath = Path.Combine(Path.GetTempPath(), "spillway-tests", "cluster-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(ExportPath);
        _db = NpgsqlDataSource.Create(ConnectionString);

        _ports = [.. Enumerable.Range(0, NodeCount).Select(_ => ServerProcess.FreePort())];
        _settings = [.. Enumerable.Range(0, NodeCount).Select(i => new Dictionary<string, string?>
        {
            ["Spillway:Provider"] = "Postgres",
            ["Spillway:ConnectionString"] = ConnectionString,
            ["Spillway:ExportPath"] = ExportPath,
            ["Spillway:NodeId"] = NodeIds[i],
            ["Spillway:AdminKey"] = AdminKey,
            // On PostgreSQL the data folder holds nothing shared; each node gets its own anyway.
            ["Spillway:DataPath"] = ExportPath + "-data-" + NodeIds[i],
            ["Spillway:Demo:Enabled"] = "false",
            ["Spillway:Worker:LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Spillway:Worker:RenewSeconds"] = RenewSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Spillway:Worker:PollSeconds"] = PollSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        })];

        try
        {
            await StartClusterAsync();
        }
        catch
        {
            await DisposeAsync(); // no server process outlives a failed start
            throw;
        }
    }

    private async Task StartClusterAsync()
    {
        // All three start at once on an empty database: the migrations run under an advisory lock, once.
        await Task.WhenAll(Enumerable.Range(0, NodeCount).Select(async i => Nodes[i] = await ServerProcess.StartAsync(_settings[i], _ports[i])));
        StartTime = _since.Elapsed;

        var room = new { rateLimitCalls = 1_000_000, concurrentCalls = 1_000, dailyCallQuota = 100_000_000 };
        await CreateSubscriptionAsync(Jobs, new { room.rateLimitCalls, room.concurrentCalls, room.dailyCallQuota, dailyExportQuotaMegabytes = 100_000 }, JobsUsers);
        await CreateSubscriptionAsync(Rate, new { rateLimitCalls = 20, rateLimitWindowSeconds = 20, room.concurrentCalls, room.dailyCallQuota }, 1);
        await CreateSubscriptionAsync(Calls, new { room.rateLimitCalls, concurrentCalls = 3, dailyCallQuota = 10 }, 1);
        await CreateSubscriptionAsync(Quota, new { room.rateLimitCalls, room.concurrentCalls, room.dailyCallQuota, dailyExportQuotaMegabytes = 1 }, 1);
        await CreateSubscriptionAsync(Controls, new { room.rateLimitCalls, room.concurrentCalls, room.dailyCallQuota }, 1);

        var seed = Stopwatch.StartNew();
        await Task.WhenAll(
            SeedAsync(1, Jobs, JobsActivities, JobsDaysBack, 7),
            SeedAsync(2, Quota, 10_000, 1, 11),
            SeedAsync(0, Controls, 2_000, 1, 13));
        SeedTime = seed.Elapsed;
        SeededAt = DateTimeOffset.UtcNow;
    }

    public async Task DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var node in Nodes.Where(n => n is not null))
        {
            await node.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }

        foreach (var folder in ExportPath.Length == 0 ? [] : new[] { ExportPath }.Concat(NodeIds.Select(id => ExportPath + "-data-" + id)))
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
            }
        }
    }

    public TimeSpan Elapsed => _since.Elapsed;

    /// <summary>
    /// Starts node <paramref name="index"/> again (same port, same node id) after it was killed; with
    /// <paramref name="overrides"/>, with those settings changed for this start only.
    /// </summary>
    public async Task<TimeSpan> RestartAsync(int index, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var watch = Stopwatch.StartNew();
        await Nodes[index].DisposeAsync();
        var settings = new Dictionary<string, string?>(_settings[index]);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        Nodes[index] = await ServerProcess.StartAsync(settings, _ports[index]);
        lock (_clientsLock)
        {
            foreach (var key in _clients.Keys.Where(k => k.Node == index).ToList())
            {
                _clients[key].Dispose();
                _clients.Remove(key);
            }
        }

        return watch.Elapsed;
    }

    /// <summary>Starts again every node whose process has exited, so a test that failed between a kill and its
    /// restart leaves the next test a whole cluster instead of a cascade of refused connections.</summary>
    public async Task RestartExitedNodesAsync()
    {
        for (var i = 0; i < NodeCount; i++)
        {
            if (Nodes[i].HasExited)
            {
                await RestartAsync(i);
            }
        }
    }

    /// <summary>A client for node <paramref name="node"/>, with a Bearer token or (null) without.</summary>
    public HttpClient Client(int node, string? token)
    {
        lock (_clientsLock)
        {
            if (!_clients.TryGetValue((node, token), out var client))
            {
                client = new HttpClient { BaseAddress = Nodes[node].BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
                if (token is not null)
                {
                    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                _clients[(node, token)] = client;
            }

            return client;
        }
    }

    public static string ClientId(string munchkin, int user) => $"client-{munchkin}-{user}".ToLowerInvariant();

    public static string ClientSecret(string munchkin, int user) => $"secret-{munchkin}-{user}-0123456789".ToLowerInvariant();

    /// <summary>Asks node <paramref name="node"/> for the token of API user <paramref name="user"/> of a subscription.</summary>
    public async Task<(string Token, long ExpiresIn)> TokenAsync(int node, string munchkin, int user)
    {
        var response = await Client(node, null).GetAsync(
            $"/identity/oauth/token?grant_type=client_credentials&client_id={ClientId(munchkin, user)}&client_secret={ClientSecret(munchkin, user)}");
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("access_token").GetString()!, json.RootElement.GetProperty("expires_in").GetInt64());
    }

    public async Task<int> SubscriptionIdAsync(string munchkin) =>
        await ScalarAsync<int>("SELECT id FROM subscription WHERE munchkin_id = $1", munchkin);

    public async Task<T> ScalarAsync<T>(string sql, params object[] args)
    {
        await using var command = Db.CreateCommand(sql);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params object[] args)
    {
        await using var command = Db.CreateCommand(sql);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A new client of node <paramref name="node"/>'s admin API (the caller disposes it).</summary>
    public HttpClient Admin(int node)
    {
        var admin = new HttpClient { BaseAddress = Nodes[node].BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", AdminKey);
        return admin;
    }

    private async Task CreateSubscriptionAsync(string munchkin, object limits, int users)
    {
        using var admin = Admin(0);
        (await admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = munchkin })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/limits", limits)).EnsureSuccessStatusCode();
        for (var user = 0; user < users; user++)
        {
            (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/users", new
            {
                email = $"user{user}@{munchkin.ToLowerInvariant()}.example.com",
                permissions = new[] { "Read-Write Activity" },
                clientId = ClientId(munchkin, user),
                clientSecret = ClientSecret(munchkin, user),
            })).EnsureSuccessStatusCode();
        }
    }

    private async Task SeedAsync(int node, string munchkin, long activities, int daysBack, int seed)
    {
        using var admin = Admin(node);
        (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/seed", new { activities, daysBack, seed })).EnsureSuccessStatusCode();
    }
}
