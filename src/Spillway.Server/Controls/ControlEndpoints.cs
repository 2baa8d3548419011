using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Spillway.Server.Admin;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Controls;

/// <summary>A job as the manual controls answer it (the Marketo wire view plus its subscription).</summary>
public sealed record ControlledJobView(string ExportId, string Status, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    long? NumberOfRecords, long? FileSize, string? FileChecksum, string? ErrorMsg);

/// <summary>
/// The test-rig controls under the admin prefix (closed without the admin key): reset, a subscription's clock, job
/// progression and manual job moves, fault rules, and the request log. See docs/controls.md.
/// </summary>
internal static class ControlEndpoints
{
    public static RouteGroupBuilder MapControlEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup(AdminEndpoints.Prefix).WithTags("Admin: controls").AddEndpointFilter<AdminKeyFilter>();
        admin.MapPost("/subscriptions/{munchkinId}/reset", ResetAsync).WithName("AdminResetSubscription");
        admin.MapGet("/subscriptions/{munchkinId}/clock", GetClockAsync).WithName("AdminGetSubscriptionClock");
        admin.MapPost("/subscriptions/{munchkinId}/clock", SetClockAsync).WithName("AdminSetSubscriptionClock");
        admin.MapGet("/subscriptions/{munchkinId}/progression", GetProgressionAsync).WithName("AdminGetProgression");
        admin.MapPut("/subscriptions/{munchkinId}/progression", SetProgressionAsync).WithName("AdminSetProgression");
        admin.MapPost("/jobs/{exportId}/start", (string exportId, JobControls jobs, CancellationToken ct) =>
            MoveAsync(exportId, id => jobs.StartAsync(id, ct))).WithName("AdminStartJob");
        admin.MapPost("/jobs/{exportId}/complete", (string exportId, JobControls jobs, CancellationToken ct) =>
            MoveAsync(exportId, id => jobs.CompleteAsync(id, ct))).WithName("AdminCompleteJob");
        admin.MapPost("/jobs/{exportId}/fail", (string exportId, JobControlBody? body, JobControls jobs, CancellationToken ct) =>
            MoveAsync(exportId, id => jobs.FailAsync(id, string.IsNullOrEmpty(body?.ErrorMsg) ? "Export failed" : body.ErrorMsg, ct)))
            .WithName("AdminFailJob");
        admin.MapGet("/subscriptions/{munchkinId}/faults", ListFaultsAsync).WithName("AdminListFaults");
        admin.MapPost("/subscriptions/{munchkinId}/faults", AddFaultAsync).WithName("AdminAddFault");
        admin.MapDelete("/subscriptions/{munchkinId}/faults", ClearFaultsAsync).WithName("AdminClearFaults");
        admin.MapDelete("/subscriptions/{munchkinId}/faults/{ruleId}", RemoveFaultAsync).WithName("AdminRemoveFault");
        admin.MapGet("/subscriptions/{munchkinId}/requests", RequestsAsync).WithName("AdminRequestLog");
        admin.MapDelete("/subscriptions/{munchkinId}/requests", ClearRequestsAsync).WithName("AdminClearRequestLog");
        return admin;
    }

    internal static async Task<Results<Ok<ResetView>, ProblemHttpResult>> ResetAsync(string munchkinId, JobControls jobs, CancellationToken ct) =>
        await jobs.ResetAsync(munchkinId, ct) is { } view ? TypedResults.Ok(view) : NoSubscription(munchkinId);

    internal static async Task<Results<Ok<SubscriptionClockView>, ProblemHttpResult>> GetClockAsync(string munchkinId, IIdentityStore identity,
        SubscriptionControls controls, SpillwayClock clock, CancellationToken ct) =>
        await Find(identity, munchkinId, ct) is { } s ? TypedResults.Ok(ClockOf(s, controls, clock)) : NoSubscription(munchkinId);

    internal static async Task<Results<Ok<SubscriptionClockView>, ProblemHttpResult>> SetClockAsync(string munchkinId, SubscriptionClockBody body,
        IIdentityStore identity, SubscriptionControls controls, SpillwayClock clock, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        if (body.AdvanceSeconds is { } seconds && (!double.IsFinite(seconds) || Math.Abs(seconds) >= 100 * 365 * 86400.0))
        {
            return TypedResults.Problem("advanceSeconds is a finite number of seconds under 100 years.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (body.Now is { } wanted && !SpillwayClock.InRange(wanted))
        {
            return TypedResults.Problem(SpillwayClock.OutOfRangeMessage, statusCode: StatusCodes.Status400BadRequest);
        }

        await controls.ChangeClockAsync(s.Id, body.Reset, body.Now, body.AdvanceSeconds is { } advance ? TimeSpan.FromSeconds(advance) : null, ct);

        return TypedResults.Ok(ClockOf(s, controls, clock));
    }

    internal static async Task<Results<Ok<ProgressionSettings>, ProblemHttpResult>> GetProgressionAsync(string munchkinId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct) =>
        await Find(identity, munchkinId, ct) is { } s ? TypedResults.Ok(controls.ProgressionOf(s.Id)) : NoSubscription(munchkinId);

    internal static async Task<Results<Ok<ProgressionSettings>, ProblemHttpResult>> SetProgressionAsync(string munchkinId, ProgressionBody body,
        IIdentityStore identity, SubscriptionControls controls, JobControls jobs, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        if (!Enum.TryParse<ProgressionMode>(body.Mode, ignoreCase: true, out var mode) || !Enum.IsDefined(mode) || int.TryParse(body.Mode, out _))
        {
            return TypedResults.Problem("mode is immediate, realistic or manual.", statusCode: StatusCodes.Status400BadRequest);
        }

        var latency = body.StartLatencySeconds ?? (mode == ProgressionMode.Realistic ? 30 : 0);
        var refresh = body.StatusRefreshSeconds ?? (mode == ProgressionMode.Realistic ? 60 : 0);
        if (!double.IsFinite(latency) || !double.IsFinite(refresh) || latency is < 0 or > 86400 || refresh is < 0 or > 86400)
        {
            return TypedResults.Problem("startLatencySeconds and statusRefreshSeconds are from 0 to 86400.", statusCode: StatusCodes.Status400BadRequest);
        }

        var settings = mode == ProgressionMode.Realistic ? new ProgressionSettings(mode, latency, refresh) : new ProgressionSettings(mode);
        await controls.SetProgressionAsync(s.Id, settings, ct);
        await jobs.ReleaseDueAsync(ct); // leaving manual mode releases the held jobs at once
        return TypedResults.Ok(settings);
    }

    internal static async Task<Results<Ok<ControlledJobView>, ProblemHttpResult>> MoveAsync(string exportId, Func<Guid, Task<JobControlResult>> move)
    {
        if (!ExportIds.TryParse(exportId, out var id))
        {
            return TypedResults.Problem($"No export job {exportId}.", statusCode: StatusCodes.Status404NotFound);
        }

        var result = await move(id);
        if (result.Job is not { } job)
        {
            return TypedResults.Problem(result.Error, statusCode: result.Status);
        }

        var view = ExportJobView.From(job);
        return TypedResults.Ok(new ControlledJobView(view.ExportId, view.Status, view.StartedAt, view.FinishedAt, view.NumberOfRecords,
            view.FileSize, view.FileChecksum, view.ErrorMsg));
    }

    internal static async Task<Results<Ok<List<FaultRuleView>>, ProblemHttpResult>> ListFaultsAsync(string munchkinId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct) =>
        await Find(identity, munchkinId, ct) is { } s
            ? TypedResults.Ok((await controls.RuleViewsAsync(s.Id, ct)).ToList())
            : NoSubscription(munchkinId);

    internal static async Task<Results<Created<FaultRuleView>, ProblemHttpResult>> AddFaultAsync(string munchkinId, FaultRuleBody body,
        IIdentityStore identity, SubscriptionControls controls, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        var (rule, error) = FaultRule.Create(body);
        if (rule is null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest);
        }

        if (!await controls.AddRuleAsync(s.Id, rule, ct))
        {
            return TypedResults.Problem($"A subscription holds at most {SubscriptionControls.MaxRules} fault rules.", statusCode: StatusCodes.Status409Conflict);
        }

        return TypedResults.Created($"{AdminEndpoints.Prefix}/subscriptions/{s.MunchkinId}/faults/{rule.Id}", rule.View());
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RemoveFaultAsync(string munchkinId, string ruleId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        return await controls.RemoveRuleAsync(s.Id, ruleId, ct)
            ? TypedResults.NoContent()
            : TypedResults.Problem($"No fault rule {ruleId}.", statusCode: StatusCodes.Status404NotFound);
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> ClearFaultsAsync(string munchkinId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        await controls.ClearRulesAsync(s.Id, ct);
        return TypedResults.NoContent();
    }

    internal static async Task<Results<Ok<IReadOnlyList<RequestLogEntry>>, ProblemHttpResult>> RequestsAsync(string munchkinId, long? after,
        int? limit, IIdentityStore identity, SubscriptionControls controls, CancellationToken ct) =>
        await Find(identity, munchkinId, ct) is { } s
            ? TypedResults.Ok(await controls.RequestsOfAsync(s.Id, after ?? 0, Math.Clamp(limit ?? SubscriptionControls.RequestLogCapacity, 1, SubscriptionControls.RequestLogCapacity), ct))
            : NoSubscription(munchkinId);

    internal static async Task<Results<NoContent, ProblemHttpResult>> ClearRequestsAsync(string munchkinId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct)
    {
        if (await Find(identity, munchkinId, ct) is not { } s)
        {
            return NoSubscription(munchkinId);
        }

        await controls.ClearRequestsAsync(s.Id, ct);
        return TypedResults.NoContent();
    }

    private static SubscriptionClockView ClockOf(Subscription s, SubscriptionControls controls, SpillwayClock clock) =>
        new(s.MunchkinId, controls.NowOf(s.Id), controls.OffsetOf(s.Id).TotalSeconds, clock.Offset.TotalSeconds);

    /// <summary>The subscription, without asking the store about ids that cannot be one (NUL bytes upset PostgreSQL).</summary>
    private static Task<Subscription?> Find(IIdentityStore identity, string munchkinId, CancellationToken ct) =>
        munchkinId.Length is 0 or > 64 || munchkinId.Any(char.IsControl) ? Task.FromResult<Subscription?>(null) : identity.FindSubscriptionAsync(munchkinId, ct);

    private static ProblemHttpResult NoSubscription(string munchkinId) =>
        TypedResults.Problem($"No subscription {munchkinId}.", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>Registers the controls.</summary>
public static class ControlsRegistration
{
    /// <summary>
    /// Adds the controls, and puts them in the engine's place for a subscription's clock and for the interventions in
    /// its jobs (holds, injected failures, status refresh), replacing the plain defaults.
    /// </summary>
    public static IServiceCollection AddSpillwayControls(this IServiceCollection services)
    {
        services.AddSingleton<SubscriptionControls>();
        services.Replace(ServiceDescriptor.Singleton<ISubscriptionClock>(sp => sp.GetRequiredService<SubscriptionControls>()));
        services.Replace(ServiceDescriptor.Singleton<IExportInterventions>(sp => sp.GetRequiredService<SubscriptionControls>()));
        services.AddSingleton<ControlledCalls>();
        services.Replace(ServiceDescriptor.Singleton<IApiCallInterventions>(sp => sp.GetRequiredService<ControlledCalls>()));
        services.AddSingleton<JobControls>();
        services.AddHostedService<ProgressionReleaser>();
        services.AddHostedService<ControlReplication>();
        return services;
    }
}
