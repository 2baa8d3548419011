using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Spillway.Contracts;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Export;
using Spillway.Server.Activities.Custom;
using Spillway.Server.Admin;
using Spillway.Server.BulkExport;
using Spillway.Server.Console;
using Spillway.Server.Controls;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Leads;
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

        var services = builder.Services;
        services.AddOptions<SpillwayOptions>().Bind(builder.Configuration.GetSection(SpillwayOptions.Section));
        var options = builder.Configuration.GetSection(SpillwayOptions.Section).Get<SpillwayOptions>() ?? new SpillwayOptions();

        var clock = new SpillwayClock();
        services.AddSingleton(clock);
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton<ISubscriptionClock, ServerSubscriptionClock>();

        services.AddSpillwayStorage(options);
        services.AddSingleton<SubscriptionDirectory>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<ActivityTypeRegistry>();
        services.AddSingleton<ExportSignal>();
        services.AddSingleton<StatusSnapshots>();
        services.AddSingleton<ExportFileStore>();
        services.AddSingleton<IExtractKind, ActivityExtract>();
        services.AddSingleton<ExtractKinds>();
        services.AddSingleton<ExportRunner>();
        services.AddSingleton<ExportCompletion>();
        services.AddSingleton<IExportInterventions, DefaultExportInterventions>();
        services.AddSingleton<IApiCallInterventions, NoApiCallInterventions>();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService<ExportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        services.AddSingleton<SubscriptionAdmin>();
        services.AddSingleton<FirstStart>();
        services.AddSingleton<AdminKey>();
        services.AddSpillwayControls();
        services.AddScoped<ApiAccessFilter>();
        services.AddScoped<AdminKeyFilter>();

        services.Configure<JsonOptions>(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, MarketoJsonContext.Default));
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store");
        services.AddOpenApi();

        return builder.Build().ConfigurePipeline();
    }

    /// <summary>Applies migrations and the first-start setup; call before the server starts answering.</summary>
    public static async Task InitializeAsync(WebApplication app, CancellationToken ct = default)
    {
        foreach (var initializer in app.Services.GetServices<IStorageInitializer>())
        {
            await initializer.InitializeAsync(ct);
        }

        var adminKey = app.Services.GetRequiredService<AdminKey>();
        app.Logger.LogInformation("Admin API under {Prefix}: send the X-Spillway-Admin-Key header; the key is in {Source}",
            "/_spillway/admin", adminKey.Source);
        await app.Services.GetRequiredService<FirstStart>().RunAsync(ct);
    }

    internal static async Task<Results<Ok<string>, ContentHttpResult>> HealthAsync(HealthCheckService health, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(ct);
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok("Healthy")
            : TypedResults.Text(report.Status.ToString(), "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
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
        app.MapAdminEndpoints();
        app.MapControlEndpoints();
        app.MapConsoleEndpoints();
        app.MapMarketoFallbacks();
        app.MapGet("/health", HealthAsync).WithTags("Operations").WithName("Health").WithSummary("Healthy when the stores answer.");
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }
}

/// <summary>Healthy when the stores answer.</summary>
internal sealed class StoreHealthCheck(IIdentityStore identity) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await identity.ListSubscriptionsAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("The store does not answer.", ex);
        }
    }
}
