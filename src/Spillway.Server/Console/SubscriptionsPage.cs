using System.Text;
using Spillway.Server.Admin;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>The console's start page: every subscription on the server, and the form that creates one.</summary>
internal static class SubscriptionsPage
{
    public static async Task<IResult> ShowAsync(HttpContext http, IIdentityStore identity, CancellationToken ct) =>
        Render(http, await PageAsync(http, identity, null, null, ct));

    public static async Task<IResult> CreateAsync(HttpContext http, SubscriptionAdmin admin, SubscriptionDirectory directory, IIdentityStore identity,
        CancellationToken ct)
    {
        var form = await ConsoleForms.ReadAsync(http, ct);
        var body = new CreateSubscriptionBody(ConsoleForms.Text(form, "munchkinId"), ConsoleForms.Text(form, "name"));
        var result = (IResult)(await AdminEndpoints.CreateSubscriptionAsync(body, admin, directory, ct)).Result;
        var error = ConsoleForms.ProblemOf(result);
        var created = ConsoleForms.ValueOf<SubscriptionView>(result);
        var page = await PageAsync(http, identity, created is null ? null : $"Subscription {created.MunchkinId} created.", error, ct);
        return Render(http, page with { Status = error is null ? StatusCodes.Status200OK : ConsoleForms.StatusOf(result) });
    }

    private static async Task<ConsolePage> PageAsync(HttpContext http, IIdentityStore identity, string? flash, string? error, CancellationToken ct)
    {
        var subscriptions = await identity.ListSubscriptionsAsync(ct);
        var body = new StringBuilder(Flash(flash, error));
        body.Append("<section aria-labelledby=\"subs-h\"><h2 id=\"subs-h\">On this server</h2>");
        if (subscriptions.Count == 0)
        {
            body.Append("<p data-testid=\"subscriptions-empty\">No subscription yet.</p>");
        }
        else
        {
            body.Append(TableStart("Subscriptions table", "subscriptions-table")).Append("<caption>Subscriptions on this server</caption><thead><tr>")
                .Append("<th scope=\"col\">Munchkin id</th><th scope=\"col\">Name</th><th scope=\"col\">Created</th></tr></thead><tbody>");
            foreach (var s in subscriptions)
            {
                body.Append("<tr data-testid=\"subscription-row\" data-munchkin-id=\"").Append(E(s.MunchkinId)).Append("\"><th scope=\"row\"><a href=\"")
                    .Append(E(SubscriptionPath(s.MunchkinId))).Append("\">").Append(E(s.MunchkinId)).Append("</a></th><td>").Append(E(s.Name))
                    .Append("</td><td>").Append(Time(s.CreatedAt)).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("</section><section aria-labelledby=\"create-h\"><h2 id=\"create-h\">Create a subscription</h2>")
            .Append(PostForm(http, ConsoleEndpoints.Prefix + "/subscriptions", "create-subscription-form"))
            .Append("<div class=\"fields\">")
            .Append(Field("create", "munchkinId", "Munchkin id", required: true, hint: "Like 123-ABC-456."))
            .Append(Field("create", "name", "Name", hint: "Optional; the munchkin id when empty."))
            .Append("<button type=\"submit\">Create</button></div></form></section>");
        return new ConsolePage("Subscriptions", body.ToString());
    }
}
