using System.CommandLine;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Spectre.Console;
using Spillway.Cli.Commands;
using Spillway.Contracts;
using Spillway.Server.Tests.Infrastructure;
using static Spillway.Client.Tests.RealServer.RealServerKit;

namespace Spillway.Client.Tests.RealServer;

/// <summary><c>spillway export</c> run in process against a real Spillway server, its outputs read back.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly string _dir = TempDir();

    public ExportCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => DeleteDir(_dir);

    private static async Task<(int Code, string Output)> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 240;
        var root = new RootCommand { ExportCommand.Create(console, name => environment.GetValueOrDefault(name)) };
        var code = await root.Parse(args).InvokeAsync();
        return (code, writer.ToString());
    }

    private static Dictionary<string, string?> Credentials(SpillwayTestServer server) => new()
    {
        ["SPILLWAY_CLIENT_ID"] = server.ClientId,
        ["MARKETO_CLIENT_SECRET"] = server.ClientSecret, // the Marketo names are accepted too
    };

    private static string[] Range(SpillwayTestServer server, DateTimeOffset since, DateTimeOffset until, params string[] more) =>
    [
        "export", "--url", server.BaseAddress.ToString(), "--since", MarketoDateTime.Format(since), "--until", MarketoDateTime.Format(until),
        "--poll-seconds", "0.1", .. more,
    ];

    [Fact]
    public async Task Export_WritesCsvNdjsonAndParquet_WithExactlyTheStoredActivities()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.SeedAsync(3000, daysBack: 20, seed: 17);
        var hard = await server.AppendAtAsync(now.AddDays(-3));
        var until = now.AddSeconds(1);
        var since = until.AddDays(-21); // three windows of 7 days
        var stored = await StoredGuidsAsync(server, since, now);
        var env = Credentials(server);

        // CSV: the server's files merged, in three windows.
        var csv = Path.Combine(_dir, "out.csv");
        var (code, output) = await RunAsync(env, Range(server, since, until, "--window-days", "7", "-o", csv));
        Assert.True(code == 0, output);
        Assert.True(output.Contains($"rows={stored.Count} files=3 verified=3", StringComparison.Ordinal), output);
        Assert.True(output.Contains("Export complete", StringComparison.Ordinal), output);
        var fromCsv = new List<string>();
        await using (var reader = ExportFileReader.OpenFile(csv))
        {
            Assert.Equal(["marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId", "primaryAttributeValue", "attributes"],
                await reader.ReadHeaderAsync());
            await foreach (var r in reader.ReadRecordsAsync())
            {
                fromCsv.Add(r.MarketoGuid);
            }
        }

        Assert.Equal(stored, fromCsv);
        Assert.False(Directory.Exists(csv + ".parts"), "the window files were not cleaned up");

        // NDJSON: types by name and id, one typed object per line.
        var ndjson = Path.Combine(_dir, "out.ndjson");
        (code, output) = await RunAsync(env, Range(server, since, until, "--window-days", "10", "-t", "Visit Webpage", "-t", "2", "-o", ndjson));
        Assert.True(code == 0, output);
        Assert.True(output.Contains("types 1, 2", StringComparison.Ordinal), output);
        var expected = await StoredGuidsAsync(server, since, now, [1, 2]);
        var lines = await File.ReadAllLinesAsync(ndjson);
        Assert.Equal(expected.Count, lines.Length);
        var fromJson = new List<string>();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            fromJson.Add(o.GetProperty("marketoGUID").GetString()!);
            Assert.Equal(JsonValueKind.Number, o.GetProperty("leadId").ValueKind);
            Assert.Contains(o.GetProperty("activityTypeId").GetInt32(), new[] { 1, 2 });
            Assert.EndsWith("Z", o.GetProperty("activityDate").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.Object, o.GetProperty("attributes").ValueKind);
        }

        Assert.Equal(expected, fromJson);
        var hardLine = JsonDocument.Parse(lines.Single(l => l.Contains($"\"{hard[0]}\"", StringComparison.Ordinal))).RootElement;
        Assert.Equal("192.0.2.1", hardLine.GetProperty("attributes").GetProperty("Client IP Address").GetString());
        Assert.Equal(1000, hardLine.GetProperty("primaryAttributeValueId").GetInt64());

        // Parquet into a folder: typed columns, attributes as a JSON string.
        var folder = Path.Combine(_dir, "pq") + Path.DirectorySeparatorChar;
        (code, output) = await RunAsync(env, Range(server, since, until, "--format", "parquet", "-o", folder));
        Assert.True(code == 0, output);
        var file = Assert.Single(Directory.GetFiles(folder, "activities_*.parquet"));
        await using var parquet = await ParquetReader.CreateAsync(file);
        var fields = parquet.Schema.GetDataFields();
        Assert.Equal(["marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId", "primaryAttributeValue", "attributes"],
            fields.Select(f => f.Name));
        Assert.Equal(typeof(long), fields[1].ClrType);
        Assert.Equal(typeof(DateTime), fields[2].ClrType);
        Assert.Equal(typeof(int), fields[3].ClrType);
        Assert.True(fields[4].IsNullable);
        var fromParquet = new List<string>();
        for (var g = 0; g < parquet.RowGroupCount; g++)
        {
            using var group = parquet.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            var guids = new string?[n];
            var leads = new long[n];
            var dates = new DateTime[n];
            var attributes = new string?[n];
            await group.ReadAsync(fields[0], guids.AsMemory());
            await group.ReadAsync<long>(fields[1], leads.AsMemory());
            await group.ReadAsync<DateTime>(fields[2], dates.AsMemory());
            await group.ReadAsync(fields[7], attributes.AsMemory());
            fromParquet.AddRange(guids.Select(g => g!));
            Assert.All(leads, l => Assert.True(l > 0));
            Assert.All(dates, d => Assert.InRange(new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)), since, until));
            Assert.All(attributes, a => Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(a!).RootElement.ValueKind));
        }

        Assert.Equal(stored, fromParquet);
    }

    [Fact]
    public async Task Export_StateLeftBehind_NeedsResume_AndResumeReusesTheVerifiedWindows()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var now = Now(server);
        await server.SeedAsync(800, daysBack: 6, seed: 19);
        var env = Credentials(server);
        var csv = Path.Combine(_dir, "kept.csv");
        var args = Range(server, now.AddDays(-6), now, "--window-days", "3", "-o", csv, "--keep-windows"); // two windows

        var (code, output) = await RunAsync(env, args);
        Assert.True(code == 0, output);
        var first = await File.ReadAllBytesAsync(csv);
        Assert.True(File.Exists(Path.Combine(csv + ".parts", "spillway-export-state.json")));

        // CSV as the server sends it: the window files one after the other, the header once.
        var windows = Directory.GetFiles(csv + ".parts", "activities_*.csv").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, windows.Count);
        var concatenated = new List<byte>();
        foreach (var (window, i) in windows.Select((w, i) => (w, i)))
        {
            var bytes = await File.ReadAllBytesAsync(window);
            concatenated.AddRange(i == 0 ? bytes : bytes.Skip(Array.IndexOf(bytes, (byte)'\n') + 1));
        }

        Assert.Equal(concatenated.ToArray(), first);

        (code, output) = await RunAsync(env, args);
        Assert.Equal(ExportCommand.ExitUsage, code);
        Assert.True(output.Contains("--resume", StringComparison.Ordinal), output);

        (code, output) = await RunAsync(env, [.. args, "--resume"]);
        Assert.True(code == 0, output);
        Assert.True(output.Contains("0 downloaded now, 2 from an earlier run", StringComparison.Ordinal), output);
        Assert.True(output.Contains("verified=2", StringComparison.Ordinal), output);
        Assert.Equal(first, await File.ReadAllBytesAsync(csv));
    }

    [Fact]
    public async Task Export_QuotaUsedUp_Exits3_WithTheResetTime_ThenResumesTheNextDay()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SetLimitsAsync(new { dailyExportQuotaMegabytes = 1 });
        var now = Now(server);
        await server.SeedAsync(12_000, daysBack: 4, seed: 23);
        var env = Credentials(server);
        var csv = Path.Combine(_dir, "quota.csv");
        var args = Range(server, now.AddDays(-4), now, "--window-days", "2", "--max-jobs", "1", "-o", csv); // two windows

        var (code, output) = await RunAsync(env, args);
        Assert.True(code == ExportCommand.ExitQuota, output);
        var reset = MarketoQuotaDay.NextReset(DateTimeOffset.UtcNow);
        Assert.True(output.Contains("quota of 1 MB is used up", StringComparison.Ordinal), output);
        Assert.True(output.Contains($"resets at {reset.UtcDateTime:yyyy-MM-dd HH:mm} UTC", StringComparison.Ordinal), output);
        Assert.False(File.Exists(csv));

        server.Clock.Advance(TimeSpan.FromDays(1)); // the next quota day
        (code, output) = await RunAsync(env, [.. args, "--resume"]);
        Assert.True(code == 0, output);
        Assert.True(output.Contains("1 from an earlier run", StringComparison.Ordinal), output);
        var stored = await StoredGuidsAsync(server, now.AddDays(-4), now.AddSeconds(-1));
        Assert.True(output.Contains($"rows={stored.Count} ", StringComparison.Ordinal), output);
    }
}
