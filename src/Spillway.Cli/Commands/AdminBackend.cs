using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Cli.Commands;

/// <summary>A subscription as <c>subscription list</c> shows it.</summary>
internal sealed record SubscriptionRow(string MunchkinId, string Name, int ApiUsers, long Activities);

/// <summary>An API user as <c>user list</c> shows it.</summary>
internal sealed record ApiUserRow(string Email, IReadOnlyList<string> Permissions, IReadOnlyList<string> ClientIds);

/// <summary>What <c>seed</c> did: activities added and the subscription's total after.</summary>
internal sealed record SeedSummary(string MunchkinId, long Leads, long Added, long Total, double Seconds);

/// <summary>
/// Where the admin commands (<c>subscription</c>, <c>user</c>, <c>seed</c>) do their work: a data folder opened
/// directly (the server must be stopped on it), or a running server's admin API. Both answer with the same rows, so a
/// command prints the same whichever it was given; a refusal is a <see cref="CliException"/> with the store's message.
/// </summary>
internal interface IAdminBackend : IAsyncDisposable
{
    Task<SubscriptionRow> CreateSubscriptionAsync(string munchkinId, string? name, CancellationToken ct);

    Task<IReadOnlyList<SubscriptionRow>> ListSubscriptionsAsync(CancellationToken ct);

    Task<(ApiUserRow User, IssuedCredential Credential)> AddApiUserAsync(string munchkinId, string email, IReadOnlyList<string> permissions, CancellationToken ct);

    Task<IReadOnlyList<ApiUserRow>> ListApiUsersAsync(string munchkinId, CancellationToken ct);

    Task<IssuedCredential> RotateSecretAsync(string clientId, CancellationToken ct);

    /// <summary>Creates the subscription when it is missing, then seeds it; <paramref name="progress"/> only where the backend can report it.</summary>
    Task<SeedSummary> SeedAsync(string munchkinId, long count, long? leads, int days, int seed, IProgress<long>? progress, CancellationToken ct);

    /// <summary>True when the work happens in this process (so a progress bar means something).</summary>
    bool IsLocal { get; }
}

/// <summary>The options that choose the backend: <c>--url</c> for a running server's admin API, else the data folder.</summary>
internal static class AdminTarget
{
    public static readonly Option<string?> Url = new("--url")
    {
        Description = "Work through the admin API of the server running at this address instead of opening a data folder.",
    };

    public static readonly Option<string?> AdminKey = new("--admin-key")
    {
        Description = "With --url: the admin key (default: $SPILLWAY_ADMIN_KEY, else the admin.key file of --data or ./spillway-data).",
    };

    /// <summary>The options every admin command takes, in help order.</summary>
    public static IEnumerable<Option> All => [CommonOptions.Data, CommonOptions.Create, CommonOptions.Postgres, Url, AdminKey, JsonOutput.Json];

    public static async Task<IAdminBackend> OpenAsync(ParseResult result, CancellationToken ct)
    {
        if (result.GetValue(Url) is not { } url)
        {
            return new StoreBackend(await CommonOptions.OpenStoreAsync(result, ct));
        }

        if (result.GetValue(CommonOptions.Postgres) is not null)
        {
            throw new CliException(ExitCodes.Usage, "--url and --postgres name two different stores: give one.");
        }

        var key = await ControlCommands.AdminKeyAsync(result.GetValue(AdminKey), result.GetValue(CommonOptions.Data), ct)
                  ?? throw new CliException(ExitCodes.Usage,
                      "No admin key: pass --admin-key, set SPILLWAY_ADMIN_KEY, or point --data at the server's data folder.");
        if (!Uri.TryCreate(url.TrimEnd('/') + "/_spillway/admin/", UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            throw new CliException(ExitCodes.Usage, $"--url {url} is not an absolute http(s) URL.");
        }

        return new HttpBackend(address, key);
    }
}

/// <summary>The data folder (or PostgreSQL store) opened in this process.</summary>
internal sealed class StoreBackend(Microsoft.AspNetCore.Builder.WebApplication app) : IAdminBackend
{
    private SubscriptionAdmin Admin => app.Get<SubscriptionAdmin>();

    private IIdentityStore Identity => app.Get<IIdentityStore>();

    public bool IsLocal => true;

    public async Task<SubscriptionRow> CreateSubscriptionAsync(string munchkinId, string? name, CancellationToken ct)
    {
        var created = await Admin.CreateSubscriptionAsync(munchkinId, name, ct);
        var s = created.Value ?? throw new CliException(ExitCodes.Failure, created.Error!);
        return new SubscriptionRow(s.MunchkinId, s.Name, 0, 0);
    }

