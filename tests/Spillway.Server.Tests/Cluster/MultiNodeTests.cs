using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Spillway.Server.Tests.Cluster;

/// <summary>
/// Several server processes on one PostgreSQL and one export folder behave as one server. Any node answers
/// any request; the per-subscription limits (2 Processing, 10 Queued+Processing, the daily export quota, 606/615/607)
/// hold across nodes under concurrent load; every job completes exactly once with a correct file; a node killed with
/// SIGKILL in the middle of an export is taken over by another node once its lease expires; a node paused (SIGSTOP)
/// past its lease and resumed never completes the job another node took over.
/// The figures each test writes to its output are the ones quoted in docs/deployment.md.
/// </summary>
public sealed partial class MultiNodeTests(ClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterFixture>, IAsyncLifetime
{
    private const int Clients = 16;
    private const int Nodes = ClusterFixture.NodeCount;

    [Fact]
    public async Task Jobs_from_many_clients_through_every_node_run_two_at_a_time_and_each_completes_once_with_a_correct_file()
    {
        var watch = Stopwatch.StartNew();
        var subscription = await cluster.SubscriptionIdAsync(ClusterFixture.Jobs);
        // Each API user asks a different node for its token; every node then accepts it.
        var tokens = await Task.WhenAll(Enumerable.Range(0, ClusterFixture.JobsUsers)
            .Select(async u => (await cluster.TokenAsync(u % Nodes, ClusterFixture.Jobs, u)).Token));
        string TokenOf(int client) => tokens[client % tokens.Length];
        int Creator(int client) => client % Nodes;

        // Distinct 3-day windows (about 90,000 activities each), so no two files are alike.
        var end = Seconds(cluster.SeededAt);
        var windows = Enumerable.Range(0, Clients).Select(i => (Start: end.AddDays(-3).AddHours(-2 * i), End: end.AddHours(-2 * i))).ToArray();

        // 16 clients create their jobs at once, through the three nodes.
        var ids = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i =>
            Marketo.CreateAsync(cluster.Client(Creator(i), TokenOf(i)), Marketo.Window(windows[i].Start, windows[i].End))));

        await using var sampler = Sampler.Start(cluster, subscription);

        // ...and enqueue them at once, each through a node other than the one that created it: exactly 10 get in.
        var burst = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, Clients).Select(i =>
            Marketo.PostEnqueueAsync(cluster.Client((i + 1) % Nodes, TokenOf(i)), ids[i])));
        burst.Stop();
        var completedDuringBurst = await cluster.ScalarAsync<long>(
            "SELECT count(*) FROM export_job WHERE subscription_id = $1 AND status = 'Completed'", subscription);
        var accepted = new bool[Clients];
        for (var i = 0; i < Clients; i++)
        {
            var envelope = await Marketo.EnvelopeAsync(responses[i]);
            if (envelope.GetProperty("success").GetBoolean())
            {
                Assert.Equal("Queued", Marketo.Job(envelope).GetProperty("status").GetString());
                accepted[i] = true;
            }
            else
            {
                Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(responses[i], "1029"));
            }
        }

        if (completedDuringBurst == 0)
        {
            Assert.Equal(10, accepted.Count(a => a));
        }
        else
        {
            // A machine so slow that a job finished during the burst: each finished job may have freed one place.
            Assert.InRange(accepted.Count(a => a), 10, 10 + (int)completedDuringBurst);
        }

        // The refused jobs are still Created, seen from the third node.
        for (var i = 0; i < Clients; i++)
        {
            if (!accepted[i])
            {
                Assert.Equal("Created", (await Marketo.StatusAsync(cluster.Client((i + 2) % Nodes, TokenOf(i)), ids[i])).GetProperty("status").GetString());
            }
        }

        // Every client now sees its job through: the refused ones retry the enqueue (through another node) until a
        // place frees; all poll through a node other than their job's creator.
        var retries = new int[Clients];
        var finals = await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            var token = TokenOf(i);
            if (!accepted[i])
            {
                var retryNode = cluster.Client((i + 2) % Nodes, token);
                var deadline = DateTime.UtcNow.AddSeconds(90);
                while (true)
                {
                    var response = await Marketo.PostEnqueueAsync(retryNode, ids[i]);
                    var envelope = await Marketo.EnvelopeAsync(response);
                    if (envelope.GetProperty("success").GetBoolean())
                    {
                        break;
                    }

                    Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(response, "1029"));
                    Assert.True(DateTime.UtcNow < deadline, $"job {i} never got a place in the queue");
                    retries[i]++;
                    await Task.Delay(100);
                }
            }

            var poller = cluster.Client(accepted[i] ? (i + 2) % Nodes : (i + 1) % Nodes, token);
            return await WaitAsync(poller, ids[i], TimeSpan.FromSeconds(90));
        }));
        var processingTime = watch.Elapsed;
        var samples = await sampler.StopAsync();

        // Never more than 2 Processing and 10 Queued+Processing for the subscription, in any snapshot of the database.
        Assert.True(samples.MaxProcessing <= 2, $"{samples.MaxProcessing} jobs were Processing at once");
        Assert.Equal(2, samples.MaxProcessing); // both slots were used, or the check above proved nothing
        Assert.True(samples.MaxActive <= 10, $"{samples.MaxActive} jobs were Queued or Processing at once");

        // Every job completed once, with the right row count and a file whose bytes match its size and checksum,
        // downloaded through the third node (the shared folder serves every node).
        var checks = await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            var job = finals[i];
            Assert.Equal("Completed", job.GetProperty("status").GetString());
            var rows = await cluster.ScalarAsync<long>(
                "SELECT count(*) FROM activity WHERE subscription_id = $1 AND activity_date >= $2 AND activity_date <= $3",
                subscription, windows[i].Start, windows[i].End);
            var download = cluster.Client(accepted[i] ? (i + 1) % Nodes : (i + 2) % Nodes, TokenOf(i));
            var file = await DownloadAsync(download, ids[i]);
            Assert.True(rows > 50_000, $"window {i} holds only {rows} activities");
            Assert.Equal(rows, job.GetProperty("numberOfRecords").GetInt64());
            Assert.Equal(rows, file.Records);
            Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Bytes);
            Assert.Equal(job.GetProperty("fileChecksum").GetString(), file.Checksum);
            return (rows, file.Bytes, file.Checksum);
        }));
        Assert.Equal(Clients, checks.Select(c => c.Checksum).Distinct().Count());

        var tokensUsed = await cluster.QueryAsync("SELECT fencing_token FROM export_job WHERE subscription_id = $1 AND status = 'Completed'",
            r => r.GetInt64(0), subscription);
        Assert.Equal(Clients, tokensUsed.Count);
        await AssertExportFolderMatchesCompletedJobsAsync();

        output.WriteLine(Invariant($"cluster: {Nodes} nodes started in {cluster.StartTime.TotalSeconds:F1} s; seeded {ClusterFixture.JobsActivities:N0} + 10,000 activities in {cluster.SeedTime.TotalSeconds:F1} s"));
        output.WriteLine(Invariant($"enqueue burst: {Clients} concurrent enqueues through {Nodes} nodes in {burst.Elapsed.TotalMilliseconds:F0} ms -> {accepted.Count(a => a)} Queued, {accepted.Count(a => !a)} x 1029 ({completedDuringBurst} completed meanwhile); refused clients retried {retries.Sum()} times"));
        output.WriteLine(Invariant($"jobs: {Clients} completed, {checks.Sum(c => c.rows):N0} rows, {checks.Sum(c => c.Bytes) / 1048576.0:F0} MB; create to last Completed {processingTime.TotalSeconds:F1} s; with downloads and checks {watch.Elapsed.TotalSeconds:F1} s"));
        output.WriteLine(Invariant($"sampler: {samples.Count} snapshots, max Processing {samples.MaxProcessing}, max Queued+Processing {samples.MaxActive}; jobs run per node: {string.Join(", ", samples.RunsByNode.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}"));
        output.WriteLine(Invariant($"fencing tokens of completed jobs: {string.Join(",", tokensUsed.Order())} (a token above 1 is a lease lost to a slow renewal and taken over)"));
    }

    [Fact]
    public async Task A_token_issued_by_one_node_is_accepted_by_every_node()
    {
        var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Jobs, 0);
        for (var node = 0; node < Nodes; node++)
        {
            await Marketo.SuccessAsync(await cluster.Client(node, token).GetAsync("/bulk/v1/activities/export.json"));
            // Asking any node again before expiry returns the same token.
            var (again, expiresIn) = await cluster.TokenAsync(node, ClusterFixture.Jobs, 0);
            Assert.Equal(token, again);
            Assert.InRange(expiresIn, 1, 3600);
            // An unknown token is unknown everywhere.
            var unknown = cluster.Client(node, Guid.NewGuid() + ":sw");
            Assert.Equal("Access token invalid", await Marketo.ErrorAsync(await unknown.GetAsync("/bulk/v1/activities/export.json"), "601"));
        }
    }

    [Fact]
    public async Task The_rate_limit_admits_exactly_its_calls_across_nodes_then_606()
    {
        var (token, _) = await cluster.TokenAsync(1, ClusterFixture.Rate, 0);
        // 30 calls at once, 10 through each node, against a limit of 20 per 20 s.
        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            cluster.Client(i % Nodes, token).GetAsync("/bulk/v1/activities/export.json")));
        var admitted = 0;
        foreach (var response in responses)
        {
            var envelope = await Marketo.EnvelopeAsync(response);
            if (envelope.GetProperty("success").GetBoolean())
            {
                admitted++;
            }
            else
            {
                Assert.Equal("Max rate limit '20' exceeded with in '20' secs", await Marketo.ErrorAsync(response, "606"));
            }
        }

        Assert.Equal(20, admitted);
        for (var node = 0; node < Nodes; node++)
        {
            Assert.Equal("Max rate limit '20' exceeded with in '20' secs",
                await Marketo.ErrorAsync(await cluster.Client(node, token).GetAsync("/bulk/v1/activities/export.json"), "606"));
        }

        output.WriteLine($"606: 30 concurrent calls over {Nodes} nodes -> {admitted} admitted, {30 - admitted} x 606");
    }

    [Fact]
    public async Task Calls_in_flight_and_calls_per_day_are_counted_across_nodes_615_and_607()
    {
        var subscription = await cluster.SubscriptionIdAsync(ClusterFixture.Calls);
        var (token, _) = await cluster.TokenAsync(2, ClusterFixture.Calls, 0);
        var day = DateTimeOffset.UtcNow;
        var body = Marketo.Window(day.AddDays(-1), day);

        // Three calls held in flight, one on each node, take the subscription's three slots.
        var held = Enumerable.Range(0, Nodes).Select(_ => new HeldContent(body)).ToList();
        var calls = held.Select((h, node) => cluster.Client(node, token).PostAsync(Marketo.CreatePath, h)).ToList();
        await WaitForAsync(async () => await InFlightAsync(subscription) == Nodes, "three calls in flight");

        // Any node now refuses a fourth call with 615 (and does not count it).
        for (var node = 0; node < Nodes; node++)
        {
            Assert.Equal("Concurrent access limit '3' reached",
                await Marketo.ErrorAsync(await cluster.Client(node, token).GetAsync("/bulk/v1/activities/export.json"), "615"));
        }

        held.ForEach(h => h.Release());
        foreach (var call in calls)
        {
            await Marketo.SuccessAsync(await call);
        }

        await WaitForAsync(async () => await InFlightAsync(subscription) == 0, "the held calls to release their slots");

        // 3 calls are counted so far; 7 more fit in the daily quota of 10, spread over the nodes; then 607 everywhere.
        for (var i = 0; i < 7; i++)
        {
            await Marketo.SuccessAsync(await cluster.Client(i % Nodes, token).GetAsync("/bulk/v1/activities/export.json"));
        }

        for (var node = 0; node < Nodes; node++)
        {
            Assert.Equal("Daily quota reached",
                await Marketo.ErrorAsync(await cluster.Client(node, token).GetAsync("/bulk/v1/activities/export.json"), "607"));
        }

        Assert.Equal(10L, await cluster.ScalarAsync<long>("SELECT sum(calls)::bigint FROM api_call_day WHERE subscription_id = $1", subscription));
    }

    [Fact]
    public async Task The_daily_export_quota_is_shared_by_all_nodes()
    {
        var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Quota, 0);
        var end = Seconds(cluster.SeededAt);
        var body = Marketo.Window(end.AddDays(-2), end);
        var first = await Marketo.CreateAsync(cluster.Client(0, token), body);
        var second = await Marketo.CreateAsync(cluster.Client(1, token), body);

        // Node A's export uses up the 1 MB quota...
        await Marketo.EnqueueAsync(cluster.Client(0, token), first);
        var job = await WaitAsync(cluster.Client(2, token), first, TimeSpan.FromSeconds(60));
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.True(job.GetProperty("fileSize").GetInt64() > 1024 * 1024);

        // ...so nodes B and C refuse to enqueue or create.
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(cluster.Client(1, token), second), "1029"));
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.ErrorAsync(await Marketo.PostCreateAsync(cluster.Client(2, token), body), "1029"));
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(cluster.Client(0, token), second), "1029"));
        Assert.Equal("Created", (await Marketo.StatusAsync(cluster.Client(2, token), second)).GetProperty("status").GetString());
        output.WriteLine(Invariant($"export quota 1 MB: a {job.GetProperty("fileSize").GetInt64() / 1048576.0:F1} MB export through node-a, then 1029 on node-b (enqueue), node-c (create), node-a (enqueue)"));
    }

    [Fact]
    public async Task A_node_killed_mid_export_is_taken_over_after_its_lease_expires_and_the_job_completes_with_a_correct_file()
    {
        var subscription = await cluster.SubscriptionIdAsync(ClusterFixture.Jobs);
        var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Jobs, 1);
        var end = Seconds(cluster.SeededAt).AddMinutes(1);
        var start = end.AddDays(-(ClusterFixture.JobsDaysBack + 1));
        var exportId = await Marketo.CreateAsync(cluster.Client(0, token), Marketo.Window(start, end));
        var id = Guid.Parse(exportId);
        await using var sampler = Sampler.Start(cluster, subscription);
        await Marketo.EnqueueAsync(cluster.Client(1, token), exportId);

        // Find the node that holds the lease, and wait until its temporary file has real content.
        var (victimId, fencingToken) = await ClaimedAsync(id);
        var victim = Array.IndexOf(ClusterFixture.NodeIds, victimId);
        Assert.InRange(victim, 0, Nodes - 1);
        var temporary = TemporaryFile(id, victimId, fencingToken);
        await WaitForAsync(() => Task.FromResult(File.Exists(temporary) && new FileInfo(temporary).Length > 8 * 1024 * 1024), "the export to be under way");

        // kill -9 in the middle of the export.
        var writtenBeforeKill = new FileInfo(temporary).Length;
        await cluster.Nodes[victim].KillAsync();
        var killedAt = DateTimeOffset.UtcNow;
        var sinceKill = Stopwatch.StartNew();
        await Task.Delay(100); // a renewal the node sent just before it died has landed by now
        var dead = await LeaseAsync(id);
        Assert.Equal("Processing", dead!.Value.Status);
        Assert.Equal(victimId, dead.Value.Node);
        Assert.Equal(fencingToken, dead.Value.Token);
        Assert.True(File.Exists(temporary));

        // Another node takes the job over only once the dead node's lease has expired, with a new fencing token.
        var survivors = Enumerable.Range(0, Nodes).Where(n => n != victim).ToArray();
        var (taker, newToken, status, observedAt) = await PollAsync(async () =>
        {
            var lease = await LeaseAsync(id);
            return lease is { } l && (l.Token != fencingToken || l.Status != "Processing") ? (l.Node, l.Token, l.Status, DateTimeOffset.UtcNow) : default((string?, long, string, DateTimeOffset)?);
        }, "another node to take the job over", timeout: TimeSpan.FromSeconds(30), every: TimeSpan.FromMilliseconds(20));
        var takeover = sinceKill.Elapsed;
        Assert.True(newToken > fencingToken);
        Assert.True(observedAt >= dead.Value.ExpiresAt, $"taken over at {observedAt:O}, before the dead lease expired at {dead.Value.ExpiresAt:O}");
        if (taker is null)
        {
            // On a loaded machine this poll can stall past the whole takeover run; a finished job no longer names its
            // node. The victim's process has exited, so only a survivor can have completed it; any other end is a fault.
            Assert.True(status == "Completed", $"after the kill the job went {status} (token {newToken}) without being seen taken over: {await ErrorOfAsync(id)}");
        }
        else
        {
            Assert.Contains(taker, survivors.Select(n => ClusterFixture.NodeIds[n]));
        }

        // It completes with a correct file; the dead run's temporary file is gone and exactly one file is published.
        var job = await WaitAsync(cluster.Client(survivors[0], token), exportId, TimeSpan.FromSeconds(90));
        var completion = sinceKill.Elapsed;
        Assert.True(job.GetProperty("status").GetString() == "Completed", $"job {job}");
        var samples = await sampler.StopAsync();
        var file = await DownloadAsync(cluster.Client(survivors[1], token), exportId);
        var rows = await cluster.ScalarAsync<long>(
            "SELECT count(*) FROM activity WHERE subscription_id = $1 AND activity_date >= $2 AND activity_date <= $3", subscription, start, end);
        Assert.Equal(ClusterFixture.JobsActivities, rows);
        Assert.Equal(rows, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(rows, file.Records);
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Bytes);
        Assert.Equal(job.GetProperty("fileChecksum").GetString(), file.Checksum);
        Assert.False(File.Exists(temporary), "the dead node's temporary file is still there");
        Assert.True(samples.MaxProcessing <= 1, $"{samples.MaxProcessing} runs of one job at once");
        var finalToken = (await LeaseAsync(id))!.Value.Token;
        Assert.Equal([$"{id:N}.{finalToken}.csv"], Directory.GetFiles(ExportFolders.Files(cluster.ExportPath), $"{id:N}.*").Select(Path.GetFileName));
        await AssertExportFolderMatchesCompletedJobsAsync();

        // The dead node comes back under the same name and serves again.
        var restart = await cluster.RestartAsync(victim);
        await Marketo.SuccessAsync(await cluster.Client(victim, token).GetAsync($"/bulk/v1/activities/export/{exportId}/status.json"));

        output.WriteLine(Invariant($"kill -9 of {victimId} (lease token {fencingToken}) at {killedAt:HH:mm:ss.fff} with {writtenBeforeKill / 1048576.0:F0} MB written; lease expired {(dead.Value.ExpiresAt - killedAt).TotalSeconds:F2} s after the kill"));
        output.WriteLine(Invariant($"takeover by {taker ?? "a survivor, seen only once Completed"} (token {newToken}) {takeover.TotalSeconds:F2} s after the kill (lease {ClusterFixture.LeaseSeconds} s, renew {ClusterFixture.RenewSeconds} s, poll {ClusterFixture.PollSeconds} s); Completed {completion.TotalSeconds:F1} s after the kill"));
        output.WriteLine(Invariant($"file: {rows:N0} rows, {file.Bytes / 1048576.0:F0} MB, checksum verified; dead node restarted in {restart.TotalSeconds:F1} s; class wall time so far {cluster.Elapsed.TotalSeconds:F1} s"));
    }

    [Fact]
    public async Task A_node_paused_past_its_lease_never_completes_the_job_another_node_took_over_and_rejoins_when_resumed()
    {
        var subscription = await cluster.SubscriptionIdAsync(ClusterFixture.Jobs);
        var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Jobs, 2);
        var end = Seconds(cluster.SeededAt).AddMinutes(1);
        var start = end.AddDays(-(ClusterFixture.JobsDaysBack + 1));
        var exportId = await Marketo.CreateAsync(cluster.Client(0, token), Marketo.Window(start, end));
        var id = Guid.Parse(exportId);
        await Marketo.EnqueueAsync(cluster.Client(2, token), exportId);

        var (victimId, fencingToken) = await ClaimedAsync(id);
        var victim = Array.IndexOf(ClusterFixture.NodeIds, victimId);
        var temporary = TemporaryFile(id, victimId, fencingToken);
        await WaitForAsync(() => Task.FromResult(File.Exists(temporary) && new FileInfo(temporary).Length > 8 * 1024 * 1024), "the export to be under way");

        // SIGSTOP in the middle of the export: the node holds its lease, its connections and its half-written file.
        cluster.Nodes[victim].Pause();
        var survivors = Enumerable.Range(0, Nodes).Where(n => n != victim).ToArray();
        try
        {
            var (taker, newToken) = await TakenOverAsync(id, fencingToken);
            Assert.True(newToken > fencingToken);
            Assert.Contains(taker, survivors.Select(n => ClusterFixture.NodeIds[n]));
            var job = await WaitAsync(cluster.Client(survivors[0], token), exportId, TimeSpan.FromSeconds(90));
            Assert.Equal("Completed", job.GetProperty("status").GetString());
        }
        finally
        {
            // Resumed after the takeover: it runs on from mid-export with a lease it no longer holds.
            cluster.Nodes[victim].Resume();
        }

        var completed = await Marketo.StatusAsync(cluster.Client(survivors[0], token), exportId);
        var finalToken = (await LeaseAsync(id))!.Value.Token;
        var published = Path.Combine(ExportFolders.Files(cluster.ExportPath), $"{id:N}.{finalToken}.csv");
        var before = await DownloadAsync(cluster.Client(survivors[1], token), exportId);

        // The resumed run finds its lease gone at its next renewal or at its completion (a compare-and-set on the old
        // fencing token): it stops, deletes its temporary file and publishes nothing that stays.
        await WaitForAsync(() => Task.FromResult(!File.Exists(temporary)), "the paused node's temporary file to be removed after it resumed");
        await Task.Delay(TimeSpan.FromSeconds(ClusterFixture.LeaseSeconds)); // past the renewal and any last write it had in hand
        var after = await Marketo.StatusAsync(cluster.Client(victim, token), exportId);
        foreach (var member in new[] { "status", "finishedAt", "numberOfRecords", "fileSize", "fileChecksum" })
        {
            Assert.Equal(completed.GetProperty(member).ToString(), after.GetProperty(member).ToString());
        }

        Assert.Equal(finalToken, (await LeaseAsync(id))!.Value.Token);
        Assert.Equal([Path.GetFileName(published)], Directory.GetFiles(ExportFolders.Files(cluster.ExportPath), $"{id:N}.*").Select(Path.GetFileName));
        var rows = await cluster.ScalarAsync<long>(
            "SELECT count(*) FROM activity WHERE subscription_id = $1 AND activity_date >= $2 AND activity_date <= $3", subscription, start, end);
        foreach (var node in Enumerable.Range(0, Nodes))
        {
            var file = await DownloadAsync(cluster.Client(node, token), exportId);
            Assert.Equal(before, file);
            Assert.Equal(rows, file.Records);
            Assert.Equal(completed.GetProperty("fileChecksum").GetString(), file.Checksum);
        }

        await AssertExportFolderMatchesCompletedJobsAsync();

        // It rejoined: it answers, and a job enqueued through it completes.
        await AssertJobThroughNodeCompletesAsync(victim, token, end);
        output.WriteLine(Invariant($"SIGSTOP of {victimId} (token {fencingToken}); taken over with token {finalToken}; the resumed node completed nothing; file {before.Bytes / 1048576.0:F0} MB verified on every node"));
    }

    [Fact]
    public async Task A_node_cut_off_from_the_database_never_completes_the_job_another_node_took_over_and_rejoins_when_healed()
    {
        var subscription = await cluster.SubscriptionIdAsync(ClusterFixture.Jobs);
        var (token, _) = await cluster.TokenAsync(0, ClusterFixture.Jobs, 3);
        var end = Seconds(cluster.SeededAt).AddMinutes(1);
        var start = end.AddDays(-(ClusterFixture.JobsDaysBack + 1));
        const int victim = 2;
        var victimId = ClusterFixture.NodeIds[victim];
        var database = new Npgsql.NpgsqlConnectionStringBuilder(cluster.ConnectionString);
        await using var proxy = new Chaos.SeverableProxy(database.Host!, database.Port);
        var proxied = new Npgsql.NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port };
        await cluster.RestartAsync(victim, new Dictionary<string, string?> { ["Spillway:ConnectionString"] = proxied.ConnectionString });
        try
        {
            // Enqueued through the node behind the proxy, which wakes its own worker at once; another node may still
            // win the claim, so a job is tried until the proxied node holds one.
            string exportId = "";
            long fencingToken = 0;
            for (var attempt = 0; ; attempt++)
            {
                Assert.True(attempt < 5, "the proxied node never claimed a job");
                exportId = await Marketo.CreateAsync(cluster.Client(victim, token), Marketo.Window(start, end));
                await Marketo.EnqueueAsync(cluster.Client(victim, token), exportId);
                var id0 = Guid.Parse(exportId);
                var (holder, held) = await ClaimedAsync(id0);
                if (holder == victimId)
                {
                    fencingToken = held;
                    break;
                }

                await WaitAsync(cluster.Client(0, token), exportId, TimeSpan.FromSeconds(90));
            }

            var id = Guid.Parse(exportId);
            var temporary = TemporaryFile(id, victimId, fencingToken);
            await WaitForAsync(() => Task.FromResult(File.Exists(temporary) && new FileInfo(temporary).Length > 4 * 1024 * 1024), "the export to be under way");

            proxy.Sever();
            var survivors = new[] { 0, 1 };
            var (taker, newToken) = await TakenOverAsync(id, fencingToken);
            Assert.True(newToken > fencingToken);
            Assert.Contains(taker, survivors.Select(n => ClusterFixture.NodeIds[n]));
            var job = await WaitAsync(cluster.Client(0, token), exportId, TimeSpan.FromSeconds(90));
            Assert.Equal("Completed", job.GetProperty("status").GetString());

            // While cut off, the node says it is not ready and serves no file: an answer it gives is an error or the
            // whole, verified file, never a part of one.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await cluster.Client(victim, null).GetAsync("/health/ready")).StatusCode);
            using (var during = await cluster.Client(victim, token).GetAsync($"/bulk/v1/activities/export/{exportId}/file.json"))
            {
                var body = await during.Content.ReadAsByteArrayAsync();
                if (during.Content.Headers.ContentType?.MediaType == "application/json")
                {
                    // A Marketo error envelope (the node cannot reach the job's row).
                    using var error = JsonDocument.Parse(body);
                    Assert.False(error.RootElement.GetProperty("success").GetBoolean());
                    Assert.NotEmpty(error.RootElement.GetProperty("errors").EnumerateArray());
                }
                else
                {
                    Assert.Equal(HttpStatusCode.OK, during.StatusCode);
                    Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)));
                }
            }

            // Cut off past its lease, the node's run stopped itself and removed its temporary file.
            await WaitForAsync(() => Task.FromResult(!File.Exists(temporary)), "the cut-off node's temporary file to be removed");

            proxy.Heal();
            await WaitForAsync(async () => (await cluster.Client(victim, null).GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK, "the node to be ready again");
            var finalToken = (await LeaseAsync(id))!.Value.Token;
            Assert.Equal(newToken, finalToken);
            var after = await Marketo.StatusAsync(cluster.Client(victim, token), exportId);
            foreach (var member in new[] { "status", "finishedAt", "numberOfRecords", "fileSize", "fileChecksum" })
            {
                Assert.Equal(job.GetProperty(member).ToString(), after.GetProperty(member).ToString());
            }

            var rows = await cluster.ScalarAsync<long>(
                "SELECT count(*) FROM activity WHERE subscription_id = $1 AND activity_date >= $2 AND activity_date <= $3", subscription, start, end);
            foreach (var node in Enumerable.Range(0, Nodes))
            {
                var file = await DownloadAsync(cluster.Client(node, token), exportId);
                Assert.Equal(rows, file.Records);
                Assert.Equal(job.GetProperty("fileChecksum").GetString(), file.Checksum);
            }

            Assert.Equal([$"{id:N}.{finalToken}.csv"], Directory.GetFiles(ExportFolders.Files(cluster.ExportPath), $"{id:N}.*").Select(Path.GetFileName));
            await AssertExportFolderMatchesCompletedJobsAsync();

            // It rejoined: a job enqueued through it completes.
            await AssertJobThroughNodeCompletesAsync(victim, token, end);
            output.WriteLine(Invariant($"partition of {victimId} (token {fencingToken}); taken over by {taker} with token {finalToken}; healed and rejoined"));
        }
        finally
        {
            proxy.Heal();
            await cluster.RestartAsync(victim); // back on the direct connection for the other tests
        }
    }

    public Task InitializeAsync() => cluster.RestartExitedNodesAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /// <summary>Polls until a node holds the job Processing; its node id and fencing token.</summary>
    private async Task<(string Node, long Token)> ClaimedAsync(Guid exportId) => await PollAsync(async () =>
    {
        var lease = await LeaseAsync(exportId);
        return lease is { Status: "Processing", Node: { } node } ? (node, lease.Value.Token) : default((string, long)?);
    }, "the job to be claimed");

    /// <summary>Polls until the job's fencing token moves past <paramref name="token"/>: the node and token of the taker.</summary>
    private async Task<(string? Node, long Token)> TakenOverAsync(Guid exportId, long token) => await PollAsync(async () =>
    {
        var lease = await LeaseAsync(exportId);
        return lease is { } l && l.Token != token ? (l.Node, l.Token) : default((string?, long)?);
    }, "another node to take the job over", timeout: TimeSpan.FromSeconds(30), every: TimeSpan.FromMilliseconds(20));

    /// <summary>The temporary file of a node's run of a job under a fencing token.</summary>
    private string TemporaryFile(Guid exportId, string nodeId, long token) =>
        Path.Combine(ExportFolders.Temp(cluster.ExportPath), $"{exportId:N}.{nodeId.Replace("-", "", StringComparison.Ordinal)}.{token}.tmp");

    /// <summary>A small job created and enqueued through the node completes: the node serves and its worker claims.</summary>
    private async Task AssertJobThroughNodeCompletesAsync(int node, string token, DateTimeOffset end)
    {
        var small = await Marketo.CreateAsync(cluster.Client(node, token), Marketo.Window(end.AddHours(-2), end));
        await Marketo.EnqueueAsync(cluster.Client(node, token), small);
        Assert.Equal("Completed", (await WaitAsync(cluster.Client(node, token), small, TimeSpan.FromSeconds(60))).GetProperty("status").GetString());
    }

    private static DateTimeOffset Seconds(DateTimeOffset t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private async Task<long> InFlightAsync(int subscription) => await cluster.ScalarAsync<long>(
        "SELECT coalesce(sum(in_flight), 0)::bigint FROM api_call_node WHERE subscription_id = $1 AND expires_at > now()", subscription);

    private async Task<string?> ErrorOfAsync(Guid exportId) =>
        (await cluster.QueryAsync("SELECT error_msg FROM export_job WHERE export_id = $1", r => r.IsDBNull(0) ? null : r.GetString(0), exportId)).SingleOrDefault();

    private async Task<(string Status, string? Node, long Token, DateTimeOffset ExpiresAt)?> LeaseAsync(Guid exportId)
    {
        var rows = await cluster.QueryAsync(
            "SELECT status, lease_node, fencing_token, lease_expires_at FROM export_job WHERE export_id = $1",
            r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2),
                r.IsDBNull(3) ? DateTimeOffset.MinValue : r.GetFieldValue<DateTimeOffset>(3)), exportId);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Every Completed job has exactly one published file (named by its final fencing token), and no other
    /// file or temporary file is left in the shared folder.</summary>
    private async Task AssertExportFolderMatchesCompletedJobsAsync()
    {
        var expected = await cluster.QueryAsync("SELECT export_id, fencing_token FROM export_job WHERE status = 'Completed'",
            r => $"{r.GetGuid(0):N}.{r.GetInt64(1)}.csv");
        var published = Directory.GetFiles(ExportFolders.Files(cluster.ExportPath)).Select(Path.GetFileName).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), published.Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(ExportFolders.Temp(cluster.ExportPath)));
    }

    private static async Task<JsonElement> WaitAsync(HttpClient client, string exportId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await Marketo.StatusAsync(client, exportId);
            if (job.GetProperty("status").GetString() is "Completed" or "Failed" or "Cancelled")
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {exportId} still {job.GetProperty("status")} after {timeout}");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    private static async Task<T> PollAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null, TimeSpan? every = null)
        where T : struct
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(5));
        }
    }

    /// <summary>Streams the file: its length, its sha256 and its number of records (LF outside quotes, minus the header).</summary>
    private static async Task<(long Bytes, long Records, string Checksum)> DownloadAsync(HttpClient client, string exportId)
    {
        using var response = await client.GetAsync($"/bulk/v1/activities/export/{exportId}/file.json", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long bytes = 0, lines = 0;
        var quoted = false;
        byte last = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            bytes += read;
            for (var i = 0; i < read; i++)
            {
                switch (buffer[i])
                {
                    case (byte)'"':
                        quoted = !quoted; // an escaped quote ("") flips twice
                        break;
                    case (byte)'\n' when !quoted:
                        lines++;
                        break;
                }
            }

            last = buffer[read - 1];
        }

        Assert.Equal((byte)'\n', last);
        Assert.False(quoted);
        return (bytes, lines - 1, "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Reads the subscription's jobs in one statement, over and over: each read is a true snapshot (one MVCC snapshot),
    /// unlike a pass of status calls, which reads each job at a different moment.
    /// </summary>
    private sealed class Sampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task<Samples> _loop = null!;

        public static Sampler Start(ClusterFixture cluster, int subscription)
        {
            var sampler = new Sampler();
            sampler._loop = Task.Run(() => sampler.RunAsync(cluster, subscription));
            return sampler;
        }

        public async Task<Samples> StopAsync()
        {
            await _stop.CancelAsync();
            return await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
                try
                {
                    await _loop;
                }
                catch (Exception)
                {
                    // The test failed already.
                }
            }

            _stop.Dispose();
        }

        private async Task<Samples> RunAsync(ClusterFixture cluster, int subscription)
        {
            var samples = new Samples();
            var seen = new HashSet<(Guid, long)>();
            while (!_stop.IsCancellationRequested)
            {
                var rows = await cluster.QueryAsync(
                    "SELECT export_id, status, lease_node, fencing_token FROM export_job WHERE subscription_id = $1 AND status IN ('Queued', 'Processing')",
                    r => (Id: r.GetGuid(0), Status: r.GetString(1), Node: r.IsDBNull(2) ? null : r.GetString(2), Token: r.GetInt64(3)), subscription);
                var processing = rows.Where(r => r.Status == "Processing").ToList();
                samples.Count++;
                samples.MaxProcessing = Math.Max(samples.MaxProcessing, processing.Count);
                samples.MaxActive = Math.Max(samples.MaxActive, rows.Count);
                foreach (var run in processing.Where(r => r.Node is not null && seen.Add((r.Id, r.Token))))
                {
                    samples.RunsByNode[run.Node!] = samples.RunsByNode.GetValueOrDefault(run.Node!) + 1;
                }

                try
                {
                    await Task.Delay(5, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return samples;
        }
    }

    private sealed class Samples
    {
        public int Count { get; set; }
        public int MaxProcessing { get; set; }
        public int MaxActive { get; set; }
        public Dictionary<string, int> RunsByNode { get; } = [];
    }
}
