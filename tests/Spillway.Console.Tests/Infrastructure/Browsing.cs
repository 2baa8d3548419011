using Microsoft.Playwright;

namespace Spillway.Console.Tests.Infrastructure;

/// <summary>Filling and posting the console's forms as a person does: typing, choosing, clicking the form's button.</summary>
public static class Browsing
{
    /// <summary>The element with this <c>data-testid</c> (the page contract's hooks).</summary>
    public static ILocator Hook(this IPage page, string testId) => page.GetByTestId(testId);

    /// <summary>Sets a form field by its name, whatever control the page uses for it (text, select, radio, checkbox).</summary>
    public static async Task SetAsync(this ILocator form, string name, string value)
    {
        var field = form.Locator($"[name='{name}']");
        var first = field.First;
        var tag = await first.EvaluateAsync<string>("e => e.tagName.toLowerCase()");
        var type = (await first.GetAttributeAsync("type"))?.ToLowerInvariant();
        switch (tag, type)
        {
            case ("select", _):
                await field.SelectOptionAsync(value);
                break;
            case ("input", "radio"):
                await form.Locator($"[name='{name}'][value='{value}' i]").CheckAsync();
                break;
            case ("input", "checkbox"):
                await field.SetCheckedAsync(value is "true" or "on");
                break;
            case ("input", "datetime-local"):
                // A local date-time control takes no zone; the console's are read as UTC.
                await field.FillAsync(DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture)
                    .UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                await field.FillAsync(value);
                break;
        }
    }

    /// <summary>Clicks the form's one submit button and waits for the page the server answers with.</summary>
    public static async Task SubmitAsync(this ILocator form)
    {
        var button = form.Locator("button:not([type=button]):not([type=reset]), input[type=submit]");
        await form.Page.NavigateByAsync(() => button.ClickAsync());
    }

    /// <summary>Does <paramref name="action"/> and waits until it has replaced the page with a fully loaded new one.</summary>
    public static async Task NavigateByAsync(this IPage page, Func<Task> action)
    {
        // A marker on the old document: the new one is there when the marker is gone and the document has loaded.
        await page.EvaluateAsync("() => { window.spillwayOldPage = true; }");
        await action();
        await page.WaitForFunctionAsync("() => window.spillwayOldPage === undefined && document.readyState === 'complete'");
    }

    /// <summary>Opens a page and checks it answered with <paramref name="status"/>.</summary>
    public static async Task OpenAsync(this IPage page, string url, int status = 200)
    {
        var response = await page.GotoAsync(url);
        Assert.NotNull(response);
        Assert.Equal(status, response.Status);
    }

    /// <summary>The UTC instant of a <c>&lt;time datetime&gt;</c> element.</summary>
    public static async Task<DateTimeOffset> TimeAsync(this ILocator time)
    {
        var value = await time.GetAttributeAsync("datetime");
        Assert.False(string.IsNullOrEmpty(value), "a <time> without a datetime");
        return DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
