using System.Text.Json.Serialization;

namespace Spillway.Server.Storage;

/// <summary>JSON of values stored in text columns by every provider.</summary>
[JsonSerializable(typeof(SubscriptionLimitOverrides))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class StorageJson : JsonSerializerContext;
