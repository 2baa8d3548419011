using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Spillway.Server.Tests.Console;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Cluster;

/// <summary>The test-rig controls on a cluster: set through one node, they apply on every node (they live in the shared database).</summary>
public sealed partial class MultiNodeTests
{
    private static string ControlsPath(string what) => $"/_spillway/admin/subscriptions/{ClusterFixture.Controls}/{what}";

    [Fact]
    public async Task Clock_progression_faults_request_log_and_reset_set_through_one_node_apply_on_every_node()
    {
        var admins = Enumerable.Range(0, Nodes).Select(cluster.Admin).ToArray();
        try
        {
            var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Controls, 0);
            var api = Enumerable.Range(0, Nodes).Select(n => cluster.Client(n, token)).ToArray();
            (await admins[0].DeleteAsync(ControlsPath("requests"))).EnsureSuccessStatusCode();

            // The clock, set through node b, is the subscription's clock on every node at once (no wait in between).
            var wanted = new DateTimeOffset(2031, 3, 4, 5, 6, 7, TimeSpan.Zero);
            (await admins[1].PostAsJsonAsync(ControlsPath("clock"), new { now = wanted })).EnsureSuccessStatusCode();
            foreach (var admin in admins)
            {
                var now = (await admin.GetFromJsonAsync<JsonElement>(ControlsPath("clock"))).GetProperty("now").GetDateTimeOffset();
                Assert.InRange(now, wanted, wanted.AddSeconds(30));
            }

            // A rule added through node a that fires twice fires twice in all: once on node b, once on node c, then never.
            var added = await admins[0].PostAsJsonAsync(ControlsPath("faults"), new { kind = "error", code = "1029", variant = "queueFull", endpoint = "create", count = 2 });
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            var ruleId = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            var window = Marketo.Window(cluster.SeededAt.AddDays(-1), cluster.SeededAt);
            Assert.Equal("Too many jobs in queue", await Marketo.CreateErrorAsync(api[1], window, "1029"));
            Assert.Equal("Too many jobs in queue", await Marketo.CreateErrorAsync(api[2], window, "1029"));
            var exportId = await Marketo.CreateAsync(api[0], window);
            var rules = await admins[2].GetFromJsonAsync<JsonElement>(ControlsPath("faults"));
            var rule = Assert.Single(rules.EnumerateArray());
            Assert.Equal(ruleId, rule.GetProperty("id").GetString());
            Assert.Equal(0, rule.GetProperty("remaining").GetInt32());
            Assert.Equal(2, rule.GetProperty("fired").GetInt64());
            Assert.Equal(3, rule.GetProperty("matched").GetInt64());

            // Manual progression set through node c holds a job enqueued through node a: no worker of any node runs it.
            (await admins[2].PutAsJsonAsync(ControlsPath("progression"), new { mode = "manual" })).EnsureSuccessStatusCode();
            Assert.Equal("Queued", (await Marketo.EnqueueAsync(api[0], exportId)).GetProperty("status").GetString());
            await Task.Delay(TimeSpan.FromSeconds(ClusterFixture.PollSeconds * 10));
            foreach (var client in api)
            {
                Assert.Equal("Queued", (await Marketo.StatusAsync(client, exportId)).GetProperty("status").GetString());
            }

            // Started through node b, completed through node c; the job's times are on the subscription's clock.
            (await admins[1].PostAsync($"/_spillway/admin/jobs/{exportId}/start", null)).EnsureSuccessStatusCode();
            (await admins[2].PostAsync($"/_spillway/admin/jobs/{exportId}/complete", null)).EnsureSuccessStatusCode();
            var done = await Marketo.StatusAsync(api[1], exportId);
            Assert.Equal("Completed", done.GetProperty("status").GetString());
            Assert.Equal(wanted.Year, done.GetProperty("finishedAt").GetDateTimeOffset().Year);

            // The request log, read through any node, holds the calls every node answered (each node writes its own
            // within a quarter second): the three creates, two of them answered by the rule.
            foreach (var admin in admins)
            {
                var creates = await WaitForAsync(async () =>
                {
                    var log = await admin.GetFromJsonAsync<JsonElement>(ControlsPath("requests"));
                    var found = log.EnumerateArray().Where(e => e.GetProperty("path").GetString()!.EndsWith("/create.json", StringComparison.Ordinal)).ToList();
                    return found.Count == 3 ? found : null;
                });
                Assert.Equal(2, creates.Count(e => e.TryGetProperty("fault", out var f) && f.GetString() == ruleId));
                Assert.Equal(creates.Select(e => e.GetProperty("sequence").GetInt64()).Order(), creates.Select(e => e.GetProperty("sequence").GetInt64()));
            }

            // A reset through node a clears it all on every node.
            (await admins[0].PostAsync(ControlsPath("reset"), null)).EnsureSuccessStatusCode();
            foreach (var admin in admins)
            {
                var now = (await admin.GetFromJsonAsync<JsonElement>(ControlsPath("clock"))).GetProperty("now").GetDateTimeOffset();
                Assert.InRange(now, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
                Assert.Equal("Immediate", (await admin.GetFromJsonAsync<JsonElement>(ControlsPath("progression"))).GetProperty("mode").GetString());
                Assert.Empty((await admin.GetFromJsonAsync<JsonElement>(ControlsPath("faults"))).EnumerateArray());
            }

            var next = await Marketo.CreateAsync(api[2], window);
            Assert.Equal("Created", (await Marketo.StatusAsync(api[0], next)).GetProperty("status").GetString());
        }
        finally
        {
            (await admins[0].PostAsync(ControlsPath("reset"), null)).EnsureSuccessStatusCode();
            foreach (var admin in admins)
            {
                admin.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_restarted_node_answers_with_the_controls_the_cluster_set_before_it_started()
    {
        using var admin = cluster.Admin(0);
        try
        {
            var wanted = new DateTimeOffset(2032, 1, 2, 3, 4, 5, TimeSpan.Zero);
            (await admin.PostAsJsonAsync(ControlsPath("clock"), new { now = wanted })).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync(ControlsPath("faults"), new { kind = "http", status = 503, endpoint = "status" })).EnsureSuccessStatusCode();

            await cluster.RestartAsync(2);
            using var restarted = cluster.Admin(2);
            var now = (await restarted.GetFromJsonAsync<JsonElement>(ControlsPath("clock"))).GetProperty("now").GetDateTimeOffset();
            Assert.InRange(now, wanted, wanted.AddSeconds(60));
            var (token, _) = await cluster.TokenAsync(2, ClusterFixture.Controls, 0);
            var status = await cluster.Client(2, token).GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status.StatusCode);
        }
        finally
        {
            (await admin.PostAsync(ControlsPath("reset"), null)).EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task The_console_of_every_node_shows_the_fault_rule_and_the_calls_of_the_whole_cluster()
    {
        const string Base = $"/_spillway/console/subscriptions/{ClusterFixture.Controls}";
        var browsers = await Task.WhenAll(Enumerable.Range(0, Nodes).Select(n => ConsoleBrowser.SignInAsync(cluster.Nodes[n].BaseAddress, ClusterFixture.AdminKey)));
        try
        {
            // A rule added through node a's console answers the next list call, made to node c, with 606.
            var added = await browsers[0].PostAsync(Base + "/controls/faults", ("kind", "error"), ("code", "606"), ("count", "1"), ("endpoint", "list"));
            Assert.Equal(HttpStatusCode.OK, added.Status);
            var rule = ConsoleResponse.AttrOf(Assert.Single(added.Tags("fault-row")), "data-rule-id")!;
            var (token, _) = await cluster.TokenAsync(2, ClusterFixture.Controls, 0);
            await Marketo.ErrorAsync(await cluster.Client(2, token).GetAsync("/bulk/v1/activities/export.json"), "606");
            await Marketo.SuccessAsync(await cluster.Client(1, token).GetAsync("/bulk/v1/activities/export.json"));

            foreach (var browser in browsers)
            {
                var controls = await browser.GetAsync(Base + "/controls");
                Assert.Contains("shared database", controls.Text("controls-scope"), StringComparison.Ordinal);
                Assert.Equal(rule, ConsoleResponse.AttrOf(Assert.Single(controls.Tags("fault-row")), "data-rule-id"));

                // Node c answered the faulted call and node b the next one; every node's request log shows both.
                var rows = await WaitForAsync(async () =>
                {
                    var log = await browser.GetAsync(Base + "/requests");
                    var tags = log.Tags("request-row");
                    return tags.Count >= 2 ? tags : null;
                });
                Assert.Contains(rows, r => ConsoleResponse.AttrOf(r, "data-fault") == rule && ConsoleResponse.AttrOf(r, "data-code") == "606");
                Assert.Contains(rows, r => ConsoleResponse.AttrOf(r, "data-fault") == "" && ConsoleResponse.AttrOf(r, "data-http-status") == "200");
            }
        }
        finally
        {
            using var admin = cluster.Admin(0);
            (await admin.PostAsync(ControlsPath("reset"), null)).EnsureSuccessStatusCode();
            foreach (var browser in browsers)
            {
                browser.Dispose();
            }
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }
}
