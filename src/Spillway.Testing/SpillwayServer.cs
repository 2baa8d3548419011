using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spillway.Server;
using Spillway.Server.Hosting;

namespace Spillway.Testing;

/// <summary>
/// A real Spillway server inside the current process: Kestrel on a loopback port, a real store, the Marketo bulk
/// extract and REST APIs exactly as a standalone server answers them. Start one with
/// <see cref="StartAsync(SpillwayServerOptions?, CancellationToken)"/>; dispose it to stop it and delete its
/// temporary data.
/// </summary>
/// <example>
/// <code>
/// await using var marketo = await SpillwayServer.StartAsync(new SpillwayServerOptions { SeedActivities = 10_000 });
/// var client = new MarketoBulkClient(marketo.ClientOptions());
/// </code>
/// </example>
public sealed class SpillwayServer : IAsyncDisposable
{
    /// <summary>The header that carries the admin key.</summary>
    public const string AdminKeyHeader = "X-Spillway-Admin-Key";

    private readonly WebApplication _app;
    private readonly bool _ownsDataPath;
    private readonly HttpClient _admin;
    private int _disposed;

    private SpillwayServer(WebApplication app, Uri baseAddress, string dataPath, bool ownsDataPath, string adminKey, string munchkinId)
    {
        _app = app;
        BaseAddress = baseAddress;
        DataPath = dataPath;
        _ownsDataPath = ownsDataPath;
        AdminKey = adminKey;
        MunchkinId = munchkinId;
        _admin = CreateAdminClient();
        Controls = new SpillwayControls(_admin, munchkinId);
    }

    /// <summary>The server's root address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Marketo's "Identity" endpoint of this server (<c>{BaseAddress}identity</c>).</summary>
    public Uri IdentityUrl => new(BaseAddress, "identity");

    /// <summary>Marketo's "REST API" endpoint of this server (<c>{BaseAddress}rest</c>).</summary>
    public Uri RestUrl => new(BaseAddress, "rest");

    /// <summary>The subscription created at start.</summary>
    public string MunchkinId { get; }

    /// <summary>The client id of the API user created at start (empty when the subscription already existed in a kept data folder).</summary>
    public string ClientId { get; private set; } = "";

    /// <summary>The client secret of the API user created at start (empty when the subscription already existed).</summary>
    public string ClientSecret { get; private set; } = "";

    /// <summary>The admin key (header <see cref="AdminKeyHeader"/>) of the admin and control API.</summary>
    public string AdminKey { get; }

    /// <summary>The data folder the server runs on.</summary>
    public string DataPath { get; }

    /// <summary>The test-rig controls of the subscription created at start: clock, progression, faults, reset, request log.</summary>
    public SpillwayControls Controls { get; }

    /// <summary>The server's services (advanced: for tests that look inside the server).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server and waits until it answers.</summary>
    /// <param name="options">How to start it; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<SpillwayServer> StartAsync(SpillwayServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SpillwayServerOptions();
        var ownsDataPath = options.DataPath is null;
        var dataPath = options.DataPath ?? Path.Combine(Path.GetTempPath(), "spillway-testing", Guid.NewGuid().ToString("N"));
        var adminKey = options.AdminKey ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = $"http://127.0.0.1:{options.Port}",
            ["Spillway:DataPath"] = dataPath,
            ["Spillway:AdminKey"] = adminKey,
            ["Spillway:Demo:Enabled"] = "false",
            // A test waits for jobs: pick them up within a fifth of a second, not the production poll.
            ["Spillway:Worker:PollSeconds"] = "0.2",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (options.PostgresConnectionString is { } connectionString)
        {
            settings["Spillway:Provider"] = "Postgres";
            settings["Spillway:ConnectionString"] = connectionString;
            settings["Spillway:ExportPath"] = Path.Combine(dataPath, "exports");
        }

        if (options.InMemory)
        {
            settings["Spillway:InMemory"] = "true";
        }

        foreach (var (key, value) in options.Settings)
        {
            settings[key] = value;
        }

        WebApplication? app = null;
        try
        {
            app = SpillwayApp.Build([.. settings.Select(s => $"--{s.Key}={s.Value}")], options.ConfigureHost);
            await SpillwayApp.InitializeAsync(app, cancellationToken).ConfigureAwait(false);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            // An in-memory server chose its own folder.
            var actualPath = app.Services.GetRequiredService<IOptions<SpillwayOptions>>().Value.DataPath;
            var server = new SpillwayServer(app, new Uri(address.TrimEnd('/') + "/"), actualPath, ownsDataPath && actualPath == dataPath, adminKey,
                options.MunchkinId);
            app = null;
            try
            {
                await server.SetUpAsync(options, cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
                if (ownsDataPath)
                {
                    DeleteFolder(dataPath);
                }
            }
        }
    }