    public async Task<IReadOnlyList<SubscriptionRow>> ListSubscriptionsAsync(CancellationToken ct)
    {
        var rows = new List<SubscriptionRow>();
        foreach (var s in await Identity.ListSubscriptionsAsync(ct))
        {
            var users = await Identity.ListApiUsersAsync(s.Id, ct);
            rows.Add(new SubscriptionRow(s.MunchkinId, s.Name, users.Count, await app.Get<IActivityStore>().CountAsync(s.Id, ct)));
        }

        return rows;
    }

    public async Task<(ApiUserRow User, IssuedCredential Credential)> AddApiUserAsync(string munchkinId, string email, IReadOnlyList<string> permissions,
        CancellationToken ct)
    {
        var added = await Admin.AddApiUserAsync(munchkinId, email, permissions, null, null, ct);
        if (added.Error is not null)
        {
            throw new CliException(ExitCodes.Failure, added.Error);
        }

        var (user, credential) = added.Value;
        return (new ApiUserRow(user.Email, user.Permissions, [credential.ClientId]), credential);
    }

    public async Task<IReadOnlyList<ApiUserRow>> ListApiUsersAsync(string munchkinId, CancellationToken ct)
    {
        var subscription = await Identity.FindSubscriptionAsync(munchkinId, ct) ?? throw new CliException(ExitCodes.Failure, $"No subscription {munchkinId}.");
        var rows = new List<ApiUserRow>();
        foreach (var user in await Identity.ListApiUsersAsync(subscription.Id, ct))
        {
            var credentials = await Identity.ListCredentialsAsync(user.Id, ct);
            rows.Add(new ApiUserRow(user.Email, user.Permissions, [.. credentials.Select(c => c.ClientId)]));
        }

        return rows;
    }

    public async Task<IssuedCredential> RotateSecretAsync(string clientId, CancellationToken ct)
    {
        var rotated = await Admin.RotateSecretAsync(clientId, ct);
        return rotated.Value ?? throw new CliException(ExitCodes.Failure, rotated.Error!);
    }

    public async Task<SeedSummary> SeedAsync(string munchkinId, long count, long? leads, int days, int seed, IProgress<long>? progress, CancellationToken ct)
    {
        var subscription = await Identity.FindSubscriptionAsync(munchkinId, ct);
        if (subscription is null)
        {
            var created = await Admin.CreateSubscriptionAsync(munchkinId, null, ct);
            subscription = created.Value ?? throw new CliException(ExitCodes.Failure, created.Error!);
        }

        var added = await Admin.SeedAsync(subscription, count, leads, days, seed, progress, ct);
        return new SeedSummary(subscription.MunchkinId, added.Leads, added.Activities, await app.Get<IActivityStore>().CountAsync(subscription.Id, ct), 0);
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}

/// <summary>A running server's admin API (<c>/_spillway/admin</c>); its problem details become the one-line refusal.</summary>
internal sealed class HttpBackend(Uri adminBase, string key) : IAdminBackend
{
    private readonly HttpClient _http = CreateClient(adminBase, key);

    public bool IsLocal => false;

