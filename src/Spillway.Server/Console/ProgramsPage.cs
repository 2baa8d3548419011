using System.Globalization;
using System.Text;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// The programs the activities name (the same fixed marketing world in every subscription), and a program's members in
/// this subscription with their progression status, a hundred at a time.
/// </summary>
internal static class ProgramsPage
{
    private const int PageSize = 100;

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var body = new StringBuilder("<p>The programs, their channels and smart campaigns are the same in every subscription; the members are this subscription's.</p>");
        body.Append(TableStart("Programs table", "programs-table"))
            .Append("<caption>").Append(N(MarketingWorld.Programs.Count)).Append(" programs</caption><thead><tr><th scope=\"col\">id</th><th scope=\"col\">name</th>")
            .Append("<th scope=\"col\">type</th><th scope=\"col\">channel</th><th scope=\"col\">status</th><th scope=\"col\">smart campaigns</th></tr></thead><tbody>");
        foreach (var program in MarketingWorld.Programs)
        {
            var campaigns = MarketingWorld.Campaigns.Count(c => c.Program.Id == program.Id);
            body.Append("<tr data-testid=\"program-row\" data-program-id=\"").Append(Inv(program.Id)).Append("\"><th scope=\"row\"><a href=\"")
                .Append(E(SubscriptionPath(s.MunchkinId, $"/programs/{Inv(program.Id)}")))
                .Append("\">").Append(Inv(program.Id)).Append("</a></th><td>").Append(E(program.Name)).Append("</td><td>").Append(E(program.Type))
                .Append("</td><td>").Append(E(program.Channel.Name)).Append("</td><td>").Append(E(program.Status)).Append("</td><td>").Append(Inv(campaigns))
                .Append("</td></tr>");
        }

        body.Append("</tbody></table></div>");
        return Render(http, new ConsolePage($"Programs of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "programs" });
    }

    /// <summary>One program: its channel's statuses, and its members after a lead id, optionally of one status.</summary>
    public static async Task<IResult> MembersAsync(HttpContext http, string munchkinId, string programId, IIdentityStore identity,
        IProgramMemberStore members, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        if (!long.TryParse(programId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || MarketingWorld.ProgramById(id) is not { } program)
        {
            return Render(http, NotFound($"No program {programId}."));
        }

        string? error = null;
        var after = ConsoleForms.AfterLeadId(http, ref error);

        var status = ConsoleForms.Query(http, "status");
        if (status.Length > 0 && program.Channel.Statuses.All(p => p.Name != status))
        {
            error ??= $"status must be one of the {program.Channel.Name} channel's: {string.Join(", ", program.Channel.Statuses.Select(p => p.Name))}.";
            status = "";
        }

        var page = error is null
            ? await members.ReadAsync(new ProgramMemberQuery(s.Id, [id], PageSize) { AfterProgramId = id, AfterLeadId = after, StatusNames = status.Length == 0 ? null : [status] }, ct)
            : [];
        var body = new StringBuilder(Flash(null, error));
        body.Append("<p>").Append(E(program.Name)).Append(", a ").Append(E(program.Type)).Append(" program of the ").Append(E(program.Channel.Name))
            .Append(" channel.</p><form method=\"get\" data-testid=\"program-filter-form\" action=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/programs/{Inv(id)}")))
            .Append("\"><div class=\"fields\">")
            .Append(Select("program", "status", "Status", [("", "Any status"), .. program.Channel.Statuses.Select(p => (p.Name, $"{p.Step}. {p.Name}{(p.Success ? " (success)" : "")}"))], status))
            .Append("<button type=\"submit\">Show</button></div></form>");
        if (page.Count == 0)
        {
            body.Append("<p data-testid=\"program-members-empty\">No member").Append(status.Length == 0 ? "" : $" with status {E(status)}")
                .Append(" with a lead id above ").Append(Inv(after)).Append(".</p>");
        }
        else
        {
            body.Append(TableStart("Program members table", "program-members-table"))
                .Append("<caption>Members after lead id ").Append(Inv(after)).Append("</caption><thead><tr><th scope=\"col\">lead id</th><th scope=\"col\">status</th>")
                .Append("<th scope=\"col\">success</th><th scope=\"col\">membershipDate</th><th scope=\"col\">updatedAt</th></tr></thead><tbody>");
            foreach (var member in page)
            {
                body.Append("<tr data-testid=\"program-member-row\" data-lead-id=\"").Append(Inv(member.LeadId)).Append("\" data-status=\"").Append(E(member.StatusName))
                    .Append("\"><th scope=\"row\">").Append(Inv(member.LeadId)).Append("</th><td>").Append(E(member.StatusName)).Append("</td><td>")
                    .Append(member.ReachedSuccess ? "yes" : "no").Append("</td><td>").Append(Time(member.MembershipDate)).Append("</td><td>")
                    .Append(Time(member.UpdatedAt)).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
            if (page.Count == PageSize)
            {
                var next = $"/programs/{Inv(id)}?after={Inv(page[^1].LeadId)}" + (status.Length == 0 ? "" : "&status=" + Uri.EscapeDataString(status));
                body.Append("<p><a data-testid=\"program-members-next\" href=\"").Append(E(SubscriptionPath(s.MunchkinId, next))).Append("\">Next ")
                    .Append(PageSize).Append("</a></p>");
            }
        }

        body.Append("<p><a href=\"").Append(E(SubscriptionPath(s.MunchkinId, "/programs"))).Append("\">All programs</a></p>");
        return Render(http, new ConsolePage($"Program {Inv(id)} of {s.MunchkinId}", body.ToString())
        {
            MunchkinId = s.MunchkinId,
            Section = "programs",
            Status = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
        });
    }
}
