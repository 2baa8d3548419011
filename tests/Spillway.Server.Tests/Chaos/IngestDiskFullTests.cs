using System.Globalization;
using System.Net;
using System.Text.Json;
using Spillway.Server.Tests.Http;
using Spillway.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Spillway.Server.Tests.Chaos;

/// <summary>
/// A full disk under the embedded store's data folder while clients add activities (external.json): every call gets a
/// Marketo answer, an activity the server said it added is kept (in the running server and after a restart), nothing
/// it refused appears, and with room again ingest goes on. PostgreSQL keeps its own disk; a write it cannot make is a
/// rolled-back transaction, which the other suites cover.
/// </summary>
public sealed class IngestDiskFullTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Ingest_that_fills_the_disk_keeps_every_acknowledged_activity_and_goes_on_once_there_is_room()
    {
        using var disk = Tmpfs.Mount(kilobytes: 12 * 1024);
        var dataPath = Path.Combine(disk.Path, "data");
        var acknowledged = new HashSet<long>();
        var refusals = new Dictionary<string, int>();
        var random = new Random(5);
        (string Id, string Secret) credentials;

        await using (var server = await SpillwayTestServer.StartAsync(dataPath: dataPath))
        {
            server.KeepData = true;
            credentials = await server.CreateApiUserAsync("meta@example.com", "Read-Write Activity Metadata", "Read-Write Activity");
            using var client = await server.AuthorizedClientAsync(credentials.Id, credentials.Secret);
            var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);

            // Batches of 300 with 1 KB of random text each: about 300 KB a batch, so the 12 MB fill within 60 batches.
            var refusedInARow = 0;
            for (var batch = 0; batch < 200 && refusedInARow < 5; batch++)
            {
                var response = await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Batch(typeId, random)));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var envelope = await Marketo.EnvelopeAsync(response);
                if (envelope.GetProperty("success").GetBoolean())
                {
                    refusedInARow = 0;
                    foreach (var result in envelope.GetProperty("result").EnumerateArray())
                    {
                        Assert.Equal("added", result.GetProperty("status").GetString());
                        Assert.True(acknowledged.Add(result.GetProperty("id").GetInt64()));
                    }
                }
                else
                {
                    refusedInARow++;
                    var code = envelope.GetProperty("errors")[0].GetProperty("code").GetString()!;
                    refusals[code] = refusals.GetValueOrDefault(code) + 1;
                }
            }

            Assert.True(refusals.Count > 0, $"the disk never filled ({acknowledged.Count:N0} activities added)");
            output.WriteLine($"added {acknowledged.Count:N0} before the disk filled; refused: {string.Join(", ", refusals.Select(r => $"{r.Key} x{r.Value}"))}");
            Assert.True(acknowledged.Count > 0);
            Assert.Equal(["611"], refusals.Keys);

            // With room again (an export needs room for its file), the server holds every acknowledged activity and
            // nothing else, and ingest goes on without a restart.
            disk.Resize(kilobytes: 256 * 1024);
            Assert.Equal(acknowledged.Order(), await GuidsAsync(client));
            var after = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Batch(typeId, random))));
            foreach (var result in after.GetProperty("result").EnumerateArray())
            {
                Assert.True(acknowledged.Add(result.GetProperty("id").GetInt64()));
            }
        }

        // And after a restart on the same folder, the store holds exactly what was acknowledged.
        await using (var again = await SpillwayTestServer.StartAsync(dataPath: dataPath))
        {
            using var client = await again.AuthorizedClientAsync(credentials.Id, credentials.Secret);
            Assert.Equal(acknowledged.Order(), await GuidsAsync(client));
        }
    }

    private static string Batch(int typeId, Random random) => "{\"input\":[" + string.Join(',', Enumerable.Range(0, 300).Select(i =>
        $$"""{"leadId":{{i + 1}},"activityDate":"2026-03-01T00:00:00Z","activityTypeId":{{typeId}},"primaryAttributeValue":"{{Convert.ToHexString(random.GetItems<byte>(Enumerable.Range(0, 256).Select(b => (byte)b).ToArray(), 512))}}","attributes":[]}""")) + "]}";

    /// <summary>Every activity of the day, through the bulk export (the same read a client makes).</summary>
    private static async Task<long[]> GuidsAsync(HttpClient client)
    {
        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        return [.. Marketo.Guids(file).Order()];
    }
}
