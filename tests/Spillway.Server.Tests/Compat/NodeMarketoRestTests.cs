using System.Diagnostics;
using System.Text.Json;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Compat;

/// <summary>
/// A real third-party client in CI: node-marketo-rest 0.7.8 from npm (tests/compat/node-marketo-rest, installed by
/// scripts/test.sh), pointed at <c>{base}/rest</c> and <c>{base}/identity</c>, runs create, enqueue, status until
/// Completed, file and cancel, for its activity extract and its lead extract. Its bulk URLs are built as <c>/rest/../bulk/v1/...</c> and it sends <c>_method</c>
/// overrides, so this also exercises those quirks as a real client sends them.
/// </summary>
public abstract class NodeMarketoRestTests : StoreTestBase
{
    [Fact]
    public async Task The_published_client_runs_the_whole_bulk_flow()
    {
        await using var server = await StartAsync();
        var day = new DateTimeOffset(2026, 2, 10, 0, 0, 0, TimeSpan.Zero);
        await server.AppendAsync(
            new ActivityRecord(1, 10, day.AddHours(1), 1, 5, 7, "page, \"one\"", """{"Webpage URL":"/a"}""", "succeeded"),
            new ActivityRecord(2, 11, day.AddHours(2), 12, null, 11, null, "{}", null),
            new ActivityRecord(3, 12, day.AddDays(3), 1, 5, 7, "outside", "{}", null));

        var (leadId, leadSecret) = await server.CreateApiUserAsync("node-leads@example.com", "Read-Write Lead");
        using (var writer = await server.AuthorizedClientAsync(leadId, leadSecret))
        {
            // Five days on, so the New Lead activities stay out of the activity export's window.
            server.Clock.SetNow(day.AddDays(5).AddHours(3));
            await Marketo.SuccessAsync(await writer.PostAsync("/rest/v1/leads.json",
                Marketo.Json("""{"input":[{"email":"ann@example.com","firstName":"Ann, \"A\""},{"email":"bob@example.com"}]}""")));
            server.Clock.Reset();
        }

        var output = await RunNodeAsync(server, "2026-02-10T00:00:00Z", "2026-02-11T00:00:00Z", (leadId, leadSecret));
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;

        Assert.Equal("Created", root.GetProperty("create").GetProperty("result")[0].GetProperty("status").GetString());
        Assert.Equal("Queued", root.GetProperty("enqueue").GetProperty("result")[0].GetProperty("status").GetString());
        var final = root.GetProperty("final").GetProperty("result")[0];
        Assert.Equal("Completed", final.GetProperty("status").GetString());
        Assert.Equal(2, final.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal("string", root.GetProperty("fileType").GetString());
        Assert.Equal(final.GetProperty("fileSize").GetInt64(), root.GetProperty("fileLength").GetInt64());
        Assert.Equal(final.GetProperty("fileChecksum").GetString(), root.GetProperty("fileSha256").GetString());
        Assert.Equal("marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes",
            root.GetProperty("fileHead").GetString());
        Assert.Equal("Cancelled", root.GetProperty("cancel").GetProperty("result")[0].GetProperty("status").GetString());

        var leads = root.GetProperty("leads");
        Assert.Equal("Created", leads.GetProperty("create").GetProperty("result")[0].GetProperty("status").GetString());
        Assert.Equal("Queued", leads.GetProperty("enqueue").GetProperty("result")[0].GetProperty("status").GetString());
        var leadJob = leads.GetProperty("final").GetProperty("result")[0];
        Assert.Equal("Completed", leadJob.GetProperty("status").GetString());
        Assert.Equal(2, leadJob.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal("id,email,firstName\n1,ann@example.com,\"Ann, \"\"A\"\"\"\n2,bob@example.com,null\n", leads.GetProperty("file").GetString());
        Assert.Equal("Cancelled", leads.GetProperty("cancel").GetProperty("result")[0].GetProperty("status").GetString());
    }

    private static async Task<string> RunNodeAsync(SpillwayTestServer server, string start, string end, (string Id, string Secret) leadUser)
    {
        var folder = Path.Combine(RepositoryRoot(), "tests", "compat", "node-marketo-rest");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "node-marketo-rest")),
            "node-marketo-rest is not installed: run scripts/test.sh (it runs npm ci in tests/compat/node-marketo-rest).");
        var info = new ProcessStartInfo("node", "run.js")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["SPILLWAY_BASE"] = server.BaseAddress.ToString();
        info.Environment["SPILLWAY_CLIENT_ID"] = server.ClientId;
        info.Environment["SPILLWAY_CLIENT_SECRET"] = server.ClientSecret;
        info.Environment["SPILLWAY_START"] = start;
        info.Environment["SPILLWAY_END"] = end;
        info.Environment["SPILLWAY_LEAD_START"] = "2026-02-15T00:00:00Z";
        info.Environment["SPILLWAY_LEAD_END"] = "2026-02-16T00:00:00Z";
        info.Environment["SPILLWAY_LEAD_CLIENT_ID"] = leadUser.Id;
        info.Environment["SPILLWAY_LEAD_CLIENT_SECRET"] = leadUser.Secret;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
        return (await stdout).Trim().Split('\n')[^1];
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Spillway.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Spillway.slnx).");
    }
}

public sealed class NodeMarketoRestTests_Embedded : NodeMarketoRestTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class NodeMarketoRestTests_Postgres : NodeMarketoRestTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
