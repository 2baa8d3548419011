using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Console;

/// <summary>The console's security: no page without the session, and no form post without the token or from another origin.</summary>
public sealed class ConsoleSecurityTests
{
    private const string Base = $"/_spillway/console/subscriptions/{SpillwayTestServer.MunchkinId}";

    private static readonly string[] Pages =
    [
        "/_spillway/console", Base, Base + "/jobs", Base + "/requests", Base + "/controls", Base + "/data", Base + "/activities", Base + "/leads",
        Base + "/lists", Base + "/lists/1", Base + "/programs", Base + "/programs/1",
        Base + "/requests/1", Base + "/jobs/00000000-0000-0000-0000-000000000000",
    ];

    private static readonly string[] Forms =
    [
        "/_spillway/console/subscriptions", "/_spillway/console/sign-out", Base + "/controls/clock", Base + "/controls/progression",
        Base + "/controls/faults", Base + "/controls/reset", Base + "/data/users", Base + "/data/users/rotate", Base + "/data/limits", Base + "/data/seed",
        Base + "/jobs/00000000-0000-0000-0000-000000000000/cancel",
    ];

    private static async Task<double> ClockOffsetAsync(SpillwayTestServer server) =>
        JsonDocument.Parse(await server.Admin.GetStringAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/clock"))
            .RootElement.GetProperty("offsetSeconds").GetDouble();

    [Fact]
    public async Task Without_the_session_every_page_sends_to_sign_in_and_every_form_is_refused()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = new ConsoleBrowser(server);

        foreach (var page in Pages)
        {
            var response = await browser.GetAsync(page);
            Assert.True(response.Status == HttpStatusCode.Redirect, page);
            Assert.Equal("/_spillway/console/sign-in", response.Response.Headers.Location?.OriginalString);
        }

        foreach (var form in Forms)
        {
            var response = await browser.PostRawAsync(form, [("advanceSeconds", "3600"), ("_csrf", "0123")]);
            Assert.True(response.Status == HttpStatusCode.Forbidden, form);
        }

        Assert.Equal(0, await ClockOffsetAsync(server));
    }

    [Fact]
    public async Task A_form_post_without_the_token_or_from_another_origin_is_refused_and_changes_nothing()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);
        var token = await browser.TokenAsync();

        foreach (var form in Forms)
        {
            var missing = await browser.PostRawAsync(form, [("advanceSeconds", "3600")]);
            Assert.True(missing.Status == HttpStatusCode.Forbidden, form);
            Assert.Contains("form token", missing.Text("form-error"), StringComparison.Ordinal);
            var wrong = await browser.PostRawAsync(form, [("advanceSeconds", "3600"), ("_csrf", new string('0', token.Length))]);
            Assert.Equal(HttpStatusCode.Forbidden, wrong.Status);
            var foreign = await browser.PostRawAsync(form, [("advanceSeconds", "3600"), ("_csrf", token)], origin: "https://evil.example");
            Assert.True(foreign.Status == HttpStatusCode.Forbidden, form);
            Assert.Contains("another site", foreign.Text("form-error"), StringComparison.Ordinal);
        }

        Assert.Equal(0, await ClockOffsetAsync(server));
        Assert.Single(JsonDocument.Parse(await server.Admin.GetStringAsync("/_spillway/admin/subscriptions")).RootElement.EnumerateArray());

        // The same post from the console's own origin goes through.
        var own = await browser.PostRawAsync(Base + "/controls/clock", [("advanceSeconds", "3600"), ("_csrf", token)],
            origin: server.BaseAddress.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal(3600, await ClockOffsetAsync(server), 0);
    }

    [Fact]
    public async Task A_sign_in_from_another_origin_is_refused_and_sign_out_ends_the_session_in_the_browser()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = new ConsoleBrowser(server);
        var foreign = await browser.PostRawAsync("/_spillway/console/sign-in", [("key", SpillwayTestServer.AdminKey)], origin: "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, foreign.Status);
        Assert.False(foreign.Response.Headers.Contains("Set-Cookie"));

        using var signedIn = await ConsoleBrowser.SignInAsync(server);
        var signOut = await signedIn.PostAsync("/_spillway/console/sign-out");
        Assert.Equal(HttpStatusCode.Redirect, signOut.Status);
        var cleared = Assert.Single(signOut.Response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("spillway-console=;", cleared, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_assets_are_served_by_the_server_without_a_session_and_pages_load_nothing_else()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);
        using var anonymous = new ConsoleBrowser(server);

        var css = await anonymous.GetAsync("/_spillway/console/assets/console.css");
        var js = await anonymous.GetAsync("/_spillway/console/assets/console.js");
        Assert.Equal(HttpStatusCode.OK, css.Status);
        Assert.Equal("text/css", css.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/javascript", js.Response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("data-live", js.Html, StringComparison.Ordinal);

        var page = await browser.GetAsync(Base);
        var sources = System.Text.RegularExpressions.Regex.Matches(page.Html, "(?:src|href)=\"([^\"#]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(sources);
        Assert.All(sources, s => Assert.StartsWith("/_spillway/console", s, StringComparison.Ordinal));
        Assert.Equal("DENY", page.Response.Headers.GetValues("X-Frame-Options").Single());
    }
}
