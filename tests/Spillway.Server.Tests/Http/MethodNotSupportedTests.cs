using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// Every REST and bulk route answers 605 in the envelope for the common verbs it does not take. The 605 routes are
/// derived from the mapped endpoints; this list of every route and its verb is the net that nothing lost its answer.
/// </summary>
public abstract class MethodNotSupportedTests : StoreTestBase
{
    private static readonly string[] CommonMethods = ["GET", "POST", "PUT", "DELETE", "PATCH"];

    private static readonly (string Path, string Allowed)[] Routes =
    [
        ("/bulk/v1/activities/export/create.json", "POST"),
        ("/bulk/v1/activities/export/{exportId}/enqueue.json", "POST"),
        ("/bulk/v1/activities/export/{exportId}/status.json", "GET"),
        ("/bulk/v1/activities/export/{exportId}/file.json", "GET"),
        ("/bulk/v1/activities/export/{exportId}/cancel.json", "POST"),
        ("/bulk/v1/activities/export.json", "GET"),
        ("/rest/v1/activities/types.json", "GET"),
        ("/rest/v1/leads/describe.json", "GET"),
        ("/rest/v1/stats/usage.json", "GET"),
        ("/rest/v1/activities/pagingtoken.json", "GET"),
        ("/rest/v1/activities.json", "GET"),
        ("/rest/v1/activities/leadchanges.json", "GET"),
        ("/rest/v1/activities/deletedleads.json", "GET"),
        ("/rest/v1/activities/external/types.json", "GET"),
        ("/rest/v1/activities/external/type/{apiName}/describe.json", "GET"),
        ("/rest/v1/activities/external/type.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/approve.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/discardDraft.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/delete.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/attributes/create.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/attributes/update.json", "POST"),
        ("/rest/v1/activities/external/type/{apiName}/attributes/delete.json", "POST"),
        ("/rest/v1/activities/external.json", "POST"),
    ];

    [Fact]
    public async Task Every_rest_and_bulk_route_answers_605_for_the_other_common_verbs()
    {
        await using var server = await StartAsync();
        var wrong = new List<string>();
        foreach (var (route, allowed) in Routes)
        {
            var path = route.Replace("{exportId}", Guid.NewGuid().ToString("D"), StringComparison.Ordinal)
                .Replace("{apiName}", "someType_c", StringComparison.Ordinal);
            foreach (var method in CommonMethods.Where(m => m != allowed))
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                var (text, root) = await Wire.ReadJsonAsync(await server.Http.SendAsync(request));
                var code = root.TryGetProperty("errors", out var errors) ? errors[0].GetProperty("code").GetString() : null;
                if (code != "605")
                {
                    wrong.Add($"{method} {path}: {text}");
                }
            }
        }

        Assert.Empty(wrong);
    }
}

public sealed class MethodNotSupportedTests_Embedded : MethodNotSupportedTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class MethodNotSupportedTests_Postgres : MethodNotSupportedTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
