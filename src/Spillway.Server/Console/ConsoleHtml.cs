using System.Globalization;
using System.Net;
using System.Text;
using Spillway.Server.Admin;

namespace Spillway.Server.Console;

/// <summary>What a console handler renders: the page's title (its one heading), its body, and where it sits in the nav.</summary>
internal sealed record ConsolePage(string Title, string Body)
{
    /// <summary>The subscription whose pages the nav links to; null on the pages above subscriptions.</summary>
    public string? MunchkinId { get; init; }

    /// <summary>The nav entry of the page (<c>overview</c>, <c>jobs</c>, ...), marked as the current page.</summary>
    public string? Section { get; init; }

    public int Status { get; init; } = StatusCodes.Status200OK;
}

/// <summary>The page shell and the small HTML helpers every console page is written with.</summary>
internal static class ConsoleHtml
{
    private static readonly (string Section, string Label, string Path)[] Sections =
    [
        ("overview", "Overview", ""),
        ("jobs", "Jobs", "/jobs"),
        ("requests", "Request log", "/requests"),
        ("controls", "Controls", "/controls"),
        ("data", "Data", "/data"),
        ("activities", "Activities", "/activities"),
        ("leads", "Leads", "/leads"),
        ("lists", "Lists", "/lists"),
        ("programs", "Programs", "/programs"),
    ];

