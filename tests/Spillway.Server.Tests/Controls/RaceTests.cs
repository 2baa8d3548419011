using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Races: many API users enqueue, cancel and download at once. A sampler reads the job table in single
/// statements (one snapshot each) the whole time: never more than 2 Processing or 10 Queued+Processing; no job
/// completes twice; every file served is whole; the export quota holds exactly at its boundary.
/// </summary>
public abstract class RaceTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>(Processing, Queued + Processing) of the whole table, in one statement.</summary>
    internal static async Task<(long Processing, long Active)> CountAsync(SpillwayTestServer server)
    {
        const string Sql = "SELECT COALESCE(SUM(CASE WHEN status = 'Processing' THEN 1 ELSE 0 END), 0), "
            + "COALESCE(SUM(CASE WHEN status IN ('Queued', 'Processing') THEN 1 ELSE 0 END), 0) FROM export_job";
        System.Data.Common.DbConnection connection = server.PostgresConnectionString is { } cs
            ? new Npgsql.NpgsqlConnection(cs)
            : new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataPath, "metadata.db")};Mode=ReadOnly;Pooling=False");
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = Sql;
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Many_users_enqueue_cancel_and_download_at_once_within_the_limits()
    {
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Logging:LogLevel:Spillway.Server.BulkExport"] = "Information" });
        var log = LogCapture.AttachTo(server);
        await server.AppendAsync([.. Enumerable.Range(1, 30_000).Select(i => Marketo.Activity(10_000 + i, Day.AddSeconds(i * 2)))]);
        var clients = new List<HttpClient> { await server.AuthorizedClientAsync() };
        for (var u = 0; u < 5; u++)
        {
            var (id, secret) = await server.CreateApiUserAsync($"racer{u}@example.com", "Read-Only Activity");
            clients.Add(await server.AuthorizedClientAsync(id, secret));
        }

        using var stop = new CancellationTokenSource();
        var violations = new ConcurrentQueue<string>();
        var samples = 0;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (processing, active) = await CountAsync(server);
                samples++;
                if (processing > 2 || active > 10)
                {
                    violations.Enqueue($"{processing} Processing, {active} Queued+Processing");
                }

                await Task.Delay(5);
            }
        });

        var downloads = 0;
        var refusals = new ConcurrentBag<string>();
        var completed = new ConcurrentDictionary<string, string>();
        async Task UserAsync(HttpClient client, int seed)
        {
            var random = new Random(seed);
            for (var round = 0; round < 6; round++)
            {
                var hours = random.Next(1, 18);
                var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddHours(hours)));
                using var enqueue = JsonDocument.Parse(await (await Marketo.PostEnqueueAsync(client, id)).Content.ReadAsStringAsync());
                if (!enqueue.RootElement.GetProperty("success").GetBoolean())
                {
                    refusals.Add(enqueue.RootElement.GetProperty("errors")[0].GetProperty("message").GetString()!);
                    continue;
                }

                if (random.Next(3) == 0)
                {
                    await Task.Delay(random.Next(0, 30));
                    await Marketo.PostCancelAsync(client, id);
                }

                var job = await Marketo.WaitAsync(client, id);
                if (job.GetProperty("status").GetString() == "Completed")
                {
                    var file = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync();
                    Interlocked.Increment(ref downloads);
                    Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)));
                    completed[id] = job.GetProperty("fileChecksum").GetString()!;
                }
            }
        }

        await Task.WhenAll(clients.Select((c, i) => Task.Run(() => UserAsync(c, 100 + i))));
        await stop.CancelAsync();
        await sampler;

        Assert.Empty(violations);
        Assert.True(samples > 20, $"only {samples} samples");
        Assert.True(downloads > 5, $"only {downloads} downloads");
        Assert.All(refusals, m => Assert.Equal("Too many jobs in queue", m));
        // No job completed twice: one "completed" log line and one published file per Completed job.
        var completions = log.Entries.Where(e => e.Message.Contains(" completed:", StringComparison.Ordinal)).Select(e => e.Message.Split(' ')[1]).ToList();
        Assert.Equal(completions.Count, completions.Distinct().Count());
        foreach (var id in completed.Keys)
        {
            Assert.Single(server.ExportFilesOf(id));
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task The_export_quota_is_exact_at_its_boundary_under_concurrent_creates()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1, maxQueuedJobs = 100 });
        using var client = await server.AuthorizedClientAsync();
        const long Quota = 1024 * 1024;
        const int Padding = 100;
        static Spillway.Contracts.ActivityRecord Row(long guid, DateTimeOffset at, int padding) =>
            Marketo.Activity(guid, at, attributes: $$"""{"p":"{{new string('q', padding)}}"}""");

        // Every row has the same width (5-digit guids, fixed columns), so file size = header + rows, to the byte.
        var (_, empty) = await Marketo.CompleteAsync(client, Marketo.Window(Day.AddDays(-3), Day.AddDays(-2)));
        var header = empty.GetProperty("fileSize").GetInt64();
        await server.AppendAsync(Row(10_000, Day.AddDays(-1), Padding));
        var (_, one) = await Marketo.CompleteAsync(client, Marketo.Window(Day.AddDays(-1), Day.AddDays(-1).AddHours(1)));
        var width = one.GetProperty("fileSize").GetInt64() - header;
        var rows = (Quota - header) / width;
        var rest = Quota - header - (rows * width);
        if (rest == 0)
        {
            rows--;
            rest = width;
        }

        // Day A: a file of exactly quota - 1 bytes; day B: exactly the quota.
        var dayA = Day.AddDays(1);
        var dayB = Day.AddDays(2);
        await server.AppendAsync([.. Enumerable.Range(0, (int)rows).Select(i => Row(20_000 + i, dayA.AddSeconds(i), i == 0 ? Padding + (int)rest - 1 : Padding))]);
        await server.AppendAsync([.. Enumerable.Range(0, (int)rows).Select(i => Row(60_000 + i, dayB.AddSeconds(i), i == 0 ? Padding + (int)rest : Padding))]);

        // A fresh quota day (the subscription's clock), so the probes above do not count.
        await server.Admin.PostAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/clock",
            new StringContent("""{"advanceSeconds":86400}""", System.Text.Encoding.UTF8, "application/json"));
        var (_, a) = await Marketo.CompleteAsync(client, Marketo.Window(dayA, dayA.AddHours(23)));
        Assert.Equal(Quota - 1, a.GetProperty("fileSize").GetInt64());
        // One byte under the quota: twelve concurrent creates all pass.
        foreach (var response in await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Marketo.PostCreateAsync(client, Marketo.Window(Day, Day.AddHours(1))))))
        {
            await Marketo.SuccessAsync(response);
        }

        await server.Admin.PostAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/clock",
            new StringContent("""{"advanceSeconds":86400}""", System.Text.Encoding.UTF8, "application/json"));
        var (_, b) = await Marketo.CompleteAsync(client, Marketo.Window(dayB, dayB.AddHours(23)));
        Assert.Equal(Quota, b.GetProperty("fileSize").GetInt64());
        // Exactly at the quota: twelve concurrent creates are all refused, with the message connectors match.
        foreach (var response in await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Marketo.PostCreateAsync(client, Marketo.Window(Day, Day.AddHours(1))))))
        {
            Assert.Matches(@"^Export daily quota \d+MB exceeded\.$", await Marketo.ErrorAsync(response, "1029"));
        }
    }
}

public sealed class RaceTests_Embedded : RaceTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class RaceTests_Postgres : RaceTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
