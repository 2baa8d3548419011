using System.Globalization;
using System.Text;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>A browser of a subscription's static lists (with their members) and smart lists (with their rules).</summary>
internal static class ListsPage
{
    private const int PageSize = 100;

    /// <summary>Member counts stop here, so the page stays quick on a list of millions ("1,000,000+").</summary>
    private const long CountCap = 1_000_000;

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, IListStore lists, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var statics = await lists.GetListsAsync(s.Id, ct);
        var smart = await lists.GetSmartListsAsync(s.Id, ct);
        var body = new StringBuilder();
        body.Append("<h2>Static lists</h2>");
        if (statics.Count == 0)
        {
            body.Append("<p data-testid=\"lists-empty\">No static list. Seeding leads creates the lists the activities name.</p>");
        }
        else
        {
            body.Append(TableStart("Static lists table", "lists-table"))
                .Append("<caption>").Append(N(statics.Count)).Append(" static lists</caption><thead><tr><th scope=\"col\">id</th><th scope=\"col\">name</th>")
                .Append("<th scope=\"col\">program</th><th scope=\"col\">members</th><th scope=\"col\">updatedAt</th></tr></thead><tbody>");
            foreach (var list in statics)
            {
                var members = await lists.CountMembersAsync(s.Id, list.Id, CountCap, ct);
                body.Append("<tr data-testid=\"list-row\" data-list-id=\"").Append(Inv(list.Id)).Append("\" data-members=\"").Append(Inv(members)).Append("\">")
                    .Append("<th scope=\"row\"><a href=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/lists/{Inv(list.Id)}"))).Append("\">")
                    .Append(Inv(list.Id)).Append("</a></th><td>").Append(E(list.Name)).Append("</td><td>").Append(E(list.ProgramName ?? "—"))
                    .Append("</td><td>").Append(N(members)).Append(members >= CountCap ? "+" : "").Append("</td><td>").Append(Time(list.UpdatedAt))
                    .Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("<h2>Smart lists</h2>");
        if (smart.Count == 0)
        {
            body.Append("<p data-testid=\"smart-lists-empty\">No smart list.</p>");
        }
        else
        {
            body.Append(TableStart("Smart lists table", "smart-lists-table"))
                .Append("<caption>").Append(N(smart.Count)).Append(" smart lists (members are the leads that match the rule when read)</caption>")
                .Append("<thead><tr><th scope=\"col\">id</th><th scope=\"col\">name</th><th scope=\"col\">rule</th></tr></thead><tbody>");
            foreach (var list in smart)
            {
                body.Append("<tr data-testid=\"smart-list-row\" data-list-id=\"").Append(Inv(list.Id)).Append("\"><th scope=\"row\">").Append(Inv(list.Id))
                    .Append("</th><td>").Append(E(list.Name)).Append("</td><td>").Append(E(list.Rule.ToString())).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        return Render(http, new ConsolePage($"Lists of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "lists" });
    }

    /// <summary>One static list: its members' leads, a hundred at a time, after a lead id.</summary>
    public static async Task<IResult> MembersAsync(HttpContext http, string munchkinId, string listId, IIdentityStore identity, IListStore lists,
        ILeadStore leads, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        if (!long.TryParse(listId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || await lists.FindListAsync(s.Id, id, ct) is not { } list)
        {
            return Render(http, NotFound($"No static list {listId} in {s.MunchkinId}."));
        }

        string? error = null;
        var after = ConsoleForms.AfterLeadId(http, ref error);

        var total = await lists.CountMembersAsync(s.Id, id, CountCap, ct);
        var ids = error is null ? await lists.GetMembersAsync(s.Id, id, after, PageSize, ct) : [];
        var page = ids.Count == 0 ? [] : await leads.GetByIdsAsync(s.Id, ids, ct);
        var body = new StringBuilder(Flash(null, error));
        body.Append("<p>").Append(E(list.Name)).Append(list.ProgramName is null ? "" : $" (program {E(list.ProgramName)})").Append(" has <strong data-testid=\"list-members\" data-count=\"")
            .Append(Inv(total)).Append("\">").Append(N(total)).Append(total >= CountCap ? "+" : "").Append("</strong> members.</p>");
        if (page.Count == 0)
        {
            body.Append("<p data-testid=\"members-empty\">No member with a lead id above ").Append(Inv(after)).Append(".</p>");
        }
        else
        {
            body.Append(TableStart("Members table", "members-table"))
                .Append("<caption>Members after lead id ").Append(Inv(after)).Append("</caption><thead><tr><th scope=\"col\">lead id</th><th scope=\"col\">email</th>")
                .Append("<th scope=\"col\">firstName</th><th scope=\"col\">lastName</th></tr></thead><tbody>");
            foreach (var lead in page)
            {
                body.Append("<tr data-testid=\"member-row\" data-lead-id=\"").Append(Inv(lead.Id)).Append("\"><th scope=\"row\">").Append(Inv(lead.Id)).Append("</th>");
                foreach (var column in (string[])["email", "firstName", "lastName"])
                {
                    body.Append("<td>").Append(E(Convert.ToString(lead.Get(column), CultureInfo.InvariantCulture) ?? "")).Append("</td>");
                }

                body.Append("</tr>");
            }

            body.Append("</tbody></table></div>");
            if (ids.Count == PageSize)
            {
                body.Append("<p><a data-testid=\"members-next\" href=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/lists/{Inv(id)}?after={Inv(ids[^1])}")))
                    .Append("\">Next ").Append(PageSize).Append("</a></p>");
            }
        }

        body.Append("<p><a href=\"").Append(E(SubscriptionPath(s.MunchkinId, "/lists"))).Append("\">All lists</a></p>");
        return Render(http, new ConsolePage($"List {Inv(id)} of {s.MunchkinId}", body.ToString())
        {
            MunchkinId = s.MunchkinId,
            Section = "lists",
            Status = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
        });
    }
}