    /// <summary>The console's security headers: no caching of pages, no framing, and nothing but our own script and styles.</summary>
    public static void SecureHeaders(HttpContext http)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["X-Frame-Options"] = "DENY";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "same-origin";
        http.Response.Headers["Content-Security-Policy"] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'";
    }

    public static IResult Render(HttpContext http, ConsolePage page)
    {
        SecureHeaders(http);
        var signedIn = ConsoleSession.SignedIn(http);
        var html = new StringBuilder(4096);
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(page.Title)).Append(" · Spillway console</title>")
            .Append("<link rel=\"stylesheet\" href=\"").Append(ConsoleEndpoints.Prefix).Append("/assets/console.css\">")
            .Append("<script src=\"").Append(ConsoleEndpoints.Prefix).Append("/assets/console.js\" defer></script>")
            .Append("</head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header><p class=\"brand\"><a href=\"")
            .Append(ConsoleEndpoints.Prefix).Append("\">Spillway console</a></p>");
        if (signedIn)
        {
            html.Append("<nav aria-label=\"Console\" data-testid=\"console-nav\"><ul>")
                .Append("<li><a data-testid=\"nav-subscriptions\" href=\"").Append(ConsoleEndpoints.Prefix).Append('"')
                .Append(page.MunchkinId is null ? " aria-current=\"page\"" : "").Append(">Subscriptions</a></li>");
            if (page.MunchkinId is { } m)
            {
                foreach (var (section, label, path) in Sections)
                {
                    html.Append("<li><a data-testid=\"nav-").Append(section).Append("\" href=\"").Append(E(SubscriptionPath(m, path))).Append('"')
                        .Append(page.Section == section ? " aria-current=\"page\"" : "").Append('>').Append(label).Append("</a></li>");
                }
            }

            html.Append("</ul></nav>")
                .Append("<form method=\"post\" data-testid=\"sign-out-form\" action=\"").Append(ConsoleEndpoints.Prefix).Append("/sign-out\">")
                .Append(CsrfField(http)).Append("<button type=\"submit\">Sign out</button></form>");
        }

        html.Append("</header><main id=\"main\" tabindex=\"-1\"><h1>").Append(E(page.Title)).Append("</h1>").Append(page.Body)
            .Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, page.Status);
    }

    /// <summary>The path of a subscription's page (<paramref name="rest"/> starts with a slash, or is empty).</summary>
    public static string SubscriptionPath(string munchkinId, string rest = "") =>
        $"{ConsoleEndpoints.Prefix}/subscriptions/{Uri.EscapeDataString(munchkinId)}{rest}";

    /// <summary>HTML-encodes text for an element or a quoted attribute.</summary>
    public static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    public static string Time(DateTimeOffset? at, string testId = "")
    {
        var id = testId.Length == 0 ? "" : $" data-testid=\"{testId}\"";
        if (at is not { } t)
        {
            return $"<span{id}>—</span>";
        }

        var iso = Iso(t);
        return $"<time{id} datetime=\"{iso}\">{t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC</time>";
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Inv(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Inv(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Bytes for people: 1,536 → "1.5 KiB".</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{N(bytes)} bytes" : $"{value.ToString("0.#", CultureInfo.InvariantCulture)} {units[unit]}";
    }

    /// <summary>The outcome of a form: success in a status line, a refusal in an alert.</summary>
    public static string Flash(string? message, string? error) =>
        (message is null ? "" : $"<p class=\"flash\" role=\"status\" data-testid=\"flash\">{E(message)}</p>")
        + (error is null ? "" : $"<p class=\"error\" role=\"alert\" data-testid=\"form-error\">{E(error)}</p>");

    /// <summary>The hidden anti-forgery field every changing form carries.</summary>
    public static string CsrfField(HttpContext http) =>
        $"<input type=\"hidden\" name=\"{ConsoleSession.CsrfField}\" value=\"{E(ConsoleSession.CsrfToken(http))}\">";

    /// <summary>The opening tag of a changing form, with its anti-forgery field.</summary>
    public static string PostForm(HttpContext http, string action, string testId, string extraClass = "") =>
        $"<form method=\"post\" action=\"{E(action)}\" data-testid=\"{testId}\"{(extraClass.Length == 0 ? "" : $" class=\"{extraClass}\"")}>"
        + CsrfField(http);

    /// <summary>A labelled input; <paramref name="hint"/> is linked to it for screen readers.</summary>
    public static string Field(string form, string name, string label, string type = "text", string? value = null, string? hint = null,
        bool required = false, string extra = "")
    {
        var id = $"{form}-{name}";
        var described = hint is null ? "" : $" aria-describedby=\"{id}-hint\"";
        return $"<div class=\"field\"><label for=\"{id}\">{E(label)}</label><input id=\"{id}\" name=\"{name}\" type=\"{type}\""
            + (value is null ? "" : $" value=\"{E(value)}\"") + (required ? " required" : "") + described + extra + ">"
            + (hint is null ? "" : $"<small id=\"{id}-hint\">{E(hint)}</small>") + "</div>";
    }

    /// <summary>A labelled select; the option equal to <paramref name="selected"/> is selected.</summary>
    public static string Select(string form, string name, string label, IEnumerable<(string Value, string Text)> options, string? selected)
    {
        var id = $"{form}-{name}";
        var html = new StringBuilder($"<div class=\"field\"><label for=\"{id}\">{E(label)}</label><select id=\"{id}\" name=\"{name}\">");
        foreach (var (value, text) in options)
        {
            html.Append("<option value=\"").Append(E(value)).Append('"')
                .Append(string.Equals(value, selected, StringComparison.OrdinalIgnoreCase) ? " selected" : "").Append('>').Append(E(text)).Append("</option>");
        }

        return html.Append("</select></div>").ToString();
    }

    /// <summary>
    /// The opening of a data table: a focusable, labelled region that scrolls sideways on a narrow screen (so a wide table
    /// never widens the page), then the table with its test id. Close it with <c>&lt;/table&gt;&lt;/div&gt;</c>.
    /// </summary>
    public static string TableStart(string label, string testId) =>
        $"<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"{label} (scrolls sideways)\"><table data-testid=\"{testId}\">";

    /// <summary>Text cut to <paramref name="max"/> characters, saying how much was left out.</summary>
    public static string Clip(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… ({N(text.Length - max)} more characters)");

    public static ConsolePage NotFound(string what) =>
        new("Not found", $"<p>{E(what)}</p><p><a href=\"{ConsoleEndpoints.Prefix}\">Back to the subscriptions</a></p>")
        {
            Status = StatusCodes.Status404NotFound,
        };

    /// <summary>The admin key service, for the session checks.</summary>
    public static AdminKey AdminKeyOf(HttpContext http) => http.RequestServices.GetRequiredService<AdminKey>();
}
