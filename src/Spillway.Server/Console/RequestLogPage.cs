using System.Globalization;
using System.Text;
using Spillway.Server.Controls;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// A subscription's API calls as they arrive: method, path, API user, Marketo code, duration and the fault rule that
/// answered, filterable by code and user, and one call in full. Live. The log is the one the admin API serves: on
/// PostgreSQL the shared one, so every node of a cluster shows the calls of all of them.
/// </summary>
internal static class RequestLogPage
{
    private const int MaxRows = 200;

    /// <summary>Where the log lives, as the page says it.</summary>
    public static string Scope(SubscriptionControls controls) => controls.Shared
        ? "The request log is kept in the shared database (the last 1,000 calls per subscription): it shows the calls every node "
          + "answered, each node's within a quarter second."
        : "The request log is kept in this server's memory (the last 1,000 calls per subscription); a restart clears it.";

    public static async Task<IResult> ListAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var code = ConsoleForms.Query(http, "code");
        var apiUser = ConsoleForms.Query(http, "apiUser");
        var logged = await controls.RequestsOfAsync(s.Id, 0, SubscriptionControls.RequestLogCapacity, ct);
        var entries = logged.Reverse().Where(e =>
            (code.Length == 0 || (code.Equals("success", StringComparison.OrdinalIgnoreCase) ? e.Code is null && e.HttpStatus < 400
                : string.Equals(e.Code, code, StringComparison.OrdinalIgnoreCase) || e.HttpStatus.ToString(CultureInfo.InvariantCulture) == code))
            && (apiUser.Length == 0 || string.Equals(e.ApiUser, apiUser, StringComparison.OrdinalIgnoreCase))).ToList();

        var body = new StringBuilder();
        body.Append("<p class=\"note\" data-testid=\"request-log-scope\">").Append(E(Scope(controls))).Append("</p>")
            .Append("<form method=\"get\" data-testid=\"requests-filter-form\" action=\"").Append(E(SubscriptionPath(s.MunchkinId, "/requests")))
            .Append("\"><div class=\"fields\">")
            .Append(Field("requests", "code", "Code", value: code, hint: "A Marketo code (606), an HTTP status (503), or success."))
            .Append(Field("requests", "apiUser", "API user", type: "email", value: apiUser))
            .Append("<button type=\"submit\">Filter</button></div></form>");

        var self = SubscriptionPath(s.MunchkinId, "/requests") + http.Request.QueryString.Value;
        body.Append("<div id=\"requests-live\" data-live=\"").Append(E(self)).Append("\">");
        if (entries.Count == 0)
        {
            body.Append("<p data-testid=\"requests-empty\">No call matches.</p>");
        }
        else
        {
            body.Append(TableStart("Requests table", "requests-table")).Append("<caption>")
                .Append(entries.Count > MaxRows ? $"The newest {MaxRows} of {N(entries.Count)} calls" : $"{N(entries.Count)} calls, newest first")
                .Append("</caption><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time</th><th scope=\"col\">Method</th><th scope=\"col\">Path</th>")
                .Append("<th scope=\"col\">API user</th><th scope=\"col\">Code</th><th scope=\"col\" class=\"num\">Duration</th><th scope=\"col\">Fault</th>")
                .Append("</tr></thead><tbody>");
            foreach (var e in entries.Take(MaxRows))
            {
                body.Append("<tr data-testid=\"request-row\" data-sequence=\"").Append(Inv(e.Sequence)).Append("\" data-code=\"").Append(E(e.Code))
                    .Append("\" data-http-status=\"").Append(Inv(e.HttpStatus)).Append("\" data-fault=\"").Append(E(e.Fault)).Append("\"><th scope=\"row\"><a href=\"")
                    .Append(E(SubscriptionPath(s.MunchkinId, "/requests/" + Inv(e.Sequence)))).Append("\">").Append(Inv(e.Sequence)).Append("</a></th><td>")
                    .Append(Time(e.Time)).Append("</td><td>").Append(E(e.Method)).Append("</td><td><code>").Append(E(Clip(e.Path, 120))).Append("</code></td><td>")
                    .Append(E(e.ApiUser ?? "—")).Append("</td><td>").Append(CodeText(e)).Append("</td><td class=\"num\">").Append(Inv(e.DurationMs))
                    .Append(" ms</td><td>").Append(E(e.Fault ?? "—")).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("</div>");
        return Render(http, new ConsolePage($"Request log of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "requests" });
    }

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, string sequence, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var entry = long.TryParse(sequence, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? (await controls.RequestsOfAsync(s.Id, number - 1, SubscriptionControls.RequestLogCapacity, ct)).FirstOrDefault(e => e.Sequence == number)
            : null;
        if (entry is null)
        {
            return Render(http, NotFound($"No call {sequence} in the request log of {munchkinId}."));
        }

        var body = new StringBuilder();
        body.Append("<p class=\"note\" data-testid=\"request-log-scope\">").Append(E(Scope(controls))).Append("</p>")
            .Append("<dl class=\"facts\" data-testid=\"request-detail\">")
            .Append("<dt>Time</dt><dd>").Append(Time(entry.Time)).Append("</dd>")
            .Append("<dt>Method</dt><dd>").Append(E(entry.Method)).Append("</dd>")
            .Append("<dt>Path</dt><dd><code>").Append(E(entry.Path)).Append("</code></dd>")
            .Append("<dt>API user</dt><dd>").Append(E(entry.ApiUser ?? "—")).Append("</dd>")
            .Append("<dt>HTTP status</dt><dd>").Append(Inv(entry.HttpStatus)).Append("</dd>")
            .Append("<dt>Marketo code</dt><dd data-testid=\"request-code\">").Append(E(entry.Code ?? "none (success)")).Append("</dd>")
            .Append("<dt>requestId</dt><dd><code>").Append(E(entry.RequestId)).Append("</code></dd>")
            .Append("<dt>Duration</dt><dd>").Append(Inv(entry.DurationMs)).Append(" ms</dd>")
            .Append("<dt>Fault rule</dt><dd>").Append(E(entry.Fault ?? "none")).Append("</dd></dl>")
            .Append("<h2>Request body</h2><pre data-testid=\"request-body\" tabindex=\"0\">").Append(E(entry.RequestBody ?? "(none)")).Append("</pre>")
            .Append("<h2>Response body</h2><pre data-testid=\"response-body\" tabindex=\"0\">").Append(E(entry.ResponseBody ?? "(none)")).Append("</pre>");
        return Render(http, new ConsolePage($"Request {Inv(entry.Sequence)}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "requests" });
    }

    private static string CodeText(RequestLogEntry e) =>
        e.Code is { } code ? E(code) : e.HttpStatus >= 400 ? $"HTTP {Inv(e.HttpStatus)}" : "success";
}
