using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spillway.Cli;

// The commands share the process's Console and current directory: no two tests of this assembly run at once.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Spillway.Cli.Tests;

/// <summary>
/// The README's quick start and curl walk-through, read from README.md and run: the serve command (in process, on an
/// empty folder as a first start), the development credentials of its table, and each curl call of the worked example
/// as the HTTP request it makes, with the answers the README's comments promise. A README that drifts from the binary
/// fails here.
/// </summary>
public sealed partial class ReadmeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spillway-readme-" + Guid.NewGuid().ToString("N"));

    public ReadmeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Readme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Spillway.slnx")))
            {
                return File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
            }
        }

        throw new InvalidOperationException("README.md not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The body of the first ```sh block after the heading.</summary>
    private static string[] ShellBlock(string readme, string heading)
    {
        var at = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README has no '{heading}'");
        var start = readme.IndexOf("```sh\n", at, StringComparison.Ordinal) + "```sh\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A table cell of the quick start's credentials table, without its backticks.</summary>
    private static string Cell(string readme, string row)
    {
        var match = Regex.Match(readme, $@"^\| {Regex.Escape(row)} \| `([^`]+)` \|", RegexOptions.Multiline);
        Assert.True(match.Success, $"README's table has no row '{row}'");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"curl -s (?<args>.*?)\$BASE(?<path>/\S+)")]
    private static partial Regex CurlCall();

    [Fact]
    public async Task QuickStart_AndTheCurlWalkThrough_WorkAsWritten()
    {
        var readme = Readme();
        var quickStart = ShellBlock(readme, "## Quick start");
        var serveLine = Assert.Single(quickStart, l => l.StartsWith("dotnet run --project src/Spillway.Cli -- ", StringComparison.Ordinal));
        var serveArgs = serveLine["dotnet run --project src/Spillway.Cli -- ".Length..].Split('#')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["serve"], serveArgs);

        // The address and folder the comment promises are the command's defaults.
        var promised = Regex.Match(serveLine, @"the server on (?<url>http://\S+), data in \./(?<folder>\S+)");
        Assert.True(promised.Success, serveLine);
        var serve = CliApp.CreateRoot().Subcommands.Single(c => c.Name == "serve");
        var urls = serve.Options.OfType<Option<string>>().Single(o => o.Name == "--urls");
        Assert.Equal(promised.Groups["url"].Value, serve.Parse(Array.Empty<string>()).GetValue(urls));
        Assert.Equal(Commands.CommonOptions.DefaultDataFolder, promised.Groups["folder"].Value);
        var readmeBase = Regex.Match(string.Join('\n', ShellBlock(readme, "## A worked example with curl")), @"BASE=(\S+)").Groups[1].Value;
        Assert.Equal(promised.Groups["url"].Value, readmeBase);

        // Run it as written, in an empty directory (a first start), on a free port instead of the default one.
        var port = FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var cwd = Environment.CurrentDirectory;
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stop = new CancellationTokenSource();
        var log = new StringWriter();
        Environment.CurrentDirectory = _dir;
        var logs = TextWriter.Synchronized(log);
        Console.SetOut(logs);
        Console.SetError(logs);
        Task<int>? running = null;
        try
        {
            running = CliApp.CreateRoot().Parse([.. serveArgs, "--urls", baseUrl]).InvokeAsync(cancellationToken: stop.Token);
            using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromMinutes(2) };
            await WaitReadyAsync(http, running);
            Assert.True(Directory.Exists(Path.Combine(_dir, promised.Groups["folder"].Value)), "no ./" + promised.Groups["folder"].Value);

            await WalkThroughAsync(readme, http);
        }
        finally
        {
            await stop.CancelAsync();
            if (running is not null)
            {
                Assert.Equal(0, await running);
            }

            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            Environment.CurrentDirectory = cwd;
        }

        // The credentials the start-up log prints are the table's.
        Assert.Contains(Cell(readme, "client id"), log.ToString(), StringComparison.Ordinal);
        Assert.Contains(Cell(readme, "munchkin id"), log.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Each curl call of the worked example, as its HTTP request, in order.</summary>
    private static async Task WalkThroughAsync(string readme, HttpClient http)
    {
        var lines = ShellBlock(readme, "## A worked example with curl");
        var text = string.Join('\n', lines).Replace("\\\n", " ", StringComparison.Ordinal);
        var calls = CurlCall().Matches(text).Select(m => (Args: m.Groups["args"].Value, Path: m.Groups["path"].Value.Trim('"'))).ToList();
        Assert.Equal(6, calls.Count);

        // 1. The token, with the table's credentials.
        var tokenPath = Regex.Match(text, @"curl -s ""\$BASE(?<path>/identity/oauth/token\?[^""]+)""").Groups["path"].Value;
        Assert.Contains("client_id=" + Cell(readme, "client id"), tokenPath, StringComparison.Ordinal);
        Assert.Contains("client_secret=" + Cell(readme, "client secret"), tokenPath, StringComparison.Ordinal);
        using var tokenJson = JsonDocument.Parse(await http.GetStringAsync(tokenPath));
        var token = tokenJson.RootElement.GetProperty("access_token").GetString()!;
        Assert.Equal(Cell(readme, "API user (token scope)"), tokenJson.RootElement.GetProperty("scope").GetString());
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // 2. Create, with the README's body and its dates (-10 days and -3 days at midnight UTC).
        var today = DateTimeOffset.UtcNow.UtcDateTime.Date;
        var body = Regex.Match(text, @"-d ""(?<body>\{.*?\})"" ").Groups["body"].Value.Replace("\\\"", "\"", StringComparison.Ordinal)
            .Replace("$START", today.AddDays(-10).ToString("yyyy-MM-ddT00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$END", today.AddDays(-3).ToString("yyyy-MM-ddT00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains("date -u -d '-10 days' +%Y-%m-%dT00:00:00Z", text, StringComparison.Ordinal);
        var create = calls.Single(c => c.Path.EndsWith("/create.json", StringComparison.Ordinal));
        var created = await JsonAsync(await http.PostAsync(create.Path, new StringContent(body, Encoding.UTF8, "application/json")));
        var job = created.GetProperty("result")[0];
        Assert.Equal("Created", job.GetProperty("status").GetString()); // as the README's sample answer shows
        Assert.Equal("CSV", job.GetProperty("format").GetString());
        var id = job.GetProperty("exportId").GetString()!;

        string Path(string suffix) => calls.Single(c => c.Path.EndsWith(suffix, StringComparison.Ordinal)).Path.Replace("$ID", id, StringComparison.Ordinal);

        // 3. Enqueue: status Queued, as the comment says.
        Assert.Contains("-X POST", calls.Single(c => c.Path.EndsWith("/enqueue.json", StringComparison.Ordinal)).Args, StringComparison.Ordinal);
        var queued = await JsonAsync(await http.PostAsync(Path("/enqueue.json"), null));
        Assert.Equal("Queued", queued.GetProperty("result")[0].GetProperty("status").GetString());

        // 4. Status until Completed, with numberOfRecords, fileSize and fileChecksum.
        JsonElement status;
        do
        {
            await Task.Delay(200);
            status = (await JsonAsync(await http.GetAsync(Path("/status.json")))).GetProperty("result")[0];
        }
        while (status.GetProperty("status").GetString() is "Queued" or "Processing");

        Assert.Equal("Completed", status.GetProperty("status").GetString());
        Assert.True(status.GetProperty("numberOfRecords").GetInt64() > 0, "the demo data has no activities of types 1, 2, 10 in the window");

        // 5. The file, and its sha256 equals fileChecksum without the "sha256:" prefix.
        var file = await http.GetByteArrayAsync(calls.First(c => c.Path.EndsWith("/file.json", StringComparison.Ordinal) && !c.Args.Contains("Range", StringComparison.Ordinal)).Path.Replace("$ID", id, StringComparison.Ordinal));
        Assert.Equal(status.GetProperty("fileSize").GetInt64(), file.Length);
        Assert.Contains("sha256sum activities.csv", text, StringComparison.Ordinal);
        Assert.Equal(status.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)));

        // 6. The first 100 bytes: 206 with Content-Range.
        var ranged = calls.Single(c => c.Args.Contains("Range: bytes=0-99", StringComparison.Ordinal));
        using var request = new HttpRequestMessage(HttpMethod.Get, ranged.Path.Replace("$ID", id, StringComparison.Ordinal));
        request.Headers.Range = new RangeHeaderValue(0, 99);
        using var partial = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal($"bytes 0-99/{file.Length}", partial.Content.Headers.ContentRange?.ToString());
        Assert.Equal(file[..100], await partial.Content.ReadAsByteArrayAsync());
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using (response)
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(json.RootElement.GetProperty("success").GetBoolean(), json.RootElement.ToString());
            return json.RootElement.Clone();
        }
    }

    private static async Task WaitReadyAsync(HttpClient http, Task<int> running)
    {
        while (true)
        {
            Assert.False(running.IsCompleted, "serve stopped before it was ready");
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.WhenAny(running, Task.Delay(200));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