    private static HttpClient CreateClient(Uri adminBase, string key)
    {
        // Seeding millions of activities through the API takes as long as it takes; Ctrl+C still cancels.
        var http = new HttpClient { BaseAddress = adminBase, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", key);
        return http;
    }

    public async Task<SubscriptionRow> CreateSubscriptionAsync(string munchkinId, string? name, CancellationToken ct)
    {
        var created = await SendAsync(HttpMethod.Post, "subscriptions", new JsonObject { ["munchkinId"] = munchkinId, ["name"] = name }, ct);
        return new SubscriptionRow(Text(created, "munchkinId"), Text(created, "name"), 0, 0);
    }

    public async Task<IReadOnlyList<SubscriptionRow>> ListSubscriptionsAsync(CancellationToken ct) =>
        [.. (await SendAsync(HttpMethod.Get, "subscriptions", null, ct)).AsArray().Select(s => new SubscriptionRow(
            Text(s, "munchkinId"), Text(s, "name"), s!["apiUsers"]?.GetValue<int>() ?? 0, s["activities"]?.GetValue<long>() ?? 0))];

    public async Task<(ApiUserRow User, IssuedCredential Credential)> AddApiUserAsync(string munchkinId, string email, IReadOnlyList<string> permissions,
        CancellationToken ct)
    {
        var body = new JsonObject { ["email"] = email, ["permissions"] = new JsonArray([.. permissions.Select(p => JsonValue.Create(p))]) };
        var added = await SendAsync(HttpMethod.Post, $"subscriptions/{Uri.EscapeDataString(munchkinId)}/users", body, ct);
        return (User(added["user"]), Credential(added["credential"]));
    }

    public async Task<IReadOnlyList<ApiUserRow>> ListApiUsersAsync(string munchkinId, CancellationToken ct) =>
        [.. (await SendAsync(HttpMethod.Get, $"subscriptions/{Uri.EscapeDataString(munchkinId)}/users", null, ct)).AsArray().Select(User)];

    public async Task<IssuedCredential> RotateSecretAsync(string clientId, CancellationToken ct) =>
        Credential(await SendAsync(HttpMethod.Post, $"credentials/{Uri.EscapeDataString(clientId)}/rotate", new JsonObject(), ct));

    public async Task<SeedSummary> SeedAsync(string munchkinId, long count, long? leads, int days, int seed, IProgress<long>? progress, CancellationToken ct)
    {
        var existing = await ListSubscriptionsAsync(ct);
        if (!existing.Any(s => string.Equals(s.MunchkinId, munchkinId, StringComparison.OrdinalIgnoreCase)))
        {
            await CreateSubscriptionAsync(munchkinId, null, ct);
        }

        var seeded = await SendAsync(HttpMethod.Post, $"subscriptions/{Uri.EscapeDataString(munchkinId)}/seed",
            new JsonObject { ["activities"] = count, ["leads"] = leads, ["daysBack"] = days, ["seed"] = seed }, ct);
        return new SeedSummary(munchkinId, seeded["leads"]?.GetValue<long>() ?? 0, seeded["added"]!.GetValue<long>(), seeded["total"]!.GetValue<long>(), 0);
    }

    /// <summary>Creates the subscription unless the server has it (as an import into a folder does).</summary>
    public async Task EnsureSubscriptionAsync(string munchkinId, CancellationToken ct)
    {
        var existing = await ListSubscriptionsAsync(ct);
        if (!existing.Any(s => string.Equals(s.MunchkinId, munchkinId, StringComparison.OrdinalIgnoreCase)))
        {
            await CreateSubscriptionAsync(munchkinId, null, ct);
        }
    }

    /// <summary>Sends one file to the admin API's import of <paramref name="what"/> (activities or leads) and returns its answer.</summary>
    public async Task<JsonNode> ImportAsync(string munchkinId, string what, Stream file, Spillway.Server.Activities.Import.ActivityFileFormat format,
        int batchSize, bool checkOnly, CancellationToken ct)
    {
        var path = $"subscriptions/{Uri.EscapeDataString(munchkinId)}/import/{what}?format={format.ToString().ToLowerInvariant()}" +
                   $"&batchSize={batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)}&check={(checkOnly ? "true" : "false")}";
        using var content = new StreamContent(file, 1 << 16);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        return await SendContentAsync(HttpMethod.Post, path, content, ct);
    }

    private Task<JsonNode> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken ct) =>
        SendContentAsync(method, path, body is null ? null : JsonContent.Create(body), ct);

    private async Task<JsonNode> SendContentAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };

        using var response = await _http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        JsonNode? json = null;
        try
        {
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (JsonException)
        {
        }

        if (!response.IsSuccessStatusCode)
        {
            var detail = json?["detail"]?.GetValue<string>() ?? json?["title"]?.GetValue<string>() ?? $"{(int)response.StatusCode} {response.ReasonPhrase}";
            throw new CliException(response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? ExitCodes.Usage : ExitCodes.Failure,
                response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? $"The server refused the admin key: {detail}" : detail);
        }

        return json ?? throw new CliException(ExitCodes.Failure, $"The server at {adminBase} answered {(int)response.StatusCode} without a JSON body.");
    }

    private static string Text(JsonNode? node, string name) => node?[name]?.GetValue<string>() ?? "";

    private static ApiUserRow User(JsonNode? node) => new(Text(node, "email"),
        [.. node?["permissions"]?.AsArray().Select(p => p!.GetValue<string>()) ?? []],
        [.. node?["clientIds"]?.AsArray().Select(p => p!.GetValue<string>()) ?? []]);

    private static IssuedCredential Credential(JsonNode? node) => new(Text(node, "clientId"), Text(node, "clientSecret"));

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
