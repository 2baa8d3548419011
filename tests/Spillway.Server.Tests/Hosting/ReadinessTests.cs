using System.Net;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Hosting;

/// <summary>
/// <c>/health</c> is liveness (the process answers; text/plain <c>Healthy</c>); <c>/health/ready</c> touches every store
/// and names each one that fails, so a balancer takes a node with a broken store out while the process lives on.
/// </summary>
public abstract class ReadinessTests : StoreTestBase
{
    [Fact]
    public async Task Health_and_ready_answer_healthy_in_plain_text()
    {
        await using var server = await StartAsync();

        foreach (var path in new[] { "/health", "/health/ready" })
        {
            using var response = await server.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_store_that_stops_answering_makes_ready_unhealthy_and_names_it_while_health_stays_live()
    {
        await using var server = await StartAsync();

        await server.ExecuteMetadataSqlAsync("ALTER TABLE export_job RENAME TO export_job_away");
        using (var ready = await server.Http.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("text/plain", ready.Content.Headers.ContentType?.MediaType);
            var body = await ready.Content.ReadAsStringAsync();
            Assert.StartsWith("Unhealthy; jobs: does not answer (", body, StringComparison.Ordinal);
            Assert.DoesNotContain("identity", body, StringComparison.Ordinal);
            Assert.DoesNotContain("activities", body, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', body);
        }

        using (var live = await server.Http.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        await server.ExecuteMetadataSqlAsync("ALTER TABLE export_job_away RENAME TO export_job");
        using var again = await server.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }
}

public sealed class ReadinessTests_Embedded : ReadinessTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ReadinessTests_Postgres : ReadinessTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
