using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Spillway.Server.Admin;
using Spillway.Server.Storage;

namespace Spillway.Server.Console;

/// <summary>
/// The web console, served by the server itself behind the admin key. The key is typed once into a sign-in form and
/// never travels in a URL; the browser then holds an HttpOnly, SameSite=Strict cookie that carries a digest of the
/// key, not the key, so a cookie seen in a log cannot open the admin API. Pages are plain server-rendered HTML with no
/// script and no asset from outside the server, so the console works without internet.
/// </summary>
internal static class ConsoleEndpoints
{
    public const string Prefix = "/_spillway/console";
    public const string CookieName = "spillway-console";

    /// <summary>A wrong key waits this long before the answer, so guessing the key through the form is slow.</summary>
    private static readonly TimeSpan WrongKeyDelay = TimeSpan.FromSeconds(1);

    public static void MapConsoleEndpoints(this IEndpointRouteBuilder app)
    {
        var console = app.MapGroup(Prefix).ExcludeFromDescription();
        console.MapGet("/sign-in", (HttpContext http) => Page(http, "Sign in", SignInForm(null), signedIn: false));
        console.MapPost("/sign-in", SignInAsync).DisableAntiforgery();
        console.MapPost("/sign-out", SignOut).DisableAntiforgery();
        console.MapGet("", OverviewAsync);
    }

    private static async Task<IResult> SignInAsync(HttpContext http, AdminKey adminKey, CancellationToken ct)
    {
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(ct) : null;
        var given = form?["key"].ToString() ?? "";
        if (!KeyMatches(given, adminKey))
        {
            await Task.Delay(WrongKeyDelay, ct);
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page(http, "Sign in", SignInForm("That is not the admin key."), signedIn: false);
        }

        http.Response.Cookies.Append(CookieName, Digest(adminKey.Value), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = Prefix,
        });
        return Results.Redirect(Prefix, permanent: false);
    }

    private static IResult SignOut(HttpContext http)
    {
        // The sign-out form is posted only from our own pages: SameSite=Strict keeps other sites' posts cookie-less.
        http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = Prefix });
        return Results.Redirect(Prefix + "/sign-in", permanent: false);
    }

    private static async Task<IResult> OverviewAsync(HttpContext http, AdminKey adminKey, IIdentityStore identity, CancellationToken ct)
    {
        if (!SignedIn(http, adminKey))
        {
            return Results.Redirect(Prefix + "/sign-in", permanent: false);
        }

        var subscriptions = await identity.ListSubscriptionsAsync(ct);
        var body = new StringBuilder("<h1>Subscriptions</h1>");
        if (subscriptions.Count == 0)
        {
            body.Append("<p>No subscription yet.</p>");
        }
        else
        {
            body.Append("<table><caption>Subscriptions on this server</caption><thead><tr><th scope=\"col\">Munchkin id</th>")
                .Append("<th scope=\"col\">Name</th><th scope=\"col\">Created</th></tr></thead><tbody>");
            foreach (var s in subscriptions)
            {
                body.Append("<tr><td>").Append(Html(s.MunchkinId)).Append("</td><td>").Append(Html(s.Name)).Append("</td><td>")
                    .Append(Html(s.CreatedAt.ToString("yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture))).Append("</td></tr>");
            }

            body.Append("</tbody></table>");
        }

        return Page(http, "Overview", body.ToString(), signedIn: true);
    }

    internal static bool SignedIn(HttpContext http, AdminKey adminKey) =>
        http.Request.Cookies.TryGetValue(CookieName, out var cookie)
        && !string.IsNullOrEmpty(adminKey.Value)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie ?? ""), Encoding.ASCII.GetBytes(Digest(adminKey.Value)));

    private static bool KeyMatches(string given, AdminKey adminKey) =>
        !string.IsNullOrEmpty(adminKey.Value)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(adminKey.Value));

    private static string Digest(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("spillway-console\n" + key)));

    private static string SignInForm(string? error)
    {
        var message = error is null ? "" : $"<p role=\"alert\" class=\"error\">{Html(error)}</p>";
        return "<h1>Sign in</h1>" + message
            + $"<form method=\"post\" action=\"{Prefix}/sign-in\"><label for=\"key\">Admin key</label> "
            + "<input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" required> "
            + "<button type=\"submit\">Sign in</button></form>";
    }

    private static IResult Page(HttpContext http, string title, string body, bool signedIn)
    {
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["X-Frame-Options"] = "DENY";
        http.Response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'";
        var signOut = signedIn
            ? $"<form method=\"post\" action=\"{Prefix}/sign-out\"><button type=\"submit\">Sign out</button></form>"
            : "";
        var html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + $"<title>{Html(title)} · Spillway console</title>"
            + "<style>body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#111}"
            + "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}"
            + ".error{color:#a00000}header{display:flex;justify-content:space-between;align-items:center}</style></head>"
            + $"<body><header><p><strong>Spillway console</strong></p>{signOut}</header><main>{body}</main></body></html>";
        return Results.Content(html, "text/html; charset=utf-8");
    }

    private static string Html(string text) => WebUtility.HtmlEncode(text);
}
