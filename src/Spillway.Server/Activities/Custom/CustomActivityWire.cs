using System.Text.Json;
using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Custom;

/// <summary>A custom activity type as the metadata endpoints return it (members in the order of Marketo's examples).</summary>
public sealed record CustomActivityTypeView
{
    public int? Id { get; init; }
    public string? ApiName { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? TriggerName { get; init; }
    public string? FilterName { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public string? Status { get; init; }
    public CustomAttributeView? PrimaryAttribute { get; init; }
    public IReadOnlyList<CustomAttributeView>? Attributes { get; init; }

    /// <summary>Marketo's status words: <c>draft</c>, <c>approved</c>, <c>approved with draft</c>.</summary>
    public static string StatusOf(CustomActivityTypeRecord type) =>
        type.Approved is null ? "draft" : type.Draft is null ? "approved" : "approved with draft";

    /// <summary>The type with one of its versions; <paramref name="describe"/> adds the attributes.</summary>
    public static CustomActivityTypeView From(CustomActivityTypeRecord type, CustomActivityTypeVersion version, bool describe) => new()
    {
        Id = type.Id,
        ApiName = type.ApiName,
        Name = version.Name,
        Description = version.Description,
        TriggerName = version.TriggerName,
        FilterName = version.FilterName,
        CreatedAt = type.CreatedAt,
        UpdatedAt = type.UpdatedAt,
        Status = StatusOf(type),
        PrimaryAttribute = describe ? CustomAttributeView.From(version.PrimaryAttribute) : null,
        Attributes = describe && version.Attributes.Count > 0 ? [.. version.Attributes.Select(CustomAttributeView.From)] : null,
    };
}

/// <summary>An attribute of a custom activity type on the wire.</summary>
public sealed record CustomAttributeView(string ApiName, string Name, string? Description, string DataType)
{
    public static CustomAttributeView From(CustomAttributeDefinition a) => new(a.ApiName, a.Name, a.Description, a.DataType);
}

/// <summary>The per-record result of Add Custom Activities.</summary>
public sealed record AddedActivityResult
{
    public long? Id { get; init; }

    [JsonPropertyName("marketoGUID")]
    public string? MarketoGuid { get; init; }

    public string Status { get; init; } = "";

    public IReadOnlyList<MarketoError>? Errors { get; init; }
}

/// <summary>An activity as Get Lead Activities and Get Deleted Leads return it.</summary>
public sealed record LeadActivity
{
    public long Id { get; init; }

    [JsonPropertyName("marketoGUID")]
    public string MarketoGuid { get; init; } = "";

    public long LeadId { get; init; }
    public DateTimeOffset ActivityDate { get; init; }
    public int ActivityTypeId { get; init; }
    public long? CampaignId { get; init; }
    public long? PrimaryAttributeValueId { get; init; }
    public string? PrimaryAttributeValue { get; init; }

    /// <summary>Get Lead Changes only: the changed lead fields.</summary>
    public IReadOnlyList<LeadFieldChange>? Fields { get; init; }

    public IReadOnlyList<ActivityAttributeValue> Attributes { get; init; } = [];
}

/// <summary>One attribute of an activity: its display name, the API name for custom types, and its typed value.</summary>
public sealed record ActivityAttributeValue
{
    public string? ApiName { get; init; }
    public string Name { get; init; } = "";
    public JsonElement Value { get; init; }
}

/// <summary>A changed lead field (Get Lead Changes).</summary>
public sealed record LeadFieldChange(int Id, string Name, JsonElement? NewValue, JsonElement? OldValue);
