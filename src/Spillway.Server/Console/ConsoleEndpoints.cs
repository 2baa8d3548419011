using Spillway.Server.Admin;

namespace Spillway.Server.Console;

/// <summary>
/// The web console, served by the server itself behind the admin key. The key is typed once into a sign-in form and
/// never travels in a URL; the browser then holds the session cookie (see <see cref="ConsoleSession"/>). Pages are
/// server-rendered HTML; the only script refreshes live regions. Every form calls the code the admin API calls, so the
/// console enforces exactly the API's rules. The pages and their test ids are listed in docs/console.md.
/// </summary>
internal static class ConsoleEndpoints
{
    public const string Prefix = "/_spillway/console";

    /// <summary>A wrong key waits this long before the answer, so guessing the key through the form is slow.</summary>
    private static readonly TimeSpan WrongKeyDelay = TimeSpan.FromSeconds(1);

    public static void MapConsoleEndpoints(this IEndpointRouteBuilder app)
    {
        // The console reads its forms itself, after its own session and anti-forgery checks.
        var open = app.MapGroup(Prefix).ExcludeFromDescription().DisableAntiforgery();
        open.MapGet("/sign-in", (HttpContext http) => ConsoleHtml.Render(http, SignInPage(null)));
        open.MapPost("/sign-in", SignInAsync);
        open.MapGet("/assets/console.css", ConsoleAssets.StyleSheet);
        open.MapGet("/assets/console.js", ConsoleAssets.JavaScript);

        var console = app.MapGroup(Prefix).ExcludeFromDescription().DisableAntiforgery().AddEndpointFilter<ConsoleSessionFilter>();
        console.MapPost("/sign-out", SignOut);
        console.MapGet("", SubscriptionsPage.ShowAsync);
        console.MapPost("/subscriptions", SubscriptionsPage.CreateAsync);

        var subscription = console.MapGroup("/subscriptions/{munchkinId}");
        subscription.MapGet("", OverviewPage.ShowAsync);
        subscription.MapGet("/jobs", JobsPage.ListAsync);
        subscription.MapGet("/jobs/{exportId}", JobsPage.ShowAsync);
        subscription.MapGet("/jobs/{exportId}/file", JobsPage.FileAsync);
        subscription.MapPost("/jobs/{exportId}/{action:regex(^(cancel|start|complete|fail)$)}", JobsPage.MoveAsync);
        subscription.MapGet("/requests", RequestLogPage.ListAsync);
        subscription.MapGet("/requests/{sequence}", RequestLogPage.ShowAsync);
        subscription.MapGet("/controls", ControlsPage.ShowAsync);
        subscription.MapPost("/controls/clock", ControlsPage.ClockAsync);
        subscription.MapPost("/controls/progression", ControlsPage.ProgressionAsync);
        subscription.MapPost("/controls/faults", ControlsPage.AddFaultAsync);
        subscription.MapPost("/controls/faults/{ruleId}/remove", ControlsPage.RemoveFaultAsync);
        subscription.MapPost("/controls/reset", ControlsPage.ResetAsync);
        subscription.MapGet("/data", DataPage.ShowAsync);
        subscription.MapPost("/data/users", DataPage.AddUserAsync);
        subscription.MapPost("/data/users/rotate", DataPage.RotateAsync);
        subscription.MapPost("/data/limits", DataPage.LimitsAsync);
        subscription.MapPost("/data/seed", DataPage.SeedAsync);
        subscription.MapGet("/activities", ActivitiesPage.ShowAsync);
        subscription.MapGet("/leads", LeadsPage.ShowAsync);
        subscription.MapGet("/lists", ListsPage.ShowAsync);
        subscription.MapGet("/lists/{listId}", ListsPage.MembersAsync);
        subscription.MapGet("/programs", ProgramsPage.ShowAsync);
        subscription.MapGet("/programs/{programId}", ProgramsPage.MembersAsync);
    }

    private static async Task<IResult> SignInAsync(HttpContext http, AdminKey adminKey, CancellationToken ct)
    {
        if (!ConsoleSession.SameOrigin(http.Request))
        {
            return ConsoleHtml.Render(http, SignInPage("The sign-in form was posted from another site, so it was refused.") with
            {
                Status = StatusCodes.Status403Forbidden,
            });
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        var given = form?["key"].ToString() ?? "";
        if (!ConsoleSession.KeyMatches(given, adminKey))
        {
            await Task.Delay(WrongKeyDelay, ct);
            return ConsoleHtml.Render(http, SignInPage("That is not the admin key.") with { Status = StatusCodes.Status401Unauthorized });
        }

        http.Response.Cookies.Append(ConsoleSession.CookieName, ConsoleSession.Digest(adminKey.Value), new CookieOptions
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
        http.Response.Cookies.Delete(ConsoleSession.CookieName, new CookieOptions { Path = Prefix });
        return Results.Redirect(Prefix + "/sign-in", permanent: false);
    }

    private static ConsolePage SignInPage(string? error)
    {
        var message = error is null ? "" : $"<p role=\"alert\" class=\"error\" data-testid=\"sign-in-error\">{ConsoleHtml.E(error)}</p>";
        return new ConsolePage("Sign in", message
            + $"<form method=\"post\" action=\"{Prefix}/sign-in\" data-testid=\"sign-in-form\">"
            + "<div class=\"fields\">"
            + ConsoleHtml.Field("sign-in", "key", "Admin key", type: "password", required: true,
                hint: "The server's admin key (Spillway:AdminKey, or admin.key in the data folder).", extra: " autocomplete=\"current-password\"")
            + "<button type=\"submit\">Sign in</button></div></form>");
    }
}