    private async Task SetUpAsync(SpillwayServerOptions options, CancellationToken ct)
    {
        using (var subscriptions = await _admin.GetAsync(new Uri("_spillway/admin/subscriptions", UriKind.Relative), ct).ConfigureAwait(false))
        {
            await EnsureSuccessAsync(subscriptions, ct).ConfigureAwait(false);
            using var list = JsonDocument.Parse(await subscriptions.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
            if (list.RootElement.EnumerateArray().Any(s => s.GetProperty("munchkinId").GetString() == MunchkinId))
            {
                return;
            }
        }

        using (var created = await _admin.PostAsJsonAsync(new Uri("_spillway/admin/subscriptions", UriKind.Relative), new { munchkinId = MunchkinId }, ct).ConfigureAwait(false))
        {
            await EnsureSuccessAsync(created, ct).ConfigureAwait(false);
        }

        var credentials = await AddApiUserAsync(options.ApiUserEmail, [.. options.Permissions], ct).ConfigureAwait(false);
        ClientId = credentials.ClientId;
        ClientSecret = credentials.ClientSecret;
        if (options.SeedActivities > 0)
        {
            await SeedAsync(options.SeedActivities, options.SeedDaysBack, options.Seed, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Adds an API user to the subscription and returns its credentials.</summary>
    /// <param name="email">The user's email (unique in the subscription).</param>
    /// <param name="permissions">Marketo permission names, e.g. <c>Read-Only Activity</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<SpillwayCredentials> AddApiUserAsync(string email, IReadOnlyList<string> permissions, CancellationToken cancellationToken = default)
    {
        using var response = await _admin.PostAsJsonAsync(new Uri($"_spillway/admin/subscriptions/{MunchkinId}/users", UriKind.Relative),
            new { email, permissions }, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var credential = json.RootElement.GetProperty("credential");
        return new SpillwayCredentials(credential.GetProperty("clientId").GetString()!, credential.GetProperty("clientSecret").GetString()!);
    }

    /// <summary>Generates demo activities for the subscription, deterministic for <paramref name="seed"/>; returns how many were added.</summary>
    /// <param name="activities">How many.</param>
    /// <param name="daysBack">How many days back from the subscription's now they spread.</param>
    /// <param name="seed">The generator's seed.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<long> SeedAsync(long activities, int daysBack = 30, int seed = 1, CancellationToken cancellationToken = default)
    {
        using var response = await _admin.PostAsJsonAsync(new Uri($"_spillway/admin/subscriptions/{MunchkinId}/seed", UriKind.Relative),
            new { activities, daysBack, seed }, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return json.RootElement.GetProperty("added").GetInt64();
    }

    /// <summary>Replaces the subscription's limit overrides (camelCase names as the admin API takes them, e.g.
    /// <c>new { maxWindowDays = 7, dailyExportQuotaBytes = 1_000_000 }</c>).</summary>
    /// <param name="overrides">An object serialised as the body of <c>PUT /_spillway/admin/subscriptions/{munchkinId}/limits</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task SetLimitsAsync(object overrides, CancellationToken cancellationToken = default)
    {
        using var response = await _admin.PutAsJsonAsync(new Uri($"_spillway/admin/subscriptions/{MunchkinId}/limits", UriKind.Relative),
            overrides, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A new <see cref="HttpClient"/> on <see cref="BaseAddress"/> with no token and no key. The caller disposes it.</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>A new <see cref="HttpClient"/> on <see cref="BaseAddress"/> that sends the admin key. The caller disposes it.</summary>
    public HttpClient CreateAdminClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Add(AdminKeyHeader, AdminKey);
        return client;
    }

    /// <summary>Gets an access token for the API user created at start (or the given credentials) from the identity endpoint.</summary>
    /// <param name="credentials">Other credentials; null for <see cref="ClientId"/> and <see cref="ClientSecret"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public async Task<string> GetAccessTokenAsync(SpillwayCredentials? credentials = null, CancellationToken cancellationToken = default)
    {
        var id = credentials?.ClientId ?? ClientId;
        var secret = credentials?.ClientSecret ?? ClientSecret;
        using var client = CreateClient();
        using var response = await client.GetAsync(new Uri(
            $"identity/oauth/token?grant_type=client_credentials&client_id={Uri.EscapeDataString(id)}&client_secret={Uri.EscapeDataString(secret)}",
            UriKind.Relative), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return json.RootElement.TryGetProperty("access_token", out var token) && token.GetString() is { } value
            ? value
            : throw new InvalidOperationException("The identity endpoint answered without an access token: " + json.RootElement.GetRawText());
    }

    /// <summary>Stops the server and deletes its temporary data folder (a folder given in the options is kept).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _admin.Dispose();
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            if (_ownsDataPath)
            {
                DeleteFolder(DataPath);
            }
        }
    }

    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            throw new InvalidOperationException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode}: {body}");
        }
    }

    private static void DeleteFolder(string path)
    {
        // SQLite and DuckDB may hold a file for a moment after the host stops; a second try clears what the first left.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt == 0)
            {
                Thread.Sleep(100);
            }
            catch (IOException)
            {
                return;
            }
        }
    }
}

/// <summary>An API user's credentials: Marketo's client id and client secret.</summary>
/// <param name="ClientId">The client id.</param>
/// <param name="ClientSecret">The client secret.</param>
public sealed record SpillwayCredentials(string ClientId, string ClientSecret);
