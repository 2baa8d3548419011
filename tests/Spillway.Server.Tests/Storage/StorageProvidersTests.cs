using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// The storage switch: one registration shape for every provider, the node identity and the API call limiter chosen
/// by the provider, and settings checked at start with a one-line message naming the setting.
/// </summary>
public sealed class StorageProvidersTests : IDisposable
{
    private static readonly Type[] Roles =
    [
        typeof(NodeIdentity), typeof(IStorageInitializer), typeof(IIdentityStore), typeof(IExportJobStore), typeof(IActivityStore),
        typeof(IActivityPageReader), typeof(IActivityWriter), typeof(IActivityWindowStreamer), typeof(IActivityTypeStore), typeof(IApiCallLimiter),
    ];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "providers-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void Every_provider_registers_every_role_once_as_a_singleton_in_the_same_order()
    {
        Assert.Equal(["Embedded", "Postgres"], StorageProviders.All.Select(p => p.Name));
        foreach (var provider in StorageProviders.All)
        {
            var services = new ServiceCollection();
            Assert.Same(provider, services.AddSpillwayStorage(Settings(provider.Name)));
            var roles = services.Where(d => Roles.Contains(d.ServiceType)).ToList();
            Assert.Equal(Roles, roles.Select(d => d.ServiceType));
            Assert.All(services, d => Assert.Equal(ServiceLifetime.Singleton, d.Lifetime));
        }
    }

    [Fact]
    public async Task The_embedded_node_is_solo_local_and_counts_calls_in_memory()
    {
        await using var services = ProviderStores.Services(Settings("Embedded"));
        Assert.Equal(new NodeIdentity("local", Solo: true), services.GetRequiredService<NodeIdentity>());
        Assert.IsType<InMemoryApiCallLimiter>(services.GetRequiredService<IApiCallLimiter>());
    }

    [Fact]
    public async Task A_postgres_node_is_named_by_machine_and_process_is_not_solo_and_shares_the_call_counters()
    {
        // Resolving these opens no connection, so the unreachable server in the settings is fine.
        await using var services = ProviderStores.Services(Settings("Postgres"));
        Assert.Equal(new NodeIdentity($"{Environment.MachineName}-{Environment.ProcessId}", Solo: false), services.GetRequiredService<NodeIdentity>());
        Assert.IsType<PostgresApiCallLimiter>(services.GetRequiredService<IApiCallLimiter>());
    }

    [Theory]
    [InlineData("Embedded", true)]
    [InlineData("Postgres", false)]
    public async Task Spillway_NodeId_overrides_the_name_but_not_whether_the_node_is_solo(string provider, bool solo)
    {
        var settings = Settings(provider);
        settings.NodeId = "node-7";
        await using var services = ProviderStores.Services(settings);
        Assert.Equal(new NodeIdentity("node-7", solo), services.GetRequiredService<NodeIdentity>());
    }

    [Theory]
    [InlineData("Embedded")]
    [InlineData("Postgres")]
    public async Task The_four_activity_roles_are_one_object(string provider)
    {
        await using var services = ProviderStores.Services(Settings(provider));
        var store = services.GetRequiredService<IActivityStore>();
        Assert.Same(store, services.GetRequiredService<IActivityPageReader>());
        Assert.Same(store, services.GetRequiredService<IActivityWriter>());
        Assert.Same(store, services.GetRequiredService<IActivityWindowStreamer>());
    }

