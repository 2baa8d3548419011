using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The token endpoint and how tokens are presented.</summary>
public abstract partial class IdentityTests : StoreTestBase
{
    private const string BadClientBody = """{"error":"invalid_client","error_description":"Bad client credentials"}""";
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex("^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([a-z0-9]{1,8})$")]
    private static partial Regex TokenPattern();

    private static async Task<JsonElement> TokenJsonAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, root) = await Wire.ReadJsonAsync(response);
        return root;
    }

    [Fact]
    public async Task Token_by_GET_with_query_is_plain_OAuth_json_with_scope_and_no_store()
    {
        await using var server = await StartAsync();

        var response = await server.TokenByQueryAsync(server.ClientId, server.ClientSecret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        Assert.Contains("no-store", response.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Equal("no-cache", response.Headers.Pragma.ToString());
        var (_, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["access_token", "token_type", "expires_in", "scope"], Wire.MemberNames(root));
        Assert.Equal("bearer", root.GetProperty("token_type").GetString());
        Assert.InRange(root.GetProperty("expires_in").GetInt64(), 3590, 3600);
        Assert.Equal("tester@example.com", root.GetProperty("scope").GetString());
        var match = TokenPattern().Match(root.GetProperty("access_token").GetString()!);
        Assert.True(match.Success, root.GetProperty("access_token").GetString());
        Assert.Equal('4', match.Groups[1].Value[14]); // a random (version 4) UUID: 122 random bits
    }

    [Fact]
    public async Task Token_by_POST_with_query_POST_with_form_and_with_partner_id_all_return_the_same_token()
    {
        await using var server = await StartAsync();
        var query = $"grant_type=client_credentials&client_id={server.ClientId}&client_secret={server.ClientSecret}";

        var byGet = await TokenJsonAsync(await server.Http.GetAsync($"/identity/oauth/token?{query}"));
        var byPostQuery = await TokenJsonAsync(await server.Http.PostAsync($"/identity/oauth/token?{query}", null));
        var byPostForm = await TokenJsonAsync(await server.Http.PostAsync("/identity/oauth/token", Wire.Form(
            ("grant_type", "client_credentials"), ("client_id", server.ClientId), ("client_secret", server.ClientSecret))));
        var withPartnerGet = await TokenJsonAsync(await server.Http.GetAsync($"/identity/oauth/token?{query}&partner_id=abc123"));
        var withPartnerForm = await TokenJsonAsync(await server.Http.PostAsync("/identity/oauth/token", Wire.Form(
            ("grant_type", "client_credentials"), ("client_id", server.ClientId), ("client_secret", server.ClientSecret), ("partner_id", "abc123"))));

        var token = byGet.GetProperty("access_token").GetString();
        Assert.All(new[] { byPostQuery, byPostForm, withPartnerGet, withPartnerForm },
            t => Assert.Equal(token, t.GetProperty("access_token").GetString()));
        Assert.All(new[] { byPostQuery, byPostForm, withPartnerGet, withPartnerForm },
            t => Assert.Equal("tester@example.com", t.GetProperty("scope").GetString()));

        using var client = server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
    }

    [Fact]
    public async Task Asking_again_before_expiry_returns_the_same_token_with_its_remaining_lifetime()
    {
        await using var server = await StartAsync();

        var first = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));
        var second = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));
        server.Clock.Advance(TimeSpan.FromSeconds(100));
        var third = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));

        var token = first.GetProperty("access_token").GetString();
        Assert.Equal(token, second.GetProperty("access_token").GetString());
        Assert.Equal(token, third.GetProperty("access_token").GetString());
        var firstLeft = first.GetProperty("expires_in").GetInt64();
        Assert.InRange(second.GetProperty("expires_in").GetInt64(), firstLeft - 2, firstLeft);
        Assert.InRange(third.GetProperty("expires_in").GetInt64(), firstLeft - 102, firstLeft - 99);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Bad_client_credentials_are_401_with_the_exact_spring_oauth_body(bool knownClient, bool rightSecret)
    {
        await using var server = await StartAsync();
        var clientId = knownClient ? server.ClientId : Guid.NewGuid().ToString();
        var secret = rightSecret ? server.ClientSecret : "not-the-secret-0123456789";

        foreach (var response in new[]
        {
            await server.TokenByQueryAsync(clientId, secret),
            await server.Http.PostAsync("/identity/oauth/token", Wire.Form(
                ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret))),
        })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(BadClientBody, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Missing_secret_or_client_id_is_401_too()
    {
        await using var server = await StartAsync();

        var noSecret = await server.Http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={server.ClientId}");
        var noClient = await server.Http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_secret={server.ClientSecret}");

        Assert.Equal(HttpStatusCode.Unauthorized, noSecret.StatusCode);
        Assert.Equal(BadClientBody, await noSecret.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, noClient.StatusCode);
        Assert.Equal(BadClientBody, await noClient.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Missing_or_wrong_grant_type_gets_an_OAuth_error_and_no_token()
    {
        await using var server = await StartAsync();

        var missing = await server.Http.GetAsync($"/identity/oauth/token?client_id={server.ClientId}&client_secret={server.ClientSecret}");
        var wrong = await server.Http.GetAsync($"/identity/oauth/token?grant_type=password&client_id={server.ClientId}&client_secret={server.ClientSecret}");

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var (_, missingJson) = await Wire.ReadJsonAsync(missing);
        Assert.Equal(["error", "error_description"], Wire.MemberNames(missingJson));
        Assert.Equal("invalid_request", missingJson.GetProperty("error").GetString());
        Assert.Equal("Missing grant type", missingJson.GetProperty("error_description").GetString());

        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        var (_, wrongJson) = await Wire.ReadJsonAsync(wrong);
        Assert.Equal("unsupported_grant_type", wrongJson.GetProperty("error").GetString());
        Assert.False(wrongJson.TryGetProperty("access_token", out _));
    }

    [Fact]
    public async Task The_identity_endpoint_issues_no_token_for_other_methods()
    {
        await using var server = await StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Delete,
            $"/identity/oauth/token?grant_type=client_credentials&client_id={server.ClientId}&client_secret={server.ClientSecret}");
        var response = await server.Http.SendAsync(request);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("access_token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_lifetime_is_configurable_and_an_expired_token_is_602_then_a_new_token_is_issued()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["Spillway:Limits:TokenLifetimeSeconds"] = "120" });

        var first = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));
        Assert.InRange(first.GetProperty("expires_in").GetInt64(), 118, 120);
        var oldToken = first.GetProperty("access_token").GetString()!;
        using var client = server.NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", oldToken);
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));

        server.Clock.Advance(TimeSpan.FromSeconds(121));

        Assert.Equal("Access token expired", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "602"));
        Assert.Equal("Access token expired", await Marketo.ErrorAsync(
            await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json"), "602"));
        Assert.Equal("Access token expired", await Marketo.ErrorAsync(
            await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1)))), "602"));

        var file = await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/file.json");
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(file));
        Assert.Equal("Access token expired", await Marketo.ErrorAsync(file, "602"));

        // Long after, and after a retention sweep, an expired token still says expired (clients refresh only on 602).
        server.Clock.Advance(TimeSpan.FromDays(2));
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.PostAsync("/_spillway/admin/retention/sweep", null)).StatusCode);
        Assert.Equal("Access token expired", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "602"));

        var renewed = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));
        var newToken = renewed.GetProperty("access_token").GetString()!;
        Assert.NotEqual(oldToken, newToken);
        Assert.Matches(TokenPattern(), newToken);
        Assert.InRange(renewed.GetProperty("expires_in").GetInt64(), 118, 120);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", newToken);
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
    }

    [Fact]
    public async Task The_default_lifetime_is_3600_seconds()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        server.Clock.Advance(TimeSpan.FromSeconds(3590));
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
        server.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("Access token expired", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "602"));
    }

    [Fact]
    public async Task No_token_unknown_token_and_malformed_token_are_601()
    {
        await using var server = await StartAsync();
        using var client = server.NewClient();

        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "601"));
        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(await client.GetAsync("/bulk/v1/activities/export.json"), "601"));

        foreach (var token in new[] { $"{Guid.NewGuid()}:sw", "garbage", new string('x', 5000) })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal("Access token invalid", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "601"));
        }

        client.DefaultRequestHeaders.Authorization = null;
        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(
            await client.GetAsync($"/rest/v1/activities/types.json?access_token={Guid.NewGuid()}:sw"), "601"));
        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(
            await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/file.json"), "601"));
    }

    [Fact]
    public async Task The_token_works_as_bearer_header_query_parameter_and_form_field()
    {
        await using var server = await StartAsync();
        var token = await server.GetTokenAsync();
        using var client = server.NewClient();

        await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/types.json?access_token={Uri.EscapeDataString(token)}"));
        await Marketo.SuccessAsync(await client.GetAsync($"/bulk/v1/activities/export.json?access_token={Uri.EscapeDataString(token)}"));
        var id = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync(
            $"/bulk/v1/activities/export/create.json?access_token={Uri.EscapeDataString(token)}",
            Marketo.Json(Marketo.Window(Day, Day.AddDays(1)))))).GetProperty("exportId").GetString()!;

        var enqueued = await client.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", Wire.Form(("access_token", token)));
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(enqueued)).GetProperty("status").GetString());

        var status = await client.PostAsync($"/bulk/v1/activities/export/{id}/status.json", Wire.Form(("_method", "GET"), ("access_token", token)));
        Assert.Equal(id, Marketo.Job(await Marketo.SuccessAsync(status)).GetProperty("exportId").GetString());

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(id, (await Marketo.StatusAsync(client, id)).GetProperty("exportId").GetString());
    }

    [Fact]
    public async Task RejectQueryStringToken_rejects_only_the_query_form_with_601()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["Spillway:RejectQueryStringToken"] = "true" });
        var token = await server.GetTokenAsync();
        using var client = server.NewClient();

        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(
            await client.GetAsync($"/rest/v1/activities/types.json?access_token={Uri.EscapeDataString(token)}"), "601"));
        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(
            await client.GetAsync($"/bulk/v1/activities/export.json?access_token={Uri.EscapeDataString(token)}"), "601"));

        var id = Marketo.Job(await Marketo.SuccessAsync(await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/bulk/v1/activities/export/create.json")
        {
            Content = Marketo.Json(Marketo.Window(Day, Day.AddDays(1))),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
        }))).GetProperty("exportId").GetString()!;

        var cancelled = await client.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", Wire.Form(("access_token", token)));
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(cancelled)).GetProperty("status").GetString());

        // A form field stays a form field when the form also carries the _method override.
        var status = await client.PostAsync($"/bulk/v1/activities/export/{id}/status.json", Wire.Form(("_method", "GET"), ("access_token", token)));
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(status)).GetProperty("status").GetString());

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
    }

    [Fact]
    public async Task Secrets_are_stored_hashed()
    {
        await using var server = await StartAsync();
        var (_, adminSecret) = await server.AddUserViaAdminAsync(SpillwayTestServer.MunchkinId, "second@example.com", "Read-Only Activity");
        await server.GetTokenAsync();

        var cells = await server.ReadAllMetadataTextAsync();
        foreach (var value in cells)
        {
            Assert.DoesNotContain(server.ClientSecret, value, StringComparison.Ordinal);
            Assert.DoesNotContain(adminSecret, value, StringComparison.Ordinal);
        }

        Assert.Contains(cells, c => c.StartsWith("pbkdf2-sha256$", StringComparison.Ordinal));

        foreach (var file in Directory.EnumerateFiles(server.DataPath, "metadata.db*"))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(server.ClientSecret)));
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(adminSecret)));
        }
    }

    [Fact]
    public async Task Two_users_get_different_tokens_and_scopes()
    {
        await using var server = await StartAsync();
        var (otherId, otherSecret) = await server.AddUserViaAdminAsync(SpillwayTestServer.MunchkinId, "other@example.com", "Read-Only Activity");

        var mine = await TokenJsonAsync(await server.TokenByQueryAsync(server.ClientId, server.ClientSecret));
        var theirs = await TokenJsonAsync(await server.TokenByQueryAsync(otherId, otherSecret));

        Assert.NotEqual(mine.GetProperty("access_token").GetString(), theirs.GetProperty("access_token").GetString());
        Assert.Equal("other@example.com", theirs.GetProperty("scope").GetString());
        Assert.Matches(TokenPattern(), theirs.GetProperty("access_token").GetString()!);
    }

    [Fact]
    public async Task Rotating_a_secret_makes_the_old_secret_401_and_the_old_token_601_at_once()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));

        var rotate = await server.Admin.PostAsync($"/_spillway/admin/credentials/{server.ClientId}/rotate", null);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        using var rotated = JsonDocument.Parse(await rotate.Content.ReadAsStringAsync());
        var newSecret = rotated.RootElement.GetProperty("clientSecret").GetString()!;
        Assert.NotEqual(server.ClientSecret, newSecret);

        Assert.Equal("Access token invalid", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/types.json"), "601"));
        var oldSecret = await server.TokenByQueryAsync(server.ClientId, server.ClientSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, oldSecret.StatusCode);
        Assert.Equal(BadClientBody, await oldSecret.Content.ReadAsStringAsync());

        using var renewed = await server.AuthorizedClientAsync(server.ClientId, newSecret);
        await Marketo.SuccessAsync(await renewed.GetAsync("/rest/v1/activities/types.json"));
        Assert.NotEqual(client.DefaultRequestHeaders.Authorization!.Parameter, renewed.DefaultRequestHeaders.Authorization!.Parameter);
    }
}

public sealed class IdentityTests_Embedded : IdentityTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class IdentityTests_Postgres : IdentityTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
