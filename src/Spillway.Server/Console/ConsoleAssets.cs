using System.Security.Cryptography;
using System.Text;

namespace Spillway.Server.Console;

/// <summary>
/// The console's only two assets, compiled into the server so the console needs no internet and no build step: the
/// style sheet, and a small script that refreshes a page's live regions by polling the page itself.
/// </summary>
internal static class ConsoleAssets
{
    /// <summary>How often a page's live regions are refreshed.</summary>
    public const int LiveIntervalMilliseconds = 2000;

    public const string Css = """
        :root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--accent:#0b57d0;--bg:#fff;--soft:#f3f5f8;--bad:#a50e0e;--good:#116329}
        *{box-sizing:border-box}
        body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
        a{color:var(--accent)}
        a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,[tabindex]:focus-visible{outline:3px solid #f29900;outline-offset:2px}
        .skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem;z-index:10}
        .skip:focus{left:.5rem}
        header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.5rem 1rem;border-bottom:1px solid var(--line);background:var(--soft)}
        header .brand{margin:0;font-weight:700}
        header .brand a{color:var(--fg);text-decoration:none}
        nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem .9rem;margin:0;padding:0}
        nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
        main{max-width:80rem;margin:0 auto;padding:1rem}
        main:focus{outline:none}
        h1{font-size:1.6rem;margin:.25rem 0 1rem;overflow-wrap:anywhere}
        h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
        section{margin-bottom:1.5rem}
        .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem}
        .card{border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem}
        .card h2{margin-top:0;font-size:1.05rem}
        .big{font-size:1.5rem;font-weight:700}
        meter{width:100%;height:1.25rem}
        .table-wrap{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;width:100%}
        caption{text-align:left;font-weight:600;padding:.25rem 0}
        th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
        th{background:var(--soft)}
        td.num,th.num{text-align:right}
        code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
        pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.5rem;border-radius:4px;max-height:30rem;overflow:auto}
        form{margin:.5rem 0}
        form.inline{display:inline-block;margin:0 .25rem 0 0}
        .fields{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
        .field{display:flex;flex-direction:column;gap:.15rem;min-width:10rem}
        .field small{color:var(--muted)}
        input,select,textarea{font:inherit;padding:.35rem .45rem;border:1px solid #767676;border-radius:4px;max-width:100%}
        button{font:inherit;padding:.4rem .9rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer}
        button.secondary{background:#fff;color:var(--accent)}
        button.danger{background:var(--bad);border-color:var(--bad)}
        .flash{border-left:4px solid var(--good);background:#e6f4ea;padding:.5rem .75rem}
        .error{border-left:4px solid var(--bad);background:#fce8e6;padding:.5rem .75rem;color:var(--bad)}
        .note{color:var(--muted)}
        .secret{font-family:ui-monospace,monospace;background:#fff8e1;border:1px solid #f2c744;padding:.5rem;overflow-wrap:anywhere}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
        dl.facts dt{font-weight:600}
        dl.facts dd{margin:0;overflow-wrap:anywhere}
        @media (max-width:40rem){main{padding:.6rem}h1{font-size:1.3rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}.field{min-width:100%}}
        """;

    public const string Script = """
        // Refreshes the page's live regions (elements with data-live="<url of this page>") by polling that URL and
        // swapping in the regions of the same id. Polling, not a push channel: any node of a cluster answers any poll
        // from the shared database, and nothing long-lived is held per node.
        (function () {
          'use strict';
          var busy = false;
          function refresh() {
            if (busy || document.hidden) { return; }
            var regions = document.querySelectorAll('[data-live]');
            if (regions.length === 0) { return; }
            var url = regions[0].getAttribute('data-live');
            busy = true;
            fetch(url, { credentials: 'same-origin', cache: 'no-store', redirect: 'manual', headers: { 'X-Spillway-Live': '1' } })
              .then(function (response) { return response.status === 200 ? response.text() : null; })
              .then(function (text) {
                if (text === null) { return; }
                var fresh = new DOMParser().parseFromString(text, 'text/html');
                regions.forEach(function (region) {
                  var next = fresh.getElementById(region.id);
                  // A region holding the keyboard focus waits for the next round, so the focus is never lost.
                  if (next && next.innerHTML !== region.innerHTML && !region.contains(document.activeElement)) {
                    region.innerHTML = next.innerHTML;
                  }
                });
                document.documentElement.setAttribute('data-live-updated', new Date().toISOString());
              })
              .catch(function () { })
              .then(function () { busy = false; });
          }
          setInterval(refresh, LIVE_INTERVAL);
          document.addEventListener('visibilitychange', refresh);
        })();
        """;

    private static readonly string ScriptText = Script.Replace("LIVE_INTERVAL", LiveIntervalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static readonly string CssTag = Tag(Css);
    private static readonly string ScriptTag = Tag(ScriptText);

    public static IResult StyleSheet(HttpContext http) => Serve(http, Css, "text/css; charset=utf-8", CssTag);

    public static IResult JavaScript(HttpContext http) => Serve(http, ScriptText, "text/javascript; charset=utf-8", ScriptTag);

    private static IResult Serve(HttpContext http, string text, string contentType, string etag)
    {
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.ETag = etag;
        if (http.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Content(text, contentType, Encoding.UTF8);
    }

    private static string Tag(string text) => $"\"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16]}\"";
}