    public static TheoryData<string, string> BadSettings => new()
    {
        { "--Spillway:Provider=Oracle", "Spillway:Provider must be one of Embedded, Postgres (got 'Oracle')." },
        { "--Spillway:Provider=Postgres", "Spillway:ConnectionString is required when Spillway:Provider is Postgres." },
        { "--Spillway:Worker:LeaseSeconds=5", "Spillway:Worker:LeaseSeconds must be greater than Spillway:Worker:RenewSeconds (got 5 and 10)." },
        { "--Spillway:Worker:PollSeconds=0", "Spillway:Worker:PollSeconds must be greater than 0 (got 0)." },
        { "--Spillway:Worker:Concurrency=0", "Spillway:Worker:Concurrency must be at least 1 (got 0)." },
        { "--Spillway:Worker:ChunkHours=0", "Spillway:Worker:ChunkHours must be at least 1 (got 0)." },
        { "--Spillway:DuckDbMemoryLimit=lots", "Spillway:DuckDbMemoryLimit must be a size such as 64MB or 1GB (got 'lots')." },
        { "--Spillway:DuckDbMemoryLimit=1GB'; DROP", "Spillway:DuckDbMemoryLimit must be a size such as 64MB or 1GB (got '1GB'; DROP')." },
        { "--Spillway:Limits:MaxProcessingJobs=-1", "Spillway:Limits:MaxProcessingJobs must be at least 0 (got -1)." },
        { "--Spillway:Limits:RateLimitWindowSeconds=0", "Spillway:Limits:RateLimitWindowSeconds must be at least 1 (got 0)." },
        { "--Spillway:Limits:TokenLifetimeSeconds=0", "Spillway:Limits:TokenLifetimeSeconds must be at least 1 (got 0)." },
        { "--Spillway:Realism:StatusRefreshSeconds=-1", "Spillway:Realism:StatusRefreshSeconds must be 0 or more (got -1)." },
        { "--Spillway:InMemory=true|--Spillway:Provider=Postgres|--Spillway:ConnectionString=Host=127.0.0.1",
            "Spillway:InMemory keeps the embedded store in memory; it cannot be combined with Spillway:Provider=Postgres." },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void A_bad_setting_stops_the_server_at_start_with_one_line_naming_it(string setting, string message)
    {
        // RenewSeconds is raised here so the lease rule has a renewal to compare against; it is valid on its own.
        string[] args = [$"--Spillway:DataPath={_folder}", "--Spillway:Worker:RenewSeconds=10", "--Spillway:Worker:LeaseSeconds=30", .. setting.Split('|')];
        var error = Assert.Throws<OptionsValidationException>(() => SpillwayApp.Build(args));
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Directory.Exists(_folder), "a refused start creates no data folder");
    }

    [Fact]
    public void Several_bad_settings_are_named_together_on_one_line()
    {
        var error = Assert.Throws<OptionsValidationException>(() => SpillwayApp.Build(
            [$"--Spillway:DataPath={_folder}", "--Spillway:Worker:Concurrency=0", "--Spillway:Limits:ConcurrentCalls=0"]));
        Assert.Equal("Spillway:Worker:Concurrency must be at least 1 (got 0).; Spillway:Limits:ConcurrentCalls must be at least 1 (got 0).", error.Message);
        Assert.Equal(2, error.Failures.Count());
    }

    [Theory]
    [InlineData("64MB")]
    [InlineData("1.5 GiB")]
    [InlineData("512mib")]
    public async Task Good_settings_still_start(string memoryLimit)
    {
        await using var app = SpillwayApp.Build([$"--Spillway:DataPath={_folder}", $"--Spillway:DuckDbMemoryLimit={memoryLimit}",
            "--Spillway:Limits:MaxQueuedJobs=0", "--Spillway:Limits:DailyExportQuotaMegabytes=0", "--Spillway:NodeId=solo-1"]);
        Assert.Equal(new NodeIdentity("solo-1", Solo: true), app.Services.GetRequiredService<NodeIdentity>());

        // DuckDB itself takes the limit: the activity store opens with it.
        Assert.Equal(0, await app.Services.GetRequiredService<IActivityStore>().CountAsync(1, CancellationToken.None));
    }

    private SpillwayOptions Settings(string provider) => provider == "Postgres"
        ? new() { Provider = provider, ConnectionString = "Host=127.0.0.1;Username=nobody;Database=nothing", DataPath = _folder }
        : new() { Provider = provider, DataPath = _folder };
}
