using Spillway.Client;
using Spillway.Contracts;
using Spillway.Testing;
using Xunit;

public class ExtractTests
{
    [Fact]
    public async Task Extracts_a_week_of_activities()
    {
        await using var marketo = await SpillwayServer.StartAsync(new SpillwayServerOptions { SeedActivities = 5_000, SeedDaysBack = 7 });
        using var http = new HttpClient();
        var client = new MarketoBulkClient(http, new MarketoClientOptions { BaseUrl = marketo.BaseAddress, ClientId = marketo.ClientId, ClientSecret = marketo.ClientSecret });
        var now = await marketo.Controls.GetNowAsync();
        var extractor = new BulkExtractor(client, new BulkExtractionOptions { OutputDirectory = Path.Combine(marketo.DataPath, "out"), PollInterval = TimeSpan.FromSeconds(0.2) });
        var result = await extractor.RunAsync(ExtractionPlanner.Plan(now.AddDays(-8), now));
        Assert.Equal(5_000, result.TotalRecords);
    }

    [Fact]
    public async Task A_fault_rule_makes_the_next_enqueue_fail_with_1029()
    {
        await using var marketo = await SpillwayServer.StartAsync();
        await marketo.Controls.AddFaultAsync(FaultRule.Error("1029") with { Endpoint = "enqueue", Count = 1 });
        using var http = new HttpClient();
        var client = new MarketoBulkClient(http, new MarketoClientOptions { BaseUrl = marketo.BaseAddress, ClientId = marketo.ClientId, ClientSecret = marketo.ClientSecret, MaxQueueFullWaits = 0 });
        var now = await marketo.Controls.GetNowAsync();
        var job = await client.CreateExportAsync(new ExportActivityRequest { Filter = new ExportActivityFilter { CreatedAt = new DateRange(now.AddDays(-1), now) } });
        await Assert.ThrowsAnyAsync<MarketoApiException>(() => client.EnqueueExportAsync(job.ExportId));
        var log = await marketo.Controls.GetRequestLogAsync();
        Assert.Contains(log, call => call.Path.EndsWith("/enqueue.json", StringComparison.Ordinal) && call.Code == "1029" && call.Fault is not null);
    }
}
