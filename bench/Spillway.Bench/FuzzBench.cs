using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Spillway.Server.Tests.Fuzz;
using Spillway.Testing;

/// <summary>
/// The fuzz at scale: seeded hostile requests (the test command's generator, <c>FuzzRequests</c>, one in five of
/// them to the console's pages and forms, and raw malformed framing, <c>FuzzFraming</c>) against a real server per store, from several clients at once. Reports answers by
/// HTTP status and Marketo code, every answer that breaks the rules (a 5xx, a 611, an undocumented code, an envelope
/// that does not parse), every Error log line, and whether the server still answers afterwards. A failure replays
/// with the same seed.
/// </summary>
internal static class FuzzBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var requests = int.Parse(SuiteBench.Arg(args, "--requests") ?? "100000", CultureInfo.InvariantCulture);
        var clients = int.Parse(SuiteBench.Arg(args, "--clients") ?? "4", CultureInfo.InvariantCulture);
        var seed = int.Parse(SuiteBench.Arg(args, "--seed") ?? "20261204", CultureInfo.InvariantCulture);
        var store = SuiteBench.Arg(args, "--store") ?? "both";
        var root = SuiteBench.RepoRoot();
        var bench = Path.Combine(root, ".bench", "fuzz");
        Directory.CreateDirectory(bench);
        Console.WriteLine($"fuzz: {requests:N0} requests per store from {clients} clients, seed {seed}, commit {SuiteBench.Git("rev-parse --short HEAD")}, {SuiteBench.LoadAverage()}");
        var failed = false;
        foreach (var kind in store == "both" ? new[] { "embedded", "postgres" } : [store])
        {
            // A cluster of its own each run: a kept one may find its old port taken by another run's PostgreSQL.
            var pgDir = Path.Combine(bench, $"pg-{Environment.ProcessId}");
            PgCluster? pg = kind == "postgres" ? PgCluster.Start(root, pgDir) : null;
            try
            {
                string? connection = null;
                if (pg is not null)
                {
                    pg.RecreateDatabase("fuzz");
                    connection = pg.ConnectionString("fuzz");
                }

                failed |= !await RunStoreAsync(kind, connection, requests, clients, seed);
            }
            finally
            {
                pg?.Stop();
                if (Directory.Exists(pgDir))
                {
                    Directory.Delete(pgDir, recursive: true);
                }
            }
        }

        return failed ? 1 : 0;
    }

    private static async Task<bool> RunStoreAsync(string kind, string? connection, int requests, int clients, int seed)
    {
        var errors = new ConcurrentQueue<string>();
        var options = new SpillwayServerOptions
        {
            PostgresConnectionString = connection,
            ConfigureHost = b => b.Logging.AddProvider(new ErrorLog(errors)),
        };
        // Room for the fuzz's own call rate: the limits are exercised by the test command, not here.
        options.Settings["Spillway:Limits:RateLimitCalls"] = "100000000";
        options.Settings["Spillway:Limits:ConcurrentCalls"] = "1000";
        options.Settings["Spillway:Limits:DailyCallQuota"] = "1000000000";
        options.Settings["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning";
        await using var server = await SpillwayServer.StartAsync(options);
        await server.SeedAsync(2_000, daysBack: 3);
        var token = await server.GetAccessTokenAsync();
        var completed = await CompleteOneAsync(server, token);
        FuzzRequests.ConsoleSession console;
        using (var signIn = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress })
        {
            console = await FuzzRequests.SignInAsync(signIn, server.AdminKey);
        }

        var byAnswer = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        var watch = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(seed + c);
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
            int i;
            while ((i = Interlocked.Increment(ref sent)) <= requests)
            {
                if (random.Next(50) == 0)
                {
                    if (await FuzzFraming.SendAsync(server.BaseAddress, random, Volatile.Read(ref token)) is { } framing)
                    {
                        failures.Enqueue(framing);
                    }

                    byAnswer.AddOrUpdate("framing", 1, (_, n) => n + 1);
                    continue;
                }

                using var request = random.Next(5) == 0
                    ? FuzzRequests.GenerateConsole(random, console, completed, server.MunchkinId)
                    : FuzzRequests.Generate(random, Volatile.Read(ref token), completed, server.AdminKey, server.MunchkinId);
                var description = $"client {c} #{i} {request.Method} {request.RequestUri}";
                try
                {
                    using var response = await http.SendAsync(request);
                    var problem = await FuzzRequests.CheckAsync(request, response);
                    if (problem is not null)
                    {
                        failures.Enqueue($"{description}: {problem}");
                    }

                    var answer = await AnswerOfAsync(response);
                    byAnswer.AddOrUpdate(answer, 1, (_, n) => n + 1);
                    if (answer == "HTTP 200, code 602")
                    {
                        // A fuzzed admin call may validly set a clock to year 9999, which expires the token on that clock;
                        // a fresh one keeps the fuzz reaching the handlers instead of answering 602 from then on.
                        Volatile.Write(ref token, await server.GetAccessTokenAsync());
                        byAnswer.AddOrUpdate("(new token after 602)", 1, (_, n) => n + 1);
                    }
                }
                catch (HttpRequestException) when (request.Content?.Headers.ContentLength > 1024 * 1024)
                {
                    byAnswer.AddOrUpdate("closed (body over 1 MB)", 1, (_, n) => n + 1);
                }
                catch (HttpRequestException e) when (request.Content is not null && e.InnerException is IOException)
                {
                    // Answered (401, 404, 405 ...) before the body was read, then closed: HTTP allows it, and the client
                    // sees the close while it still sends.
                    byAnswer.AddOrUpdate("closed while the body was sent", 1, (_, n) => n + 1);
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"{description}: {e.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        watch.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

        using var health = await server.CreateClient().GetAsync(new Uri("health", UriKind.Relative));
        var alive = health.StatusCode == HttpStatusCode.OK;
        Console.WriteLine($"{kind}: {requests:N0} requests in {watch.Elapsed.TotalSeconds:F1} s ({requests / watch.Elapsed.TotalSeconds:N0}/s, process CPU {cpu:F1} s), " +
            $"{failures.Count} breaking the rules, {errors.Count} Error log lines, /health after: {(alive ? "200" : health.StatusCode.ToString())}");
        foreach (var (answer, count) in byAnswer.OrderByDescending(a => a.Value).Take(25))
        {
            Console.WriteLine($"  {count,8:N0}  {answer}");
        }

        foreach (var line in failures.Take(20).Concat(errors.Take(10)))
        {
            Console.WriteLine($"  FAIL {line}");
        }

        return failures.IsEmpty && errors.IsEmpty && alive;
    }

    private static async Task<string> AnswerOfAsync(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status != 200 || response.Content.Headers.ContentType?.MediaType != "application/json")
        {
            return $"HTTP {status}";
        }

        var text = await response.Content.ReadAsStringAsync();
        var at = text.IndexOf("\"code\":\"", StringComparison.Ordinal);
        return at < 0 ? "HTTP 200" : "HTTP 200, code " + text[(at + 8)..text.IndexOf('"', at + 8)];
    }

    private static async Task<string> CompleteOneAsync(SpillwayServer server, string token)
    {
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var now = await server.Controls.GetNowAsync();
        using var create = await http.PostAsync(new Uri("bulk/v1/activities/export/create.json", UriKind.Relative), new StringContent(
            $"{{\"filter\":{{\"createdAt\":{{\"startAt\":\"{now.AddDays(-2):yyyy-MM-ddTHH:mm:ssZ}\",\"endAt\":\"{now:yyyy-MM-ddTHH:mm:ssZ}\"}}}}}}",
            System.Text.Encoding.UTF8, "application/json"));
        var id = System.Text.Json.JsonDocument.Parse(await create.Content.ReadAsStringAsync()).RootElement.GetProperty("result")[0].GetProperty("exportId").GetString()!;
        using var enqueue = await http.PostAsync(new Uri($"bulk/v1/activities/export/{id}/enqueue.json", UriKind.Relative), null);
        for (var i = 0; i < 300; i++)
        {
            var status = await http.GetStringAsync(new Uri($"bulk/v1/activities/export/{id}/status.json", UriKind.Relative));
            if (status.Contains("\"Completed\"", StringComparison.Ordinal))
            {
                return id;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("the fuzz's reference export did not complete in 30 s");
    }

    /// <summary>Keeps the server's Error (and worse) log lines.</summary>
    private sealed class ErrorLog(ConcurrentQueue<string> errors) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(errors, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> errors, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                {
                    errors.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception?.GetType().Name}");
                }
            }
        }
    }
}
