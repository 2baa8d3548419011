using System.Net;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Fuzz;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Hostile input: seeded random requests (bodies, query strings, headers, ranges, export ids with path
/// traversal, huge and deeply nested JSON, invalid UTF-8, escaped lone surrogates, extreme values, malformed framing) never get a 500 or an unhandled exception (the server's log is captured),
/// always a documented answer, and never touch a file outside the data folder. The seed is fixed: a failure replays.
/// </summary>
public abstract class HostileInputTests : StoreTestBase
{
    private const int Requests = 600;

    [Fact]
    public async Task Fuzzed_requests_never_get_a_500_an_unhandled_exception_or_a_file_outside_the_data_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), "spillway-fuzz-" + Guid.NewGuid().ToString("N"));
        var sentinels = new[] { Path.Combine(root, "outside", "passwd"), Path.Combine(root, "etc", "passwd") };
        foreach (var sentinel in sentinels)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(sentinel)!);
            await File.WriteAllTextAsync(sentinel, "root:x:0:0");
        }

        var stamps = sentinels.Select(File.GetLastWriteTimeUtc).ToList();
        try
        {
            await using var server = await SpillwayTestServer.StartAsync(store: Store, dataPath: Path.Combine(root, "data"));
            await server.SetLimitsWithRoomAsync();
            var log = LogCapture.AttachTo(server);
            var day = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
            await server.AppendAsync([.. Enumerable.Range(1, 50).Select(i => Marketo.Activity(i, day.AddMinutes(i)))]);
            var token = await server.GetTokenAsync();
            using var client = await server.AuthorizedClientAsync();
            var (completedId, _) = await Marketo.CompleteAsync(client, Marketo.Window(day, day.AddDays(1)));
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };

            var console = await FuzzRequests.SignInAsync(http, SpillwayTestServer.AdminKey);
            var random = new Random(20260707);
            var failures = new List<string>();
            for (var i = 0; i < Requests; i++)
            {
                // One request in five is the console's (pages and forms).
                using var request = random.Next(5) == 0
                    ? FuzzRequests.GenerateConsole(random, console, completedId, SpillwayTestServer.MunchkinId)
                    : FuzzRequests.Generate(random, token, completedId, SpillwayTestServer.AdminKey, SpillwayTestServer.MunchkinId);
                var description = $"#{i} {request.Method} {request.RequestUri}";
                HttpResponseMessage response;
                try
                {
                    response = await http.SendAsync(request);
                }
                catch (HttpRequestException ex)
                {
                    // A refused body (413 with Connection: close while still sending) may surface as a closed connection.
                    if (request.Content?.Headers.ContentLength > 1024 * 1024)
                    {
                        continue;
                    }

                    failures.Add($"{description}: {ex.Message}");
                    continue;
                }

                using (response)
                {
                    var problem = await FuzzRequests.CheckAsync(request, response);
                    if (problem is not null)
                    {
                        failures.Add($"{description}: {problem}");
                    }
                }
            }

            // Malformed framing over a raw socket, after which the server still answers.
            for (var i = 0; i < Requests / 20; i++)
            {
                if (await FuzzFraming.SendAsync(server.BaseAddress, random, token) is { } framing)
                {
                    failures.Add(framing);
                }
            }

            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
            failures.InsertRange(0, log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Take(3).Select(e => $"log: {e.Message} {e.Exception}"));
            Assert.True(failures.Count == 0, $"{failures.Count} of {Requests}:\n" + string.Join("\n", failures.Take(25)));
            var errors = log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error || e.Exception is not null && e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors.Take(5).Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));

            // The completed file is still whole and served.
            Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, completedId)).StatusCode);
        }
        finally
        {
            // Nothing outside the data folder was created, changed or removed.
            Assert.Equal(new[] { "etc", "outside" }, Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)!).Where(n => n != "data").Order(StringComparer.Ordinal).ToArray());
            for (var s = 0; s < sentinels.Length; s++)
            {
                Assert.Equal("root:x:0:0", await File.ReadAllTextAsync(sentinels[s]));
                Assert.Equal(stamps[s], File.GetLastWriteTimeUtc(sentinels[s]));
                Assert.Single(Directory.GetFileSystemEntries(Path.GetDirectoryName(sentinels[s])!));
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

public sealed class HostileInputTests_Embedded : HostileInputTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class HostileInputTests_Postgres : HostileInputTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
