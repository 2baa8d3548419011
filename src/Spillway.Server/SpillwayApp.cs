using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Spillway.Contracts;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Activities.Export;
using Spillway.Server.Activities.Custom;
using Spillway.Server.Admin;
using Spillway.Server.BulkExport;
using Spillway.Server.Console;
using Spillway.Server.Controls;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Leads;
using Spillway.Server.Leads.Export;
using Spillway.Server.Leads.Lists;
using Spillway.Server.Leads.Programs;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server;

/// <summary>The composition root: what the server is made of, in one place.</summary>
public static class SpillwayApp
{
    /// <summary>Builds the server from command-line arguments (ASP.NET configuration: appsettings, environment, arguments).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        // Defaults under every other source, so appsettings, environment and arguments override them
        // (Logging:Console:FormatterName=json switches to JSON logs; both carry the MarketoRequestId scope).
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:Console:FormatterName"] = "simple",
                ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
                ["Logging:Console:FormatterOptions:SingleLine"] = "true",
                ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
                ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            },
        });

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 1024 * 1024;           // 413 for a body over 1 MB
            kestrel.Limits.MaxRequestLineSize = 8 * 1024 + 16;          // 414 for a URI over 8 KB
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            var minRate = builder.Configuration.GetValue<double?>("Spillway:Downloads:MinResponseBytesPerSecond") ?? 240;
            kestrel.Limits.MinResponseDataRate = minRate > 0 ? new(minRate, TimeSpan.FromSeconds(5)) : null;
        });

        var memoryFolder = InMemoryDataFolder.Apply(builder.Configuration);
        var services = builder.Services;
        services.AddOptions<SpillwayOptions>().Bind(builder.Configuration.GetSection(SpillwayOptions.Section));
        var options = builder.Configuration.GetSection(SpillwayOptions.Section).Get<SpillwayOptions>() ?? new SpillwayOptions();

        var clock = new SpillwayClock();
        services.AddSingleton(clock);
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton<ISubscriptionClock, ServerSubscriptionClock>();

        services.AddSpillwayStorage(options);
        services.AddSingleton<SubscriptionDirectory>();
        services.AddSingleton<SpillwayMetrics>();
        services.AddSingleton<PrometheusExposition>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<ActivityTypeRegistry>();
        services.AddSingleton<ExportSignal>();
        services.AddSingleton<StatusSnapshots>();
        services.AddSingleton<ExportFileStore>();
        services.AddSingleton<IExtractKind, ActivityExtract>();
        services.AddSingleton<IExtractKind, LeadExtract>();
        services.AddSingleton<IExtractKind, ProgramMemberExtract>();
        services.AddSingleton<ProgramMembershipWorld>();
        services.AddSingleton<ExtractKinds>();
        services.AddSingleton<ExportRunner>();
        services.AddSingleton<ExportCompletion>();
        services.AddSingleton<IExportInterventions, DefaultExportInterventions>();
        services.AddSingleton<IApiCallInterventions, NoApiCallInterventions>();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService<ExportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        services.AddSingleton<SubscriptionAdmin>();
        services.AddSingleton<ListWorld>();
        services.AddSingleton<FirstStart>();
        services.AddSingleton<Leads.Import.SeedFolder>();
        services.AddSingleton<AdminKey>();
        services.AddSpillwayControls();
        services.AddScoped<ApiAccessFilter>();
        services.AddScoped<AdminKeyFilter>();

        services.Configure<JsonOptions>(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, MarketoJsonContext.Default));
        services.AddHealthChecks()
            .AddCheck<IdentityStoreCheck>("identity", tags: [StoreCheck.Ready])
            .AddCheck<JobStoreCheck>("jobs", tags: [StoreCheck.Ready])
            .AddCheck<ActivityStoreCheck>("activities", tags: [StoreCheck.Ready]);
        services.AddOpenApi(SpillwayOpenApi.Configure);

        if (memoryFolder is not null)
        {
            // Through a factory: the container disposes what a factory made, never an instance it was handed.
            services.AddSingleton(_ => memoryFolder);
        }

        var app = builder.Build();
        // Resolved first, so disposed last: the folder goes after the stores that hold its files have closed them.
        app.Services.GetService<InMemoryDataFolder>();
        return app.ConfigurePipeline();
    }

    /// <summary>Applies migrations and the first-start setup; call before the server starts answering.</summary>
    public static async Task InitializeAsync(WebApplication app, CancellationToken ct = default)
    {
        var storeId = await app.Services.GetRequiredService<IStorageInitializer>().InitializeAsync(ct);
        app.Services.GetRequiredService<ExportFileStore>().Open(storeId);

        var adminKey = app.Services.GetRequiredService<AdminKey>();
        app.Logger.LogInformation("Admin API under {Prefix}: send the X-Spillway-Admin-Key header; the key is in {Source}",
            "/_spillway/admin", adminKey.Source);
        await app.Services.GetRequiredService<FirstStart>().RunAsync(ct);
    }

    /// <summary>Liveness: the process is up and answers HTTP; it touches no store, so a broken store does not get the process restarted.</summary>
    internal static ContentHttpResult Health() => TypedResults.Text("Healthy", "text/plain");

    /// <summary>
    /// Readiness: touches every store role; 200 <c>Healthy</c>, or 503 <c>Unhealthy</c> followed by each failed store and
    /// why, on one line.
    /// </summary>
    internal static async Task<ContentHttpResult> ReadyAsync(HealthCheckService health, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(c => c.Tags.Contains(StoreCheck.Ready), ct);
        if (report.Status == HealthStatus.Healthy)
        {
            return TypedResults.Text("Healthy", "text/plain");
        }

        var failed = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key}: {e.Value.Description}");
        return TypedResults.Text($"Unhealthy; {string.Join("; ", failed)}", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static WebApplication ConfigurePipeline(this WebApplication app)
    {
        app.UseMiddleware<MarketoPipelineMiddleware>();
        app.UseMiddleware<MethodOverrideMiddleware>();
        app.UseRouting();

        app.MapIdentityEndpoints();
        app.MapBulkExtracts();
        app.MapActivityEndpoints();
        app.MapCustomActivityEndpoints();
        app.MapActivityPagingEndpoints();
        app.MapLeadEndpoints();
        app.MapListEndpoints();
        app.MapProgramMemberEndpoints();
        app.MapAssetEndpoints();
        app.MapAdminEndpoints();
        app.MapSnapshotEndpoints();
        app.MapControlEndpoints();
        app.MapConsoleEndpoints();
        app.MapMarketoFallbacks();
        app.MapGet("/health", Health).WithTags("Operations").WithName("Health").WithSummary("Liveness: Healthy while the process answers.");
        app.MapGet("/health/ready", ReadyAsync).WithTags("Operations").WithName("Ready").WithSummary("Readiness: Healthy when every store answers.");
        app.MapOpenApi(SpillwayOpenApi.DocumentPattern);
        app.MapMetrics();
        app.MapApiReference();
        return app;
    }
}

/// <summary>One store role's readiness: one cheap read, and the reason on failure in one line without a stack trace.</summary>
internal abstract class StoreCheck : IHealthCheck
{
    public const string Ready = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await ProbeAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = ex.Message.ReplaceLineEndings(" ").Trim();
            return HealthCheckResult.Unhealthy($"does not answer ({reason})", ex);
        }
    }

    protected abstract Task ProbeAsync(CancellationToken ct);
}

internal sealed class IdentityStoreCheck(IIdentityStore identity) : StoreCheck
{
    protected override Task ProbeAsync(CancellationToken ct) => identity.ListSubscriptionsAsync(ct);
}

internal sealed class JobStoreCheck(IExportJobStore jobs) : StoreCheck
{
    protected override Task ProbeAsync(CancellationToken ct) => jobs.GetByIdAsync(Guid.Empty, ct);
}

internal sealed class ActivityStoreCheck(IActivityStore activities) : StoreCheck
{
    protected override Task ProbeAsync(CancellationToken ct) => activities.MaxMarketoGuidAsync(ct);
}
