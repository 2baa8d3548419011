using System.Globalization;
using System.Text;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>A browser of a subscription's leads by id, a hundred ids at a time.</summary>
internal static class LeadsPage
{
    private const int PageSize = 100;

    private static readonly string[] Columns = ["email", "firstName", "lastName", "company"];

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, ILeadStore leads, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var fromText = ConsoleForms.Query(http, "from");
        string? error = null;
        long from = 1;
        if (fromText.Length > 0 && (!long.TryParse(fromText, NumberStyles.None, CultureInfo.InvariantCulture, out from) || from < 1 || from > long.MaxValue - PageSize))
        {
            error = "from is a lead id, a whole number from 1.";
            from = 1;
        }

        var total = await leads.CountAsync(s.Id, ct);
        var page = error is null ? await leads.GetByIdsAsync(s.Id, [.. Enumerable.Range(0, PageSize).Select(i => from + i)], ct) : [];
        var body = new StringBuilder(Flash(null, error));
        body.Append("<p>").Append(E(s.MunchkinId)).Append(" holds <strong data-testid=\"leads-total\" data-count=\"").Append(Inv(total)).Append("\">")
            .Append(N(total)).Append("</strong> leads.</p>")
            .Append("<form method=\"get\" data-testid=\"leads-filter-form\" action=\"").Append(E(SubscriptionPath(s.MunchkinId, "/leads")))
            .Append("\"><div class=\"fields\">").Append(Field("leads", "from", "From lead id", type: "number", value: Inv(from), extra: " min=\"1\""))
            .Append("<button type=\"submit\">Show</button></div></form>");
        if (page.Count == 0)
        {
            body.Append("<p data-testid=\"leads-empty\">No lead with an id from ").Append(Inv(from)).Append(" to ").Append(Inv(from + PageSize - 1)).Append(".</p>");
        }
        else
        {
            body.Append(TableStart("Leads table", "leads-table")).Append("<caption>Leads with ids ").Append(Inv(from)).Append(" to ")
                .Append(Inv(from + PageSize - 1)).Append("</caption><thead><tr><th scope=\"col\">id</th>");
            foreach (var column in Columns)
            {
                body.Append("<th scope=\"col\">").Append(column).Append("</th>");
            }

            body.Append("<th scope=\"col\">createdAt</th><th scope=\"col\">updatedAt</th></tr></thead><tbody>");
            foreach (var lead in page)
            {
                body.Append("<tr data-testid=\"lead-row\" data-lead-id=\"").Append(Inv(lead.Id)).Append("\"><th scope=\"row\">").Append(Inv(lead.Id)).Append("</th>");
                foreach (var column in Columns)
                {
                    body.Append("<td>").Append(E(Convert.ToString(lead.Get(column), CultureInfo.InvariantCulture) ?? "")).Append("</td>");
                }

                body.Append("<td>").Append(Time(lead.CreatedAt)).Append("</td><td>").Append(Time(lead.UpdatedAt)).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("<p>");
        if (from > 1)
        {
            body.Append("<a href=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/leads?from={Inv(Math.Max(1, from - PageSize))}"))).Append("\">Previous ")
                .Append(PageSize).Append("</a> ");
        }

        body.Append("<a data-testid=\"leads-next\" href=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/leads?from={Inv(from + PageSize)}")))
            .Append("\">Next ").Append(PageSize).Append("</a></p>");
        return Render(http, new ConsolePage($"Leads of {s.MunchkinId}", body.ToString())
        {
            MunchkinId = s.MunchkinId,
            Section = "leads",
            Status = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
        });
    }
}
