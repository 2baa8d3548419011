using System.Text.Json.Serialization;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;
using Spillway.Server.Activities.Custom;

namespace Spillway.Server.Activities;

/// <summary>Source-generated JSON for wire shapes that live in the server, with the same conventions as <see cref="MarketoJsonContext"/>.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(MarketoDateTimeConverter)])]
[JsonSerializable(typeof(MarketoResponse<LeadField>))]
[JsonSerializable(typeof(MarketoResponse<CustomActivityTypeView>))]
[JsonSerializable(typeof(MarketoResponse<AddedActivityResult>))]
[JsonSerializable(typeof(MarketoResponse<LeadActivity>))]
internal sealed partial class ServerJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="MarketoJsonContext.Wire"/>: relaxed escaping, as Marketo writes text.</summary>
    public static ServerJsonContext Wire { get; } = new(new System.Text.Json.JsonSerializerOptions(MarketoJsonContext.Wire.Options) { TypeInfoResolver = null });
}
