using System.Security.Cryptography;
using System.Text;
using Spillway.Contracts;
using Spillway.Server.Tests.Infrastructure;
using static Spillway.Client.Tests.RealServer.RealServerKit;

namespace Spillway.Client.Tests.RealServer;

/// <summary>The client's Bulk Lead Extract calls and lead extractions in windows against the real server.</summary>
public sealed class LeadExtractClientTests : IDisposable
{
    private readonly string _dir = TempDir();

    public void Dispose() => DeleteDir(_dir);

    /// <summary>Creates one lead per instant through Sync Leads, with the server's clock set to that instant.</summary>
    private static async Task CreateLeadsAsync(SpillwayTestServer server, HttpClient writer, params DateTimeOffset[] instants)
    {
        for (var i = 0; i < instants.Length; i++)
        {
            server.Clock.SetNow(instants[i]);
            var body = $$"""{"input":[{"email":"lead{{i}}@example.com"}]}""";
            var response = await writer.PostAsync("/rest/v1/leads.json", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Contains("\"created\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    private static async Task<(MarketoBulkClient Client, HttpClient Http, HttpClient Writer)> LeadClientsAsync(SpillwayTestServer server)
    {
        var (id, secret) = await server.CreateApiUserAsync($"lead-client-{Guid.NewGuid():N}@example.com", "Read-Write Lead");
        var writer = await server.AuthorizedClientAsync(id, secret);
        var (client, http) = ClientFor(server, configure: o =>
        {
            o.ClientId = id;
            o.ClientSecret = secret;
        });
        return (client, http, writer);
    }

    [Fact]
    public async Task CreateEnqueueStatusDownload_OfALeadExport_GivesTheVerifiedFile()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        var (client, http, writer) = await LeadClientsAsync(server);
        using (writer)
        using (http)
        using (client)
        {
            await CreateLeadsAsync(server, writer, now.AddDays(-2), now.AddDays(-1));
            var created = await client.CreateLeadExportAsync(new ExportLeadRequest
            {
                Fields = ["id", "email"],
                ColumnHeaderNames = new Dictionary<string, string> { ["email"] = "Email" },
                Filter = new ExportLeadFilter { CreatedAt = new DateRange(now.AddDays(-3), now.AddDays(1)) },
            });
            Assert.Equal(ExportJobStatuses.Created, created.Status);
            Assert.Equal(ExportJobStatuses.Queued, (await client.EnqueueLeadExportAsync(created.ExportId)).Status);
            // A second enqueue ("Job already queued") answers the job's current status; a job that finished in between
            // cannot be enqueued again (1003, as in Marketo).
            try
            {
                Assert.Contains((await client.EnqueueLeadExportAsync(created.ExportId)).Status,
                    new[] { ExportJobStatuses.Queued, ExportJobStatuses.Processing, ExportJobStatuses.Completed });
            }
            catch (MarketoApiException e) when (e.Code == "1003")
            {
                Assert.Contains("Completed and cannot be enqueued", e.Message, StringComparison.Ordinal);
                Assert.Equal(ExportJobStatuses.Completed, (await client.GetLeadExportStatusAsync(created.ExportId)).Status);
            }

            ExportJob job;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((job = await client.GetLeadExportStatusAsync(created.ExportId)).Status is ExportJobStatuses.Queued or ExportJobStatuses.Processing)
            {
                Assert.True(DateTime.UtcNow < deadline, "the lead export did not finish");
                await Task.Delay(100);
            }

            Assert.Equal(ExportJobStatuses.Completed, job.Status);
            var file = await client.DownloadLeadFileAsync(job, Path.Combine(_dir, "leads.csv"));
            var bytes = await File.ReadAllBytesAsync(file.Path);
            Assert.Equal("id,Email\n1,lead0@example.com\n2,lead1@example.com\n", Encoding.UTF8.GetString(bytes));
            Assert.Equal(job.FileChecksum, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));

            var error = await Assert.ThrowsAsync<MarketoApiException>(() => client.CreateLeadExportAsync(new ExportLeadRequest
            {
                Fields = ["shoeSize"],
                Filter = new ExportLeadFilter { CreatedAt = new DateRange(now.AddDays(-3), now) },
            }));
            Assert.Equal("1003", error.Code);
            Assert.Equal(ExportJobStatuses.Cancelled, (await client.CancelLeadExportAsync(
                (await client.CreateLeadExportAsync(new ExportLeadRequest { Fields = ["id"], Filter = new ExportLeadFilter { UpdatedAt = new DateRange(now.AddDays(-1), now) } })).ExportId)).Status);
        }
    }

    [Fact]
    public async Task ALeadExtraction_RunsOneJobPer31DayWindow_AndARerunResumesFromTheStateFile()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SetLimitsWithRoomAsync();
        var now = Now(server);
        var (client, http, writer) = await LeadClientsAsync(server);
        using (writer)
        using (http)
        using (client)
        {
            await CreateLeadsAsync(server, writer, now.AddDays(-50), now.AddDays(-40), now.AddDays(-5));
            server.Clock.SetNow(now);
            var options = Extraction(_dir);
            options.Target = BulkExtractTarget.Leads;
            options.Fields = ["id", "email", "createdAt"];
            var plan = ExtractionPlanner.Plan(now.AddDays(-60), now);
            Assert.Equal(2, plan.Count);

            var result = await new BulkExtractor(client, options).RunAsync(plan);
            Assert.Equal(3, result.TotalRecords);
            var ids = result.Windows.SelectMany(w => File.ReadAllLines(w.FilePath).Skip(1)).Select(l => l.Split(',')[0]).ToList();
            Assert.Equal(["1", "2", "3"], ids);
            Assert.All(result.Windows, w => Assert.StartsWith("leads_", Path.GetFileName(w.FilePath), StringComparison.Ordinal));

            var again = await new BulkExtractor(client, options).RunAsync(plan);
            Assert.All(again.Windows, w => Assert.True(w.FromEarlierRun));

            Assert.Throws<ArgumentException>(() => new BulkExtractor(client, new BulkExtractionOptions { Target = BulkExtractTarget.Leads }));
        }
    }
}
