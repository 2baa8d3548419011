using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// A server killed with SIGKILL in the middle of an export loses no job and strands none;
/// after a restart the job runs again and completes with a correct file, and no temporary file is left.
/// </summary>
public abstract class CrashRecoveryTests : StoreTestBase
{
    private const string Munchkin = "222-BBB-222";
    private const string Key = "crash-test-admin-key";

    [Fact]
    public async Task A_job_killed_mid_export_completes_after_restart_with_a_correct_file()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["Spillway:DataPath"] = dataPath,
            ["Spillway:AdminKey"] = Key,
            ["Spillway:Demo:Enabled"] = "false",
            ["Spillway:Worker:LeaseSeconds"] = "3",
            ["Spillway:Worker:RenewSeconds"] = "0.5",
            ["Spillway:Worker:PollSeconds"] = "0.2",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (Store == StoreKind.Postgres)
        {
            settings["Spillway:Provider"] = "Postgres";
            settings["Spillway:ConnectionString"] = await TestDatabases.CreatePostgresDatabaseAsync();
        }

        try
        {
            string exportId;
            string token;
            var port = ServerProcess.FreePort();
            await using (var first = await ServerProcess.StartAsync(settings, port))
            {
                using var admin = AdminClient(first.BaseAddress);
                (await admin.PostAsJsonAsync("/_spillway/admin/subscriptions", new { munchkinId = Munchkin })).EnsureSuccessStatusCode();
                // The test polls fast; the call limits are not what it is about.
                (await admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/limits", new { rateLimitCalls = 100_000 })).EnsureSuccessStatusCode();
                var user = await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/users",
                    new { email = "crash@example.com", permissions = new[] { "Read-Write Activity" }, clientId = "crash-client", clientSecret = "crash-secret-0123456789" });
                user.EnsureSuccessStatusCode();
                (await admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Munchkin}/seed", new { activities = 600_000, daysBack = 20, seed = 7 }))
                    .EnsureSuccessStatusCode();

                using var client = new HttpClient { BaseAddress = first.BaseAddress };
                token = await TokenAsync(client);
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                var end = DateTimeOffset.UtcNow;
                exportId = await Marketo.CreateAsync(client, Marketo.Window(end.AddDays(-20), end));
                await Marketo.EnqueueAsync(client, exportId);
                await Marketo.WaitAsync(client, exportId, "Processing", "Completed");
                var status = (await Marketo.StatusAsync(client, exportId)).GetProperty("status").GetString();
                Assert.Equal("Processing", status); // the window is large enough to still be running
                await first.KillAsync();
            }

            await using var second = await ServerProcess.StartAsync(settings, port);
            using var again = new HttpClient { BaseAddress = second.BaseAddress };
            again.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var job = await Marketo.WaitAsync(again, exportId);
            Assert.Equal("Completed", job.GetProperty("status").GetString());

            var file = await (await again.GetAsync($"/bulk/v1/activities/export/{exportId}/file.json")).Content.ReadAsByteArrayAsync();
            Assert.Equal(job.GetProperty("fileSize").GetInt64(), file.Length);
            Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)));
            Assert.True(job.GetProperty("numberOfRecords").GetInt64() > 100_000);
            Assert.EndsWith("\n", System.Text.Encoding.UTF8.GetString(file, file.Length - 1, 1));

            // No temporary file survives the crash and the rerun, and exactly one published file is left.
            Assert.Empty(Directory.GetFiles(ExportFolders.Temp(Path.Combine(dataPath, "exports"))));
            Assert.Single(Directory.GetFiles(ExportFolders.Files(Path.Combine(dataPath, "exports"))));
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

    private static HttpClient AdminClient(Uri baseAddress)
    {
        var admin = new HttpClient { BaseAddress = baseAddress };
        admin.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", Key);
        return admin;
    }

    private static async Task<string> TokenAsync(HttpClient client)
    {
        var response = await client.GetAsync("/identity/oauth/token?grant_type=client_credentials&client_id=crash-client&client_secret=crash-secret-0123456789");
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}

public sealed class CrashRecoveryTests_Embedded : CrashRecoveryTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class CrashRecoveryTests_Postgres : CrashRecoveryTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
