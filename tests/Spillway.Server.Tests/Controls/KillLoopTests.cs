using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// <c>kill -9</c> of the server process at seeded random points of running exports, 8 times in a row. After
/// every restart no job is lost or stranded; every file served at any time, between kills too, matches its checksum
/// (no partial file is ever served); at the end every job is terminal and no temporary file is left.
/// </summary>
public abstract class KillLoopTests : StoreTestBase
{
    private const string Munchkin = "444-DDD-444";
    private const string Key = "kill-loop-admin-key";
    private const int Kills = 8;

    [Fact]
    public async Task Eight_kills_at_random_points_lose_no_job_strand_none_and_never_serve_a_partial_file()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["Spillway:DataPath"] = dataPath,
            ["Spillway:AdminKey"] = Key,
            ["Spillway:Demo:Enabled"] = "false",
            ["Spillway:Worker:LeaseSeconds"] = "2",
            ["Spillway:Worker:RenewSeconds"] = "0.4",
            ["Spillway:Worker:PollSeconds"] = "0.2",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (Store == StoreKind.Postgres)
        {
            settings["Spillway:Provider"] = "Postgres";
            settings["Spillway:ConnectionString"] = await TestDatabases.CreatePostgresDatabaseAsync();
        }

        var random = new Random(7_0707);
        var port = ServerProcess.FreePort();
        var ids = new List<string>();
        var checksums = new Dictionary<string, string>();
        string token;
        try
        {
            await using (var first = await ServerProcess.StartAsync(settings, port))
            {
                using var admin = new HttpClient { BaseAddress = first.BaseAddress };
                admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", Key);
                (await admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = Munchkin })).EnsureSuccessStatusCode();
                (await admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/limits", new { rateLimitCalls = 1_000_000, concurrentCalls = 100, dailyExportQuotaMegabytes = 1_000_000 })).EnsureSuccessStatusCode();
                (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/users",
                    new { email = "kill@example.com", permissions = new[] { "Read-Write Activity" }, clientId = "kill-client", clientSecret = "kill-secret-0123456789" }))
                    .EnsureSuccessStatusCode();
                (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/seed", new { activities = 150_000, daysBack = 10, seed = 3 }))
                    .EnsureSuccessStatusCode();
                token = await TokenAsync(first.BaseAddress);
                using var client = Client(first.BaseAddress, token);
                var now = DateTimeOffset.UtcNow;
                for (var i = 0; i < 8; i++)
                {
                    // Windows of 3 to 10 days: each export runs long enough (about a second) to be killed in the middle.
                    var id = await Marketo.CreateAsync(client, Marketo.Window(now.AddDays(-10), now.AddDays(-10 + random.Next(3, 11))));
                    await Marketo.EnqueueAsync(client, id);
                    ids.Add(id);
                }

                await Task.Delay(random.Next(100, 1200));
                await first.KillAsync();
            }

            for (var kill = 1; kill <= Kills; kill++)
            {
                await using var server = await ServerProcess.StartAsync(settings, port);
                using var client = Client(server.BaseAddress, token);
                await CheckAsync(client, ids, checksums);
                if (kill == Kills)
                {
                    // The last run is left alone: every job must finish, none stays Queued or Processing.
                    foreach (var id in ids)
                    {
                        var job = await Marketo.WaitAsync(client, id);
                        Assert.Equal("Completed", job.GetProperty("status").GetString());
                    }

                    await CheckAsync(client, ids, checksums);
                    Assert.Equal(ids.Count, checksums.Count);
                    break;
                }

                // Fresh work for the next kill to land in (when the queue has room).
                for (var extra = 0; extra < 2; extra++)
                {
                    var now = DateTimeOffset.UtcNow;
                    var id = await Marketo.CreateAsync(client, Marketo.Window(now.AddDays(-10), now.AddDays(-10 + random.Next(3, 11))));
                    using var enqueued = JsonDocument.Parse(await (await Marketo.PostEnqueueAsync(client, id)).Content.ReadAsStringAsync());
                    if (enqueued.RootElement.GetProperty("success").GetBoolean())
                    {
                        ids.Add(id);
                    }
                }

                await Task.Delay(random.Next(100, 1500));
                await server.KillAsync();
            }

            Assert.Empty(Directory.GetFiles(ExportFolders.Temp(Path.Combine(dataPath, "exports"))));
            Assert.Equal(ids.Count, Directory.GetFiles(ExportFolders.Files(Path.Combine(dataPath, "exports"))).Length);
        }
        finally
        {
            try
            {
                Directory.Delete(dataPath, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Every job is still there; every Completed one serves exactly the bytes its checksum names, always the same.</summary>
    private static async Task CheckAsync(HttpClient client, List<string> ids, Dictionary<string, string> checksums)
    {
        foreach (var id in ids)
        {
            var job = await Marketo.StatusAsync(client, id);
            var status = job.GetProperty("status").GetString();
            Assert.Contains(status, new[] { "Queued", "Processing", "Completed" });
            if (status != "Completed")
            {
                // Not Completed when polled: a file is served only if the job completed since, and then it is whole.
                using var early = await Marketo.GetFileAsync(client, id);
                if (early.StatusCode == HttpStatusCode.NotFound)
                {
                    continue;
                }

                Assert.Equal(HttpStatusCode.OK, early.StatusCode);
                job = await Marketo.StatusAsync(client, id);
                Assert.Equal("Completed", job.GetProperty("status").GetString());
                var bytes = await early.Content.ReadAsByteArrayAsync();
                Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }

            var checksum = job.GetProperty("fileChecksum").GetString()!;
            if (checksums.TryGetValue(id, out var known))
            {
                // Verified whole before; a job completes once, so its checksum never changes across restarts.
                Assert.Equal(known, checksum);
                continue;
            }

            var file = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync();
            Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Length);
            Assert.Equal(checksum, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)));
            checksums[id] = checksum;
        }
    }

    private static HttpClient Client(Uri baseAddress, string token)
    {
        var client = new HttpClient { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<string> TokenAsync(Uri baseAddress)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        var response = await http.GetAsync("/identity/oauth/token?grant_type=client_credentials&client_id=kill-client&client_secret=kill-secret-0123456789");
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}

public sealed class KillLoopTests_Embedded : KillLoopTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class KillLoopTests_Postgres : KillLoopTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
