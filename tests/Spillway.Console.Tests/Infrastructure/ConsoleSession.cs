using System.Collections.Concurrent;
using Microsoft.Playwright;
using Npgsql;
using Spillway.Testing;

namespace Spillway.Console.Tests.Infrastructure;

/// <summary>
/// One real Spillway server on loopback and one headless chromium for a test class: two signed-in pages (1280 px and
/// 390 px wide) that the tests reuse. Every page of the session is guarded: a request to any host but the server is
/// aborted and recorded, as are script errors and failed page assets, and <see cref="AssertClean"/> fails the test on
/// any of them, so a page that reaches for the internet or breaks its own script cannot pass.
/// </summary>
public abstract class ConsoleSession : IAsyncLifetime
{
    public const string Prefix = "/_spillway/console";
    public const string MunchkinId = "111-AAA-111";
    public const string ApiUserEmail = "etl@example.com";
    public const int WideWidth = 1280;
    public const int NarrowWidth = 390;

    private readonly ConcurrentQueue<string> _problems = new();
    private readonly List<IBrowserContext> _contexts = [];
    private SpillwayServer? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private IPage? _wide;
    private IPage? _narrow;

    static ConsoleSession()
    {
        // The pages refresh their live parts on a timer and the machine may be busy: give expectations room.
        Assertions.SetDefaultExpectTimeout(20_000);
    }

    public SpillwayServer Server => _server ?? throw new InvalidOperationException("The session has not started.");

    /// <summary>A signed-in page 1280 px wide.</summary>
    public IPage Wide => _wide ?? throw new InvalidOperationException("The session has not started.");

    /// <summary>A signed-in page 390 px wide (a phone).</summary>
    public IPage Narrow => _narrow ?? throw new InvalidOperationException("The session has not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The session has not started.");

    /// <summary>The Marketo API of the server, as the session's API user calls it.</summary>
    public MarketoApi Marketo { get; private set; } = null!;

    /// <summary>Runs the server on PostgreSQL (a new database on the cluster scripts/test.sh starts).</summary>
    protected virtual bool OnPostgres => false;

    /// <summary>Activities generated at start (over the last three days), so exports and pages have rows.</summary>
    protected virtual long SeedActivities => 200;

    /// <summary>Puts what the class's tests need on the server before the browser starts.</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>The absolute address of a console route (<paramref name="route"/> relative to the console's prefix).</summary>
    public string Url(string route) => new Uri(Server.BaseAddress, Prefix + route).ToString();

    /// <summary>The address of a route under the session's subscription.</summary>
    public string SubscriptionUrl(string route = "") => Url($"/subscriptions/{MunchkinId}{route}");

    public async Task InitializeAsync()
    {
        var options = new SpillwayServerOptions
        {
            MunchkinId = MunchkinId,
            ApiUserEmail = ApiUserEmail,
            SeedActivities = SeedActivities,
            SeedDaysBack = 3,
            PostgresConnectionString = OnPostgres ? await CreatePostgresDatabaseAsync() : null,
        };
        _server = await SpillwayServer.StartAsync(options);
        Marketo = new MarketoApi(_server);
        await PrepareAsync();

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.ExecutablePath,
            Headless = true,
            // No background calls home (updates, safe browsing, field trials): the browser talks to the server only.
            Args = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage"],
        });
        _wide = await NewPageAsync(WideWidth, 900);
        await SignInAsync(_wide);
        _narrow = await NewPageAsync(NarrowWidth, 844);
        await SignInAsync(_narrow);
    }

    /// <summary>A new, signed-out page in its own browser context, guarded like the session's pages.</summary>
    public async Task<IPage> NewPageAsync(int width, int height)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "en-US",
            TimezoneId = "UTC",
            ColorScheme = ColorScheme.Light,
        });
        _contexts.Add(context);
        context.SetDefaultTimeout(30_000);
        var server = Server.BaseAddress;
        await context.RouteAsync("**/*", async route =>
        {
            var target = new Uri(route.Request.Url);
            if (target.Scheme == server.Scheme && string.Equals(target.Authority, server.Authority, StringComparison.OrdinalIgnoreCase))
            {
                await route.ContinueAsync();
                return;
            }

            _problems.Enqueue($"request to another host: {route.Request.Method} {route.Request.Url}");
            await route.AbortAsync("blockedbyclient");
        });
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => _problems.Enqueue($"script error on {page.Url}: {error}");
        page.Console += (_, message) =>
        {
            // A page answered with an error status (a refused sign-in, a 404 page) is logged by the browser as a failed
            // load; those statuses are asserted by the tests themselves. Anything else in red is a problem.
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                _problems.Enqueue($"console error on {page.Url}: {message.Text}");
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && response.Request.ResourceType != "document")
            {
                _problems.Enqueue($"{response.Request.ResourceType} {response.Url} answered {response.Status}");
            }
        };
        page.RequestFailed += (_, request) =>
        {
            if (request.Failure != "net::ERR_BLOCKED_BY_CLIENT" && request.Failure != "net::ERR_ABORTED")
            {
                _problems.Enqueue($"{request.ResourceType} {request.Url} failed: {request.Failure}");
            }
        };
        return page;
    }

    /// <summary>Signs the page in through the sign-in form and waits for the subscriptions list.</summary>
    public async Task SignInAsync(IPage page)
    {
        await page.GotoAsync(Url("/sign-in"));
        var form = page.GetByTestId("sign-in-form");
        await form.Locator("[name=key]").FillAsync(Server.AdminKey);
        await page.NavigateByAsync(() => form.Locator("[name=key]").PressAsync("Enter"));
        Assert.Equal(Url(""), page.Url.TrimEnd('/'));
    }

    /// <summary>What the guard recorded since <see cref="ClearProblems"/>.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    /// <summary>Forgets what earlier tests of the class left behind.</summary>
    public void ClearProblems() => _problems.Clear();

    /// <summary>Fails on any request to another host, script error or failed asset since <see cref="ClearProblems"/>.</summary>
    public void AssertClean()
    {
        var problems = _problems.ToArray();
        Assert.True(problems.Length == 0, "The browser saw problems:\n" + string.Join("\n", problems));
    }

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private static async Task<string> CreatePostgresDatabaseAsync()
    {
        var cluster = Environment.GetEnvironmentVariable("SPILLWAY_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "SPILLWAY_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL.");
        var name = "spillway_console_" + Guid.NewGuid().ToString("N")[..16];
        await using (var dataSource = NpgsqlDataSource.Create(cluster))
        await using (var command = dataSource.CreateCommand($"CREATE DATABASE {name}"))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(cluster) { Database = name }.ConnectionString;
    }
}

/// <summary>A session on the embedded store (SQLite and DuckDB in a temp folder).</summary>
public sealed class EmbeddedSession : ConsoleSession;

/// <summary>A session on PostgreSQL.</summary>
public sealed class PostgresSession : ConsoleSession
{
    protected override bool OnPostgres => true;
}
