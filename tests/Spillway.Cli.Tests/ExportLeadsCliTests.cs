using System.CommandLine;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spillway.Cli.Commands;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Cli.Tests;

/// <summary>
/// <c>spillway export leads</c> against a real server: custom fields in the file, -o -, the --json summary, --resume
/// with nothing to resume, and the usage and server errors with the activity export's exit codes. The commands get
/// their console and stdout injected; the test sets the process's current directory, so it runs in the collection of
/// <see cref="CliTests"/>, which sets it too, never beside it.
/// </summary>
[Collection(CliTests.ProcessState)]
public sealed class ExportLeadsCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-cli-leads-" + Guid.NewGuid().ToString("N"));

    public ExportLeadsCliTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task ExportLeads_WritesCustomFields_ToDashOrAFile_WithAJsonSummary_AndTheExportExitCodes()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        await server.SetLimitsWithRoomAsync();
        var (id, secret) = await server.CreateApiUserAsync("cli-leads@example.com", "Read-Write Lead");
        var defined = await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/lead-fields",
            new { name = "shoeSize", dataType = "integer" });
        Assert.Equal(System.Net.HttpStatusCode.Created, defined.StatusCode);
        using (var api = await server.AuthorizedClientAsync(id, secret))
        {
            var synced = await api.PostAsync("/rest/v1/leads.json", Marketo.Json(
                """{"input":[{"email":"ann@example.com","firstName":"Ann, A","shoeSize":38},{"email":"bob@example.com"}]}"""));
            Assert.All((await Marketo.SuccessAsync(synced)).GetProperty("result").EnumerateArray(), r => Assert.Equal("created", r.GetProperty("status").GetString()));
        }

        var messages = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(messages),
        });
        console.Profile.Width = 1000; // one message, one line: nothing wraps inside a phrase the test looks for
        var env = new Dictionary<string, string?> { ["SPILLWAY_CLIENT_ID"] = id, ["SPILLWAY_CLIENT_SECRET"] = secret, ["SPILLWAY_URL"] = server.BaseAddress.ToString() };
        var stdout = new MemoryStream();
        var root = new RootCommand { ExportCommand.Create(console, env.GetValueOrDefault, () => stdout) };
        // An absolute range of four days around now (one window): the leads fall in it whatever the clocks' skew.
        var since = DateTimeOffset.UtcNow.AddDays(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var until = DateTimeOffset.UtcNow.AddDays(2).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = _dir;
        try
        {
            Assert.Equal(0, await root.Parse(["export", "leads", "--fields", "id,email,firstName,shoeSize", "--since", since, "--until", until, "-o", "-", "--plain"]).InvokeAsync());
            Assert.Equal("id,email,firstName,shoeSize\n1,ann@example.com,\"Ann, A\",38\n2,bob@example.com,null,null\n", Encoding.UTF8.GetString(stdout.ToArray()));
            Assert.Contains("rows=2 files=1 verified=1", messages.ToString(), StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(_dir));

            stdout.SetLength(0);
            var code = await root.Parse(["export", "leads", "--fields", "email", "--fields", "id", "--since", since, "--until", until, "--filter", "updatedAt", "-o", "out.tsv", "--json"])
                .InvokeAsync();
            Assert.True(code == 0, messages.ToString());
            Assert.Equal("email\tid\nann@example.com\t1\nbob@example.com\t2\n", await File.ReadAllTextAsync(Path.Combine(_dir, "out.tsv")));
            using (var summary = JsonDocument.Parse(stdout.ToArray()))
            {
                var json = summary.RootElement;
                Assert.Equal((2, 1, 1), (json.GetProperty("rows").GetInt64(), json.GetProperty("files").GetInt32(), json.GetProperty("verified").GetInt32()));
                Assert.Equal(Path.Combine(_dir, "out.tsv"), json.GetProperty("output").GetString());
                Assert.Equal(new FileInfo(Path.Combine(_dir, "out.tsv")).Length, json.GetProperty("bytes").GetInt64());
            }

            Assert.Equal(ExitCodes.Usage, await root.Parse(["export", "leads", "--since", "2d", "-o", "x.csv"]).InvokeAsync());
            Assert.Contains("Option '--fields' is required for a lead export", messages.ToString(), StringComparison.Ordinal);
            Assert.Equal(ExitCodes.Usage, await root.Parse(["export", "leads", "--fields", "id", "--resume", "-o", "resume.csv"]).InvokeAsync());
            Assert.Contains("Nothing to resume", messages.ToString(), StringComparison.Ordinal);
            Assert.NotEqual(0, await root.Parse(["export", "leads", "--fields", "id", "--since", "2d", "--format", "parquet"]).InvokeAsync());

            // The server refuses a field it does not have: the export's failure exit, and the window stays for --resume.
            Assert.Equal(ExitCodes.Failure, await root.Parse(["export", "leads", "--fields", "id,hatSize", "--since", "2d", "-o", "bad.csv", "--plain"]).InvokeAsync());
            Assert.Contains("'hatSize' is not a lead field", messages.ToString(), StringComparison.Ordinal);
            Assert.Contains("spillway export leads --resume -o bad.csv", messages.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
    }
}
