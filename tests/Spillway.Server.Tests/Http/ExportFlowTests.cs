using System.Net;
using System.Security.Cryptography;
using System.Text;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

public abstract class ExportFlowTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Whole_flow_returns_the_window_in_order_with_exact_size_and_checksum()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(
            new ActivityRecord(102, 7, Day.AddHours(2), 1, 55, 9, "page", """{"Webpage URL":"https://x.test/a"}""", "succeeded"),
            new ActivityRecord(101, 7, Day.AddHours(2), 12, null, 7, null, "{}", null),
            new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail, \"Q\"", """{"Step ID":1}""", "succeeded"),
            new ActivityRecord(103, 8, Day.AddDays(2), 1, 1, 1, "outside", "{}", null));
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var expected =
            "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes\n" +
            "100,8,2026-03-01T01:00:00Z,6,3,4,\"Mail, \"\"Q\"\"\",\"{\"\"Step ID\"\":1}\"\n" +
            "101,7,2026-03-01T02:00:00Z,12,null,7,null,{}\n" +
            "102,7,2026-03-01T02:00:00Z,1,55,9,page,\"{\"\"Webpage URL\"\":\"\"https://x.test/a\"\"}\"\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(file));
        Assert.Equal(3, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(file.Length, job.GetProperty("fileSize").GetInt64());
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)), job.GetProperty("fileChecksum").GetString());
    }
}

public sealed class ExportFlowTests_Embedded : ExportFlowTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ExportFlowTests_Postgres : ExportFlowTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
