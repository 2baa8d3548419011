using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using Spillway.Server.Admin;

namespace Spillway.Server;

/// <summary>
/// The OpenAPI document's rules, applied to every mapped endpoint so a new endpoint needs nothing but a name and a
/// summary: the security scheme follows from the path (Marketo paths take the access token, admin paths the admin
/// key), and the 200 body's schema follows from the handler's declared return type (<c>JsonHttpResult&lt;T&gt;</c>,
/// <c>Ok&lt;T&gt;</c> or a <c>Results&lt;…&gt;</c> holding one).
/// </summary>
internal static class SpillwayOpenApi
{
    /// <summary>The Marketo access token in the Authorization header.</summary>
    public const string BearerScheme = "marketoBearer";

    /// <summary>The Marketo access token as the <c>access_token</c> query parameter.</summary>
    public const string QueryTokenScheme = "marketoAccessToken";

    /// <summary>The admin key header of the admin and controls API.</summary>
    public const string AdminKeyScheme = "spillwayAdminKey";

    /// <summary>Where the interactive API reference page is served.</summary>
    public const string ReferencePath = "/_spillway/reference";

    /// <summary>Where the OpenAPI document is served ({documentName} is v1).</summary>
    public const string DocumentPattern = "/openapi/{documentName}.json";

    /// <summary>
    /// The interactive reference (Scalar) over the OpenAPI document. It must work on a machine without internet access:
    /// the script comes from the package through the server itself, and the CDN fonts and the usage telemetry are off.
    /// </summary>
    public static void MapApiReference(this IEndpointRouteBuilder app) =>
        app.MapScalarApiReference(ReferencePath, options => options
            .WithTitle("Spillway API reference")
            .WithOpenApiRoutePattern(DocumentPattern)
            .AddDocument("v1")
            .DisableDefaultFonts()
            .DisableTelemetry());

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Spillway",
                Version = "v1",
                Description = "Adobe Marketo's identity, bulk extract and REST endpoints as Marketo answers them, and Spillway's admin API.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The access_token from /identity/oauth/token, sent as Authorization: Bearer <token>.",
            };
            document.Components.SecuritySchemes[QueryTokenScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Query,
                Name = "access_token",
                Description = "The access_token from /identity/oauth/token, sent as the access_token query parameter.",
            };
            document.Components.SecuritySchemes[AdminKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = AdminEndpoints.KeyHeader,
                Description = "The admin key (configuration Spillway:AdminKey, or the key file written at first start).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer(TransformOperationAsync);
    }

    private static async Task TransformOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var path = "/" + (context.Description.RelativePath ?? string.Empty).TrimStart('/');
        operation.Security ??= [];
        if (path.StartsWith(AdminEndpoints.Prefix + "/", StringComparison.Ordinal))
        {
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(AdminKeyScheme, context.Document)] = [] });
        }
        else if (path.StartsWith("/rest/", StringComparison.Ordinal) || path.StartsWith("/bulk/", StringComparison.Ordinal))
        {
            // Either one satisfies Marketo: two requirement objects are alternatives.
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(QueryTokenScheme, context.Document)] = [] });
        }

        operation.Summary ??= context.Description.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName;
        operation.Responses ??= [];
        if (operation.Responses.TryGetValue("200", out var existing) && existing.Content is { Count: > 0 } content
            && content.Values.All(media => media.Schema is not null))
        {
            return;
        }

        var method = context.Description.ActionDescriptor.EndpointMetadata.OfType<MethodInfo>().FirstOrDefault();
        var (mediaType, bodyType) = method is null ? ("application/json", null) : BodyOf(method.ReturnType);
        IOpenApiSchema schema = bodyType is null
            ? new OpenApiSchema { Type = JsonSchemaType.String, Format = mediaType == "application/json" ? null : "binary" }
            : await context.GetOrCreateSchemaAsync(bodyType, null, ct);
        operation.Responses["200"] = new OpenApiResponse
        {
            Description = "OK",
            Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new OpenApiMediaType { Schema = schema } },
        };
    }

    /// <summary>The media type and body type of a handler's 200 answer, read from its declared return type.</summary>
    internal static (string MediaType, Type? Body) BodyOf(Type returnType)
    {
        var type = returnType;
        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            type = type.GetGenericArguments()[0];
        }

        if (type.IsGenericType)
        {
            var definition = type.GetGenericTypeDefinition();
            if (definition == typeof(JsonHttpResult<>) || definition == typeof(Ok<>))
            {
                return ("application/json", type.GetGenericArguments()[0]);
            }

            if (definition.FullName?.StartsWith("Microsoft.AspNetCore.Http.HttpResults.Results`", StringComparison.Ordinal) == true)
            {
                foreach (var option in type.GetGenericArguments())
                {
                    if (BodyOf(option) is { Body: not null } found)
                    {
                        return found;
                    }
                }

                return ("application/octet-stream", null);
            }
        }

        if (type == typeof(string))
        {
            return ("text/plain", typeof(string));
        }

        // Files, streams and hand-written results: bytes whose type the answer's Content-Type header names.
        return ("application/octet-stream", null);
    }
}
