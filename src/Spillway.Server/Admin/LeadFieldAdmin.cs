using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Server.Storage;

namespace Spillway.Server.Admin;

public sealed record AddLeadFieldBody(string? Name, string? DisplayName, string? DataType);

/// <summary>
/// Custom lead fields of a subscription: defined here (admin API and <c>spillway lead-field</c>), then listed by
/// Describe Lead, written by Sync Leads, read by Get Leads and the Bulk Lead Extract like standard fields. A field is
/// never removed or retyped, so values already stored always match its type.
/// </summary>
public static class LeadFieldAdmin
{
    /// <summary>Why a definition failed, with the HTTP status the admin API answers it with.</summary>
    public sealed record Failure(string Detail, int Status);

    public static async Task<(IReadOnlyList<LeadField>? Fields, Failure? Error)> ListAsync(IIdentityStore identity, ILeadFieldStore fields,
        string munchkinId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(fields);
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        return subscription is null
            ? (null, new Failure($"No subscription {munchkinId}.", StatusCodes.Status404NotFound))
            : (await fields.ListCustomFieldsAsync(subscription.Id, ct), null);
    }

    /// <summary>
    /// Defines a custom field. The display name defaults to the name. Refused (400) for a name that is not an
    /// identifier or is a standard field's, a bad display name or an unknown type; 409 when the name is taken.
    /// </summary>
    public static async Task<(LeadField? Field, Failure? Error)> AddAsync(IIdentityStore identity, ILeadFieldStore fields, TimeProvider clock,
        string munchkinId, string? name, string? displayName, string? dataType, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(clock);
        var subscription = await identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            return (null, new Failure($"No subscription {munchkinId}.", StatusCodes.Status404NotFound));
        }

        if (LeadCustomFields.Validate(name, displayName, dataType) is { } invalid)
        {
            return (null, new Failure(invalid, StatusCodes.Status400BadRequest));
        }

        var added = await fields.AddCustomFieldAsync(subscription.Id, name!, displayName ?? name!, dataType!, clock.GetUtcNow(), ct);
        return added is null
            ? (null, new Failure($"Subscription {subscription.MunchkinId} already has a lead field named '{name}'.", StatusCodes.Status409Conflict))
            : (added, null);
    }

    public static RouteGroupBuilder MapLeadFieldAdmin(this RouteGroupBuilder admin)
    {
        admin.MapGet("/subscriptions/{munchkinId}/lead-fields", ListEndpointAsync).WithName("AdminListLeadFields");
        admin.MapPost("/subscriptions/{munchkinId}/lead-fields", AddEndpointAsync).WithName("AdminAddLeadField");
        return admin;
    }

    internal static async Task<Results<Ok<IReadOnlyList<LeadField>>, ProblemHttpResult>> ListEndpointAsync(string munchkinId, IIdentityStore identity,
        ILeadFieldStore fields, CancellationToken ct)
    {
        var (list, error) = await ListAsync(identity, fields, munchkinId, ct);
        return list is not null ? TypedResults.Ok(list) : TypedResults.Problem(error!.Detail, statusCode: error.Status);
    }

    internal static async Task<Results<Created<LeadField>, ProblemHttpResult>> AddEndpointAsync(string munchkinId, AddLeadFieldBody? body,
        IIdentityStore identity, ILeadFieldStore fields, TimeProvider clock, CancellationToken ct)
    {
        if (body is null)
        {
            return TypedResults.Problem("The body must be a JSON object with name, displayName and dataType.", statusCode: StatusCodes.Status400BadRequest);
        }

        var (field, error) = await AddAsync(identity, fields, clock, munchkinId, body.Name, body.DisplayName, body.DataType, ct);
        return field is not null
            ? TypedResults.Created($"{AdminEndpoints.Prefix}/subscriptions/{munchkinId}/lead-fields", field)
            : TypedResults.Problem(error!.Detail, statusCode: error.Status);
    }
}
