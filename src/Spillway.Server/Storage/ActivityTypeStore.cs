namespace Spillway.Server.Storage;

/// <summary>
/// Custom activity types of a subscription (Marketo's Custom Activities Metadata API). A type has an approved
/// (live) version, a draft version, or both; every change is made to the draft and goes live on approve.
/// Every write is a compare-and-set on <see cref="CustomActivityTypeRecord.Revision"/>, so two concurrent edits never
/// both win.
/// </summary>
public interface IActivityTypeStore
{
    /// <summary>The subscription's custom types, ordered by id.</summary>
    Task<IReadOnlyList<CustomActivityTypeRecord>> ListAsync(int subscriptionId, CancellationToken ct);

    /// <summary>The type with this API name (case-insensitive), or null.</summary>
    Task<CustomActivityTypeRecord?> FindAsync(int subscriptionId, string apiName, CancellationToken ct);

    /// <summary>
    /// Creates a draft-only type. Atomically checks that the subscription has fewer than <paramref name="maxTypes"/>
    /// types and that no type has the same API name (case-insensitive); the new id is one above the highest id the
    /// subscription ever used, and at least <see cref="CustomActivityTypeRecord.FirstId"/> (ids are never reused).
    /// </summary>
    Task<(CreateTypeOutcome Outcome, CustomActivityTypeRecord? Type)> CreateAsync(int subscriptionId, string apiName,
        CustomActivityTypeVersion draft, int maxTypes, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Replaces the approved and draft versions of an existing type if its stored revision is still
    /// <paramref name="expectedRevision"/>; bumps the revision and sets updatedAt. Returns the stored record, or null
    /// when the type is gone or was changed meanwhile.
    /// </summary>
    Task<CustomActivityTypeRecord?> SaveAsync(int subscriptionId, string apiName, long expectedRevision,
        CustomActivityTypeVersion? approved, CustomActivityTypeVersion? draft, DateTimeOffset now, CancellationToken ct);

    /// <summary>Deletes the type; false when there is none with that API name.</summary>
    Task<bool> DeleteAsync(int subscriptionId, string apiName, CancellationToken ct);

    /// <summary>Deletes every custom type of a subscription (admin reset).</summary>
    Task<int> DeleteSubscriptionTypesAsync(int subscriptionId, CancellationToken ct);
}

public enum CreateTypeOutcome
{
    Created,
    /// <summary>The subscription already has the maximum number of types (1027).</summary>
    LimitReached,
    /// <summary>A type with this API name exists.</summary>
    DuplicateApiName,
}

/// <summary>An attribute of a custom activity type.</summary>
/// <param name="ApiName">The API name: the key of updates and of <c>apiName</c> in added activities.</param>
/// <param name="Name">The display name: the key in the export's <c>attributes</c> JSON.</param>
/// <param name="Description">An optional description.</param>
/// <param name="DataType">string, boolean, integer, float, link, email, currency, date, datetime, phone or text.</param>
public sealed record CustomAttributeDefinition(string ApiName, string Name, string? Description, string DataType);

/// <summary>One version (approved or draft) of a custom activity type.</summary>
public sealed record CustomActivityTypeVersion(
    string Name,
    string? Description,
    string TriggerName,
    string FilterName,
    CustomAttributeDefinition PrimaryAttribute,
    IReadOnlyList<CustomAttributeDefinition> Attributes);

/// <summary>A stored custom activity type.</summary>
public sealed record CustomActivityTypeRecord(
    int Id,
    int SubscriptionId,
    string ApiName,
    CustomActivityTypeVersion? Approved,
    CustomActivityTypeVersion? Draft,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision)
{
    /// <summary>The id of a subscription's first custom type (Marketo's documented example, 100001; custom ids are &gt;= 100000).</summary>
    public const int FirstId = 100001;

    /// <summary>The version clients see by default: the approved one, else the draft.</summary>
    public CustomActivityTypeVersion Current => Approved ?? Draft ?? throw new InvalidOperationException("A type has at least one version.");
}

/// <summary>How a provider stores a <see cref="CustomActivityTypeVersion"/> as text (JSON, camelCase).</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CustomActivityTypeVersion))]
public sealed partial class CustomActivityTypeJson : System.Text.Json.Serialization.JsonSerializerContext
{
    public static string Serialize(CustomActivityTypeVersion? version) =>
        version is null ? "" : System.Text.Json.JsonSerializer.Serialize(version, Default.CustomActivityTypeVersion);

    public static CustomActivityTypeVersion? Deserialize(string? json) =>
        string.IsNullOrEmpty(json) ? null : System.Text.Json.JsonSerializer.Deserialize(json, Default.CustomActivityTypeVersion);
}
