using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The OpenAPI document: valid, complete against what the server maps, with schemas and security schemes.</summary>
public sealed class OpenApiTests
{
    private static async Task<OpenApiDocument> ReadDocumentAsync(SpillwayTestServer server)
    {
        var text = await server.Http.GetStringAsync("/openapi/v1.json");
        var result = OpenApiDocument.Parse(text, "json", new OpenApiReaderSettings());
        Assert.True(result.Diagnostic is null || result.Diagnostic.Errors.Count == 0,
            "Reader errors:\n" + string.Join('\n', result.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? []));
        Assert.NotNull(result.Document);
        return result.Document;
    }

    /// <summary>Every route the server maps, as (METHOD, path) pairs, less the ones hidden from the description (fallbacks).</summary>
    private static SortedSet<string> MappedRoutes(SpillwayTestServer server)
    {
        var routes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var source in server.Services.GetServices<EndpointDataSource>())
        {
            foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
            {
                if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true })
                {
                    continue;
                }

                var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
                foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                {
                    routes.Add($"{method} {path}");
                }
            }
        }

        return routes;
    }

    [Fact]
    public async Task The_document_validates_and_lists_every_mapped_route_with_a_200_schema()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var document = await ReadDocumentAsync(server);
        var errors = document.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(errors.Count == 0, "Validation errors:\n" + string.Join('\n', errors.Select(e => $"{e.Pointer}: {e.Message}")));

        var documented = new SortedSet<string>(StringComparer.Ordinal);
        var missingSchema = new List<string>();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                var key = $"{method.Method.ToUpperInvariant()} {path}";
                documented.Add(key);
                if (operation.Responses?.TryGetValue("200", out var ok) != true || ok!.Content is not { Count: > 0 } content
                    || content.Values.Any(media => media.Schema is null))
                {
                    missingSchema.Add(key);
                }

                Assert.False(string.IsNullOrEmpty(operation.OperationId), key + " has no operation id");
                Assert.False(string.IsNullOrEmpty(operation.Summary), key + " has no summary");
            }
        }

        var mapped = MappedRoutes(server);
        Assert.True(mapped.Count > 50, $"only {mapped.Count} routes found");
        Assert.Equal(mapped, documented);
        Assert.True(missingSchema.Count == 0, "No 200 schema:\n" + string.Join('\n', missingSchema));
    }

    [Fact]
    public async Task Marketo_operations_take_the_access_token_and_admin_operations_the_admin_key()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var document = await ReadDocumentAsync(server);
        var schemes = document.Components!.SecuritySchemes!;
        Assert.Equal(SecuritySchemeType.Http, schemes["marketoBearer"].Type);
        Assert.Equal("bearer", schemes["marketoBearer"].Scheme);
        Assert.Equal((ParameterLocation.Query, "access_token"), (schemes["marketoAccessToken"].In!.Value, schemes["marketoAccessToken"].Name));
        Assert.Equal((ParameterLocation.Header, "X-Spillway-Admin-Key"), (schemes["spillwayAdminKey"].In!.Value, schemes["spillwayAdminKey"].Name));

        string[] SchemesOf(string id) => [.. document.Paths.Values.SelectMany(p => p.Operations!.Values).Single(o => o.OperationId == id)
            .Security!.SelectMany(r => r.Keys).Select(k => k.Reference.Id!).Order()];

        Assert.Equal(["marketoAccessToken", "marketoBearer"], SchemesOf("createExportActivitiesUsingPOST"));
        Assert.Equal(["marketoAccessToken", "marketoBearer"], SchemesOf("getLeadByIdUsingGET"));
        Assert.Equal(["spillwayAdminKey"], SchemesOf("AdminListSubscriptions"));
        Assert.Equal(["spillwayAdminKey"], SchemesOf("AdminAddFault"));
        Assert.Empty(SchemesOf("Health"));

        // The create body's answer is Marketo's envelope around the job: the schema names its fields.
        var create = document.Paths["/bulk/v1/activities/export/create.json"].Operations![HttpMethod.Post];
        var schema = create.Responses!["200"].Content!["application/json"].Schema!;
        Assert.Contains("result", schema.Properties!.Keys);
        Assert.Contains("success", schema.Properties!.Keys);
    }
}
