using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Spillway.Console.Tests.Infrastructure;

/// <summary>
/// What every console page must pass: axe-core (bundled in Deque.AxeCore.Playwright and run inside the page, no
/// network) finds no violation of the WCAG 2.0, 2.1 and 2.2 A/AA rules nor of axe's best practices, and the page fits
/// its width with no sideways scrolling. Screenshots are written only when <c>SPILLWAY_SCREENSHOTS=1</c>, so an
/// ordinary run never rewrites tracked files.
/// </summary>
public static class PageChecks
{
    /// <summary>The axe rule tags checked; a rule with any of them runs.</summary>
    public static readonly IReadOnlyList<string> AxeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"];

    private const int MaxScreenshotHeight = 2000;

    public static bool ScreenshotsWanted => Environment.GetEnvironmentVariable("SPILLWAY_SCREENSHOTS") == "1";

    /// <summary>docs/images/console of the repository the tests were built from.</summary>
    public static string ImagesFolder
    {
        get
        {
            for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "Spillway.slnx")))
                {
                    return Path.Combine(folder.FullName, "docs", "images", "console");
                }
            }

            throw new InvalidOperationException("Spillway.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Runs axe on the page as it is now and fails on any violation, naming the rule and the elements.</summary>
    public static async Task<AxeResult> AssertAccessibleAsync(IPage page)
    {
        var result = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = [.. AxeTags] },
            ResultTypes = [ResultType.Violations],
        });
        var violations = result.Violations ?? [];
        Assert.True(violations.Length == 0, $"axe found violations on {page.Url} at {page.ViewportSize?.Width} px:\n" + string.Join("\n",
            violations.Select(v => $"- {v.Id} ({v.Impact}): {v.Help}\n" + string.Join("\n",
                v.Nodes.Select(n => $"    {n.Target}: {Shorten(n.Html)}")))));
        return result;
    }

    /// <summary>The axe rules <see cref="AssertAccessibleAsync"/> runs, by id.</summary>
    public static async Task<IReadOnlyList<AxeRuleMetadata>> RulesCheckedAsync(IPage page) =>
        [.. (await page.GetAxeRules([.. AxeTags])).OrderBy(r => r.RuleId, StringComparer.Ordinal)];

    /// <summary>Fails when the page is wider than its viewport (a person would have to scroll sideways to use it).</summary>
    public static async Task AssertFitsWidthAsync(IPage page)
    {
        var sizes = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, window.innerWidth]");
        Assert.True(sizes[0] <= sizes[1], $"{page.Url} is {sizes[0]} px wide in a {sizes[1]} px window: it scrolls sideways.");
    }

    /// <summary>Writes a full-page screenshot to docs/images/console/<paramref name="name"/>.png when asked to.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        if (!ScreenshotsWanted)
        {
            return;
        }

        Directory.CreateDirectory(ImagesFolder);
        // The whole page, but no taller than MaxScreenshotHeight: a long table says no more in its thousandth row.
        var size = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]");
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(ImagesFolder, name + ".png"),
            FullPage = true,
            Clip = new Clip { X = 0, Y = 0, Width = size[0], Height = Math.Min(size[1], MaxScreenshotHeight) },
            Animations = ScreenshotAnimations.Disabled,
            Caret = ScreenshotCaret.Hide,
        });
    }

    private static string Shorten(string html) => html.Length <= 160 ? html : html[..160] + "…";
}
