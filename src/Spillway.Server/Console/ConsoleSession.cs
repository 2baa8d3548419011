using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using Spillway.Server.Admin;

namespace Spillway.Server.Console;

/// <summary>
/// The console's session and its anti-forgery rules. The session is an HttpOnly, SameSite=Strict cookie holding a
/// digest of the admin key (not the key), so a cookie seen in a log cannot open the admin API, and changing the key
/// ends every session. Every changing form carries a token derived from the key and the cookie; a post without it, or
/// from another origin, is refused. Both are derived, not stored, so every node of a cluster accepts them alike.
/// </summary>
internal static class ConsoleSession
{
    public const string CookieName = "spillway-console";
    public const string CsrfField = "_csrf";

    public static bool SignedIn(HttpContext http)
    {
        var key = ConsoleHtml.AdminKeyOf(http);
        return http.Request.Cookies.TryGetValue(CookieName, out var cookie)
            && !string.IsNullOrEmpty(key.Value)
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie ?? ""), Encoding.ASCII.GetBytes(Digest(key.Value)));
    }

    public static bool KeyMatches(string given, AdminKey adminKey) =>
        !string.IsNullOrEmpty(adminKey.Value)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(adminKey.Value));

    public static string Digest(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("spillway-console\n" + key)));

    /// <summary>The anti-forgery token of this session: an HMAC of the session cookie under the admin key.</summary>
    public static string CsrfToken(HttpContext http)
    {
        var key = ConsoleHtml.AdminKeyOf(http).Value;
        var cookie = http.Request.Cookies[CookieName] ?? "";
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes("spillway-console-csrf\n" + cookie)));
    }

    /// <summary>Whether a posted form carries this session's token.</summary>
    public static bool TokenMatches(HttpContext http, StringValues given) =>
        given.Count == 1 && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given.ToString()), Encoding.ASCII.GetBytes(CsrfToken(http)));

    /// <summary>
    /// Whether a post comes from this server's own pages, as far as the browser says: an Origin header (sent with every
    /// form post by current browsers) must be this server's, and Sec-Fetch-Site must not say cross-site.
    /// </summary>
    public static bool SameOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && !site.Equals("same-origin", StringComparison.OrdinalIgnoreCase) && !site.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && uri.Scheme.Equals(request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>
/// Closes every console page but sign-in and the assets: without the session a page sends the browser to sign in, and a
/// post is refused. A post must also come from this origin and carry the session's anti-forgery token.
/// </summary>
internal sealed class ConsoleSessionFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var reading = HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);
        if (!ConsoleSession.SignedIn(http))
        {
            return reading
                ? Results.Redirect(ConsoleEndpoints.Prefix + "/sign-in", permanent: false)
                : Refused(http, "Sign in first: this console form needs a signed-in session.");
        }

        if (!reading)
        {
            if (!ConsoleSession.SameOrigin(http.Request))
            {
                return Refused(http, "The form was posted from another site, so it was refused.");
            }

            var form = await ConsoleForms.ReadAsync(http, http.RequestAborted);
            if (form is null || !ConsoleSession.TokenMatches(http, form[ConsoleSession.CsrfField]))
            {
                return Refused(http, "The form was refused: it did not carry this console's form token. Reload the page and try again.");
            }
        }

        return await next(context);
    }

    private static IResult Refused(HttpContext http, string message) =>
        ConsoleHtml.Render(http, new ConsolePage("Refused", ConsoleHtml.Flash(null, message)
            + $"<p><a href=\"{ConsoleEndpoints.Prefix}\">Back to the console</a></p>")
        { Status = StatusCodes.Status403Forbidden });
}
