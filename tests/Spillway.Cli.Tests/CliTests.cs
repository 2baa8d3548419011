using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spillway.Cli;
using Spillway.Cli.Commands;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Cli.Tests;

/// <summary>
/// The spillway commands run in process: exit codes, one-line errors, the data-folder guard, the duration syntax, the
/// server address names, --resume and -o - against a real server. One class, because the commands write to the
/// process's Console, which the tests swap.
/// </summary>
[Collection(ProcessState)]
public sealed partial class CliTests : IDisposable
{
    /// <summary>The collection of the CLI test classes that change the process's Console or current directory: they never run at once.</summary>
    public const string ProcessState = "process console and current directory";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var code = await CliApp.RunAsync(args, error);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Fact]
    public async Task MissingDataFolder_IsRefusedInOneLine_WithExitCode2_AndCreateMakesIt()
    {
        var typo = Path.Combine(_dir, "typo-folder");
        var (code, _, err) = await RunAsync("subscription", "list", "--data", typo);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("does not exist", err, StringComparison.Ordinal);
        Assert.Contains("--create", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(typo));

        var (created, _, createdErr) = await RunAsync("subscription", "create", "123-ABC-456", "--data", typo, "--create");
        Assert.True(created == 0, createdErr);
        Assert.True(Directory.Exists(typo));
        Assert.Equal(0, (await RunAsync("subscription", "list", "--data", typo)).Code);

        // The store --create made is the one the next command opens: the same subscription again is refused.
        Assert.Equal(ExitCodes.Failure, (await RunAsync("subscription", "create", "123-ABC-456", "--data", typo)).Code);
    }

    [Fact]
    public void Classify_MapsExpectedFailuresToOneLineAndTheirExitCodes()
    {
        Assert.Equal(ExitCodes.Environment, ErrorReport.Classify(new HttpRequestException("Connection refused"), null).Code);
        Assert.Equal(ExitCodes.Environment,
            ErrorReport.Classify(new InvalidOperationException("x", new IOException("Could not set lock on file \"a.duckdb\"")), "d").Code);
        Assert.Equal(ExitCodes.Environment, ErrorReport.Classify(
            new InvalidOperationException("The data folder '/srv/d' is in use by another Spillway process."), "/srv/d").Code);
        Assert.Equal(ExitCodes.Interrupted, ErrorReport.Classify(new OperationCanceledException(), null).Code);
        Assert.Equal(ExitCodes.Usage, ErrorReport.Classify(new CliException(ExitCodes.Usage, "bad"), null).Code);
        Assert.Equal(ExitCodes.Failure, ErrorReport.Classify(new InvalidDataException("odd"), null).Code);

        var error = new StringWriter();
        Assert.Equal(ExitCodes.Failure, ErrorReport.Write(Thrown(), verbose: false, null, error));
        Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        error = new StringWriter();
        ErrorReport.Write(Thrown(), verbose: true, null, error);
        Assert.Contains("   at ", error.ToString(), StringComparison.Ordinal);
    }

    private static Exception Thrown()
    {
        try
        {
            throw new InvalidDataException("broken");
        }
        catch (InvalidDataException ex)
        {
            return ex;
        }
    }

    [Fact]
    public async Task ParserErrors_Exit1_AndUnreachableServer_Exits4()
    {
        var (code, _, _) = await RunAsync("export", "--no-such-option");
        Assert.Equal(1, code);

        var (down, _, err) = await RunAsync("control", "clock", "111-AAA-111", "--url", "http://127.0.0.1:1", "--admin-key", "k");
        Assert.Equal(ExitCodes.Environment, down);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("2h", 7200)]
    [InlineData("1.5d", 129600)]
    [InlineData("2w", 1209600)]
    [InlineData("-30s", -30)]
    public void Durations_ReadEveryUnit(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var span));
        Assert.Equal(seconds, span.TotalSeconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2x")]
    [InlineData("s")]
    [InlineData("1e400s")]
    public void Durations_RefuseWhatIsNotOne(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void Since_TakesSecondsAndWeeks()
    {
        var now = new DateTimeOffset(2026, 1, 15, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddSeconds(-90), ExportCommand.ParseInstant("90s", now, "--since"));
        Assert.Equal(now.AddDays(-14), ExportCommand.ParseInstant("2w", now, "--since"));
    }

    [Fact]
    public void PollInterval_IsShortForLoopback_AndMarketosForRemote()
    {
        Assert.True(ExportCommand.DefaultPollSeconds(new Uri("http://127.0.0.1:5171")) < 1);
        Assert.Equal(10, ExportCommand.DefaultPollSeconds(new Uri("https://123-ABC-456.mktorest.com")));
    }

    private static JsonElement Json(string stdout)
    {
        using var document = JsonDocument.Parse(stdout); // exactly one document, nothing else on stdout
        return document.RootElement.Clone();
    }

    private static string[] Target(string kind, string folder, SpillwayTestServer server) => kind == "data"
        ? ["--data", folder]
        : ["--url", server.BaseAddress.ToString(), "--admin-key", SpillwayTestServer.AdminKey];

    /// <summary>The admin commands on a stopped data folder and through a running server's admin API, compared.</summary>
    [Fact]
    public async Task AdminCommands_PrintTheSame_OnADataFolderAndThroughTheAdminApi()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var folder = Path.Combine(_dir, "store");
        Assert.Equal(0, (await RunAsync("subscription", "create", "999-ZZZ-999", "--data", folder, "--create")).Code);

        var results = new Dictionary<string, (JsonElement Created, JsonElement User, JsonElement Users, JsonElement Seeded, JsonElement List, string Table, string UserTable)>();
        foreach (var kind in new[] { "data", "url" })
        {
            var target = Target(kind, folder, server);
            async Task<JsonElement> Run(params string[] args)
            {
                var (code, output, err) = await RunAsync([.. args, .. target, "--json"]);
                Assert.True(code == 0, $"{kind} {string.Join(' ', args)}: {err}");
                return Json(output);
            }

            var created = await Run("subscription", "create", "222-BBB-222", "--name", "Staging");
            var user = await Run("user", "add", "222-BBB-222", "etl@example.com", "-p", "Read-Only Activity", "-p", "Read-Only Lead");
            var users = await Run("user", "list", "222-BBB-222");
            var seeded = await Run("seed", "222-BBB-222", "-n", "120", "--days", "3", "--seed", "5");
            var list = await Run("subscription", "list");
            var table = await RunAsync(["subscription", "list", .. target]);
            var userTable = await RunAsync(["user", "list", "222-BBB-222", .. target]);
            Assert.True(table.Code == 0 && userTable.Code == 0, table.Err + userTable.Err);
            results[kind] = (created, user, users, seeded, list, table.Out, userTable.Out);

            // The rotated secret is the one the server (or the store) now accepts: prove it on the running server.
            var rotated = await Run("user", "rotate-secret", user.GetProperty("clientId").GetString()!);
            Assert.Equal(user.GetProperty("clientId").GetString(), rotated.GetProperty("clientId").GetString());
            Assert.NotEqual(user.GetProperty("clientSecret").GetString(), rotated.GetProperty("clientSecret").GetString());
            if (kind == "url")
            {
                Assert.False(string.IsNullOrEmpty(await server.GetTokenAsync(rotated.GetProperty("clientId").GetString(), rotated.GetProperty("clientSecret").GetString())));
            }
        }

        var (onDisk, viaApi) = (results["data"], results["url"]);
        Assert.Equal(JsonSerializer.Serialize(onDisk.Created), JsonSerializer.Serialize(viaApi.Created));
        Assert.Equal("""{"munchkinId":"222-BBB-222","name":"Staging"}""", JsonSerializer.Serialize(onDisk.Created));
        foreach (var (a, b) in new[] { (onDisk.User, viaApi.User), (Assert.Single(onDisk.Users.EnumerateArray()), Assert.Single(viaApi.Users.EnumerateArray())) })
        {
            Assert.Equal("etl@example.com", a.GetProperty("email").GetString());
            Assert.Equal(a.GetProperty("email").GetString(), b.GetProperty("email").GetString());
            Assert.Equal(JsonSerializer.Serialize(a.GetProperty("permissions")), JsonSerializer.Serialize(b.GetProperty("permissions")));
            Assert.Equal(["Read-Only Activity", "Read-Only Lead"], a.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
            Assert.Single(a.GetProperty("clientIds").EnumerateArray());
        }

        Assert.Equal(120, onDisk.Seeded.GetProperty("added").GetInt64());
        Assert.Equal(onDisk.Seeded.GetProperty("added").GetInt64(), viaApi.Seeded.GetProperty("added").GetInt64());
        Assert.Equal(onDisk.Seeded.GetProperty("total").GetInt64(), viaApi.Seeded.GetProperty("total").GetInt64());
        var row = (JsonElement list) => JsonSerializer.Serialize(list.EnumerateArray().Single(s => s.GetProperty("munchkinId").GetString() == "222-BBB-222"));
        Assert.Equal("""{"munchkinId":"222-BBB-222","name":"Staging","apiUsers":1,"activities":120}""", row(onDisk.List));
        Assert.Equal(row(onDisk.List), row(viaApi.List));

        // The tables people read: the same row for the same subscription, the same user line but for the client id.
        var line = (string table) => table.Split('\n').Single(l => l.Contains("222-BBB-222", StringComparison.Ordinal));
        Assert.Equal(line(onDisk.Table), line(viaApi.Table));
        Assert.Contains("120", line(onDisk.Table), StringComparison.Ordinal);
        var userLine = (string table) => table.Split('\n').Single(l => l.Contains("etl@example.com", StringComparison.Ordinal));
        Assert.Equal(userLine(onDisk.UserTable)[..40], userLine(viaApi.UserTable)[..40]);
    }

    [Fact]
    public async Task AdminCommands_WithJson_RefuseOnStderrOnly_AndAWrongAdminKeyIsAUsageError()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        foreach (var kind in new[] { "data", "url" })
        {
            var folder = Path.Combine(_dir, "refusals");
            var (code, output, err) = await RunAsync(["subscription", "create", SpillwayTestServer.MunchkinId, .. Target(kind, folder, server), "--create", "--json"]);
            if (kind == "data")
            {
                Assert.Equal(0, code); // a new folder has no such subscription yet
                (code, output, err) = await RunAsync(["subscription", "create", SpillwayTestServer.MunchkinId, .. Target(kind, folder, server), "--json"]);
            }

            Assert.Equal(ExitCodes.Failure, code);
            Assert.Equal("", output);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        var wrongKey = await RunAsync("user", "list", SpillwayTestServer.MunchkinId, "--url", server.BaseAddress.ToString(), "--admin-key", "wrong", "--json");
        Assert.Equal(ExitCodes.Usage, wrongKey.Code);
        Assert.Equal("", wrongKey.Out);
        Assert.Contains("admin key", wrongKey.Err, StringComparison.Ordinal);

        var missing = await RunAsync("user", "list", "404-NOT-404", "--url", server.BaseAddress.ToString(), "--admin-key", SpillwayTestServer.AdminKey);
        Assert.Equal(ExitCodes.Failure, missing.Code);
        Assert.Contains("No subscription 404-NOT-404", missing.Err, StringComparison.Ordinal);

        var down = await RunAsync("subscription", "list", "--url", "http://127.0.0.1:1", "--admin-key", "k", "--json");
        Assert.Equal(ExitCodes.Environment, down.Code);
        Assert.Equal("", down.Out);
    }

    [Fact]
    public async Task Control_Snapshot_AndExport_WithJson_PrintOneDocumentOnStdout()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SeedAsync(150, daysBack: 5, seed: 4);
        var url = server.BaseAddress.ToString();
        string[] admin = ["--url", url, "--admin-key", SpillwayTestServer.AdminKey, "--json"];

        var clock = await RunAsync(["control", "clock", SpillwayTestServer.MunchkinId, .. admin]);
        Assert.True(clock.Code == 0, clock.Err);
        Assert.Equal(JsonValueKind.String, Json(clock.Out).GetProperty("now").ValueKind);

        var cleared = await RunAsync(["control", "requests", SpillwayTestServer.MunchkinId, "--clear", .. admin]);
        Assert.True(cleared.Code == 0, cleared.Err);
        Assert.Equal(JsonValueKind.Object, Json(cleared.Out).ValueKind);

        var archive = Path.Combine(_dir, "snap.tar.gz");
        var saved = await RunAsync(["snapshot", "save", archive, .. admin]);
        Assert.True(saved.Code == 0, saved.Err);
        Assert.Equal(new FileInfo(archive).Length, Json(saved.Out).GetProperty("bytes").GetInt64());
        Assert.Contains("Saved", saved.Err, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, (await RunAsync(["snapshot", "save", "-", .. admin])).Code);

        var output = Path.Combine(_dir, "out.csv");
        var exported = await RunAsync("export", "--url", url, "--client-id", server.ClientId, "--client-secret", server.ClientSecret,
            "--since", "10d", "-o", output, "--plain", "--json");
        Assert.True(exported.Code == 0, exported.Err);
        var summary = Json(exported.Out);
        Assert.Equal(150, summary.GetProperty("rows").GetInt64());
        Assert.Equal(summary.GetProperty("files").GetInt32(), summary.GetProperty("verified").GetInt32());
        Assert.Equal(output, summary.GetProperty("output").GetString());
        Assert.True(new FileInfo(output).Length > 0);
        Assert.Equal(ExitCodes.Usage, (await RunAsync("export", "--url", url, "--client-id", server.ClientId, "--client-secret", server.ClientSecret,
            "--since", "10d", "-o", "-", "--json")).Code);
    }

    [Fact]
    public async Task Control_AcceptsUrl_AndTheDeprecatedServerName()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        var url = server.BaseAddress.ToString();
        foreach (var name in new[] { "--url", "--server" })
        {
            var (code, output, err) = await RunAsync("control", "clock", SpillwayTestServer.MunchkinId, name, url, "--admin-key", SpillwayTestServer.AdminKey);
            Assert.True(code == 0, err);
            Assert.Contains("now", output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Export_ToDash_StreamsDataToStdout_MessagesElsewhere_AndResumeNeedsNoSince()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SeedAsync(200, daysBack: 5, seed: 3);
        var messages = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(messages),
        });
        var env = new Dictionary<string, string?> { ["SPILLWAY_CLIENT_ID"] = server.ClientId, ["SPILLWAY_CLIENT_SECRET"] = server.ClientSecret };
        var stdout = new MemoryStream();
        var root = new RootCommand { ExportCommand.Create(console, env.GetValueOrDefault, () => stdout) };
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = _dir;
        try
        {
            var code = await root.Parse(["export", "--url", server.BaseAddress.ToString(), "--since", "10d", "-o", "-", "--plain"]).InvokeAsync();
            Assert.True(code == 0, messages.ToString());
            var csv = Encoding.UTF8.GetString(stdout.ToArray());
            Assert.StartsWith("marketoGUID,", csv, StringComparison.Ordinal);
            Assert.Contains("rows=200 ", messages.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("Export complete", csv, StringComparison.Ordinal);
            Assert.Contains("Export complete", messages.ToString(), StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(_dir, "-")));
            Assert.Empty(Directory.GetFiles(_dir));

            // --resume with nothing to resume says so, rather than asking for --since.
            var resumed = await root.Parse(["export", "--resume", "-o", "resume.csv", "--url", server.BaseAddress.ToString()]).InvokeAsync();
            Assert.Equal(ExitCodes.Usage, resumed);
            Assert.Contains("Nothing to resume", messages.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
    }

    [Fact]
    public async Task Seed_writes_the_leads_asked_for_and_refuses_activities_without_leads()
    {
        var folder = Path.Combine(_dir, "seeded");
        var (code, output, err) = await RunAsync("seed", "111-AAA-111", "--data", folder, "--create", "-n", "500", "--leads", "2000", "--days", "3");
        Assert.True(code == 0, err + output);
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(folder, "metadata.db")};Pooling=False"))
        {
            await db.OpenAsync();
            await using var count = db.CreateCommand();
            count.CommandText = "SELECT count(*), min(created_at) < max(created_at) FROM lead";
            await using var reader = await count.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((2000L, 1L), (reader.GetInt64(0), reader.GetInt64(1)));
        }

        var (refused, _, refusedErr) = await RunAsync("seed", "111-AAA-111", "--data", folder, "-n", "10", "--leads", "0");
        Assert.Equal(ExitCodes.Usage, refused);
        Assert.Single(refusedErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("at least one lead", refusedErr, StringComparison.Ordinal);
    }
}
