using Microsoft.Playwright;
using Spillway.Console.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Spillway.Console.Tests;

/// <summary>Signing in and out of the console in a real browser, and the guard that keeps the browser on the server.</summary>
public sealed class SignInTests : IClassFixture<EmbeddedSession>
{
    private readonly EmbeddedSession _console;

    public SignInTests(EmbeddedSession console)
    {
        _console = console;
        _console.ClearProblems();
    }

    [Fact]
    public async Task Without_signing_in_a_console_page_sends_the_browser_to_the_sign_in_form()
    {
        var page = await _console.NewPageAsync(ConsoleSession.WideWidth, 900);

        await page.OpenAsync(_console.SubscriptionUrl("/jobs"));

        Assert.Equal(_console.Url("/sign-in"), page.Url);
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sign in");
        await Expect(page.Hook("sign-in-form").Locator("[name=key]")).ToHaveAttributeAsync("type", "password");
        _console.AssertClean();
    }

    [Fact]
    public async Task A_wrong_key_is_refused_on_the_form_and_the_right_key_opens_the_subscriptions()
    {
        var page = await _console.NewPageAsync(ConsoleSession.NarrowWidth, 844);
        await page.OpenAsync(_console.Url("/sign-in"));
        var form = page.Hook("sign-in-form");

        await form.SetAsync("key", "not-the-admin-key");
        await form.SubmitAsync();

        await Expect(page.Hook("sign-in-error")).ToBeVisibleAsync();
        await Expect(page.Hook("sign-in-error")).ToHaveAttributeAsync("role", "alert");
        Assert.Empty(await page.Context.CookiesAsync());
        // The key never travels in an address.
        Assert.DoesNotContain("not-the-admin-key", page.Url, StringComparison.Ordinal);

        await form.SetAsync("key", _console.Server.AdminKey);
        await form.SubmitAsync();

        Assert.Equal(_console.Url(""), page.Url.TrimEnd('/'));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Subscriptions");
        await Expect(page.Locator($"[data-testid=subscription-row][data-munchkin-id='{ConsoleSession.MunchkinId}']")).ToHaveCountAsync(1);
        var cookie = Assert.Single(await page.Context.CookiesAsync());
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(_console.Server.AdminKey, cookie.Value, StringComparison.Ordinal);
        await PageChecks.AssertAccessibleAsync(page);
        _console.AssertClean();
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var page = await _console.NewPageAsync(ConsoleSession.WideWidth, 900);
        await _console.SignInAsync(page);

        await page.Hook("sign-out-form").SubmitAsync();

        Assert.Equal(_console.Url("/sign-in"), page.Url);
        await page.OpenAsync(_console.SubscriptionUrl());
        Assert.Equal(_console.Url("/sign-in"), page.Url);
        _console.AssertClean();
    }

    [Fact]
    public async Task The_subscriptions_link_to_their_overview()
    {
        var page = _console.Wide;
        await page.OpenAsync(_console.Url(""));

        await page.NavigateByAsync(() =>
            page.Locator($"[data-testid=subscription-row][data-munchkin-id='{ConsoleSession.MunchkinId}'] a").First.ClickAsync());

        Assert.Equal(_console.SubscriptionUrl(), page.Url);
        await Expect(page.Locator("h1")).ToHaveTextAsync($"Overview of {ConsoleSession.MunchkinId}");
        _console.AssertClean();
    }

    [Fact]
    public async Task A_request_to_another_host_is_blocked_and_fails_the_test()
    {
        var page = await _console.NewPageAsync(ConsoleSession.WideWidth, 900);

        // 192.0.2.0/24 is reserved for documentation: nothing answers there even if the guard let it through.
        await Assert.ThrowsAsync<PlaywrightException>(() => page.GotoAsync("http://192.0.2.1/console.js"));

        var problem = Assert.Single(_console.Problems);
        Assert.Contains("http://192.0.2.1/console.js", problem, StringComparison.Ordinal);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(_console.AssertClean);
        _console.ClearProblems();
    }
}
