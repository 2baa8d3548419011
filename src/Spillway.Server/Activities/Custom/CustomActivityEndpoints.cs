using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Custom;

/// <summary>
/// Marketo's Custom Activities Metadata API (list, describe, create, update, approve, discard draft, delete, and the
/// attribute calls) and Add Custom Activities (<c>POST /rest/v1/activities/external.json</c>), per subscription.
/// </summary>
internal static class CustomActivityEndpoints
{
    public static RouteGroupBuilder MapCustomActivityEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1/activities").WithTags("Activities").AddEndpointFilter<ApiAccessFilter>();
        var read = new RequiresPermission(Permissions.ReadOnlyActivityMetadata);
        var write = new RequiresPermission(Permissions.ReadWriteActivityMetadata);

        rest.MapGet("/external/types.json", ListAsync).WithName("getCustomActivityTypeUsingGET")
            .WithSummary("Get Custom Activity Types").WithMetadata(read);
        rest.MapGet("/external/type/{apiName}/describe.json", DescribeAsync).WithName("describeCustomActivityTypeUsingGET")
            .WithSummary("Describe Custom Activity Type").WithMetadata(read);
        rest.MapPost("/external/type.json", CreateAsync).WithName("createCustomActivityTypeUsingPOST")
            .WithSummary("Create Custom Activity Type").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}.json", UpdateAsync).WithName("updateCustomActivityTypeUsingPOST")
            .WithSummary("Update Custom Activity Type").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/approve.json", ApproveAsync).WithName("approveCustomActivityTypeUsingPOST")
            .WithSummary("Approve Custom Activity Type").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/discardDraft.json", DiscardDraftAsync).WithName("discardDraftCustomActivityTypeUsingPOST")
            .WithSummary("Discard Custom Activity Type Draft").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/delete.json", DeleteAsync).WithName("deleteCustomActivityTypeUsingPOST")
            .WithSummary("Delete Custom Activity Type").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/attributes/create.json", AddAttributesAsync).WithName("addAttributesToCustomActivityTypeUsingPOST")
            .WithSummary("Create Custom Activity Type Attributes").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/attributes/update.json", UpdateAttributesAsync).WithName("updateAttributesCustomActivityTypeUsingPOST")
            .WithSummary("Update Custom Activity Type Attributes").WithMetadata(write);
        rest.MapPost("/external/type/{apiName}/attributes/delete.json", RemoveAttributesAsync).WithName("deleteAttributesFromCustomActivityTypeUsingPOST")
            .WithSummary("Delete Custom Activity Type Attributes").WithMetadata(write);
        rest.MapPost("/external.json", AddActivitiesAsync).WithName("addCustomActivityUsingPOST")
            .WithSummary("Add Custom Activities").WithMetadata(new RequiresPermission(Permissions.ReadWriteActivity));
        return rest;
    }

    internal static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> ListAsync(HttpContext context,
        [FromServices] IActivityTypeStore store)
    {
        var types = await store.ListAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return Ok(context, [.. types.Select(t => CustomActivityTypeView.From(t, t.Current, describe: false))]);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> DescribeAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store)
    {
        var type = await store.FindAsync(ApiCaller.Of(context).Subscription.Id, apiName, context.RequestAborted);
        if (type is null)
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        var draft = string.Equals(context.Request.Query["draft"], "true", StringComparison.OrdinalIgnoreCase);
        var version = draft ? type.Draft ?? type.Current : type.Current;
        return Ok(context, [CustomActivityTypeView.From(type, version, describe: true)]);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> CreateAsync(HttpContext context,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock)
    {
        var caller = ApiCaller.Of(context);
        var (document, bodyError) = await ReadJsonAsync(context);
        if (document is null)
        {
            return Fail(context, bodyError!);
        }

        using (document)
        {
            var body = document.RootElement;
            if (body.ValueKind != JsonValueKind.Object)
            {
                return Fail(context, CustomActivityTypeRules.Invalid("body", "the request body must be a JSON object"));
            }

            var apiName = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("apiName", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString()!.Trim() : null;
            if (CustomActivityTypeRules.CheckApiName(apiName) is { } apiError)
            {
                return Fail(context, apiError);
            }

            var (version, error) = CustomActivityTypeRules.ReadType(body, current: null);
            if (version is null)
            {
                return Fail(context, error!);
            }

            var others = await store.ListAsync(caller.Subscription.Id, context.RequestAborted);
            if (others.Count >= CustomActivityTypeRules.MaxTypes)
            {
                return Fail(context, CustomActivityTypeRules.MaxTypesReached);
            }

            if (CustomActivityTypeRules.CheckUnique(version, apiName!, others) is { } unique)
            {
                return Fail(context, unique);
            }

            var (outcome, type) = await store.CreateAsync(caller.Subscription.Id, apiName!, version, CustomActivityTypeRules.MaxTypes,
                Second(clock.NowOf(caller.Subscription.Id)), context.RequestAborted);
            switch (outcome)
            {
                case CreateTypeOutcome.LimitReached:
                    return Fail(context, CustomActivityTypeRules.MaxTypesReached);
                case CreateTypeOutcome.DuplicateApiName:
                    return Fail(context, CustomActivityTypeRules.Invalid("apiName", $"'{apiName}' already exists"));
            }

            registry.Invalidate(caller.Subscription.Id);
            return Ok(context, [CustomActivityTypeView.From(type!, type!.Draft!, describe: true)]);
        }
    }

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> UpdateAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditDraftWithBodyAsync(context, apiName, store, registry, clock, checkUnique: true,
            (body, draft) => CustomActivityTypeRules.ReadType(body, draft));

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> AddAttributesAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditDraftWithBodyAsync(context, apiName, store, registry, clock, checkUnique: false, (body, draft) =>
        {
            var (items, error) = CustomActivityTypeRules.ReadAttributeList(body);
            return items is null ? (null, error) : CustomActivityTypeRules.AddAttributes(draft, items);
        });

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> UpdateAttributesAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditDraftWithBodyAsync(context, apiName, store, registry, clock, checkUnique: false, (body, draft) =>
        {
            var (items, error) = CustomActivityTypeRules.ReadAttributeList(body);
            return items is null ? (null, error) : CustomActivityTypeRules.UpdateAttributes(draft, items);
        });

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> RemoveAttributesAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditDraftWithBodyAsync(context, apiName, store, registry, clock, checkUnique: false, (body, draft) =>
        {
            var (items, error) = CustomActivityTypeRules.ReadAttributeList(body);
            return items is null ? (null, error) : CustomActivityTypeRules.RemoveAttributes(draft, items);
        });

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> ApproveAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditAsync(context, apiName, store, registry, clock, type => type.Draft is null
            ? (null, null, CustomActivityTypeRules.BusinessRule($"Activity type '{type.ApiName}' has no draft to approve"))
            : (type.Draft, null, null));

    internal static Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> DiscardDraftAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock) =>
        EditAsync(context, apiName, store, registry, clock, type => type switch
        {
            { Draft: null } => (null, null, CustomActivityTypeRules.BusinessRule($"Activity type '{type.ApiName}' has no draft to discard")),
            { Approved: null } => (null, null, CustomActivityTypeRules.BusinessRule(
                $"Activity type '{type.ApiName}' has never been approved: delete it instead of discarding its draft")),
            _ => (type.Approved, null, null),
        });

    internal static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> DeleteAsync(HttpContext context, string apiName,
        [FromServices] IActivityTypeStore store, ActivityTypeRegistry registry)
    {
        var caller = ApiCaller.Of(context);
        var type = await store.FindAsync(caller.Subscription.Id, apiName, context.RequestAborted);
        if (type is null || !await store.DeleteAsync(caller.Subscription.Id, type.ApiName, context.RequestAborted))
        {
            return Fail(context, MarketoErrors.NotFound);
        }

        registry.Invalidate(caller.Subscription.Id);
        return Ok(context, [new CustomActivityTypeView { Id = type.Id, ApiName = type.ApiName }]);
    }

    internal static Task<JsonHttpResult<MarketoResponse<AddedActivityResult>>> AddActivitiesAsync(HttpContext context,
        [FromServices] IActivityWriter writer, ActivityTypeRegistry registry, [FromServices] ILeadStore leads) =>
        CustomActivityInput.AddAsync(context, writer, registry, leads);

    /// <summary>
    /// Reads the body as JSON: 612 without a JSON content type, 609 when it does not parse; unless
    /// <paramref name="checkText"/> is false (the caller checks per record), 609 or 1003 when a string is not text.
    /// </summary>
    internal static async Task<(JsonDocument? Document, MarketoError? Error)> ReadJsonAsync(HttpContext context, bool checkText = true)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, MarketoErrors.InvalidContentType);
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
        }
        catch (JsonException)
        {
            return (null, MarketoErrors.InvalidJson);
        }

        if (checkText && JsonText.ApiError(document.RootElement) is { } textError)
        {
            document.Dispose();
            return (null, textError);
        }

        return (document, null);
    }

    /// <summary>Changes the draft (a copy of the approved version when there is none) from the request body.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> EditDraftWithBodyAsync(HttpContext context, string apiName,
        IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock, bool checkUnique,
        Func<JsonElement, CustomActivityTypeVersion, (CustomActivityTypeVersion?, MarketoError?)> change)
    {
        var (document, bodyError) = await ReadJsonAsync(context);
        if (document is null)
        {
            return Fail(context, bodyError!);
        }

        using (document)
        {
            var body = document.RootElement;
            IReadOnlyList<CustomActivityTypeRecord>? others = checkUnique
                ? await store.ListAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted)
                : null;
            return await EditAsync(context, apiName, store, registry, clock, type =>
            {
                var (draft, error) = change(body, type.Draft ?? type.Approved!);
                if (draft is null)
                {
                    return (null, null, error);
                }

                if (others is not null && CustomActivityTypeRules.CheckUnique(draft, type.ApiName, others) is { } unique)
                {
                    return (null, null, unique);
                }

                return (type.Approved, draft, null);
            });
        }
    }

    /// <summary>Applies a change to a type (compare-and-set, retried when a concurrent edit won) and answers with the version it leaves current.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<CustomActivityTypeView>>> EditAsync(HttpContext context, string apiName,
        IActivityTypeStore store, ActivityTypeRegistry registry, ISubscriptionClock clock,
        Func<CustomActivityTypeRecord, (CustomActivityTypeVersion? Approved, CustomActivityTypeVersion? Draft, MarketoError? Error)> change)
    {
        var caller = ApiCaller.Of(context);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var type = await store.FindAsync(caller.Subscription.Id, apiName, context.RequestAborted);
            if (type is null)
            {
                return Fail(context, MarketoErrors.NotFound);
            }

            var (approved, draft, error) = change(type);
            if (error is not null)
            {
                return Fail(context, error);
            }

            var saved = await store.SaveAsync(caller.Subscription.Id, type.ApiName, type.Revision, approved, draft, Second(clock.NowOf(caller.Subscription.Id)),
                context.RequestAborted);
            if (saved is not null)
            {
                registry.Invalidate(caller.Subscription.Id);
                return Ok(context, [CustomActivityTypeView.From(saved, saved.Draft ?? saved.Current, describe: true)]);
            }
        }

        return Fail(context, MarketoErrors.SystemError);
    }

    private static DateTimeOffset Second(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static JsonHttpResult<MarketoResponse<CustomActivityTypeView>> Ok(HttpContext context, IReadOnlyList<CustomActivityTypeView> result) =>
        MarketoHttp.Success(context, result, ServerJsonContext.Wire.MarketoResponseCustomActivityTypeView);

    private static JsonHttpResult<MarketoResponse<CustomActivityTypeView>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, ServerJsonContext.Wire.MarketoResponseCustomActivityTypeView);
}
