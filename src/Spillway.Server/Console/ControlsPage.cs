using System.Globalization;
using System.Text;
using Spillway.Server.Controls;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// The test-rig controls of a subscription: its clock (set, advance, reset), job progression, fault rules, and the
/// reset. Each form calls the admin API's own handler, so it takes the same values and refuses the same input.
/// </summary>
internal static class ControlsPage
{
    /// <summary>Where the controls live, as the page says it.</summary>
    public static string Scope(SubscriptionControls controls) => controls.Shared
        ? "The clock, progression and fault rules are kept in the shared database, as the admin API keeps them: set through any node, "
          + "they apply on every node; a fault rule's count is spent across all of them."
        : "The clock, progression and fault rules are kept in this server's memory, as the admin API keeps them; a restart clears them.";

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        CancellationToken ct) =>
        await ConsoleData.FindAsync(identity, munchkinId, ct) is { } s
            ? Render(http, await PageAsync(http, s, controls, null, null, ct))
            : Render(http, NotFound($"No subscription {munchkinId}."));

    public static async Task<IResult> ClockAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        SpillwayClock clock, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        string? error = null;
        DateTimeOffset? now = null;
        var nowText = ConsoleForms.Text(form, "now");
        if (nowText.Length > 0)
        {
            if (DateTimeOffset.TryParse(nowText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            {
                now = parsed;
            }
            else
            {
                error = "now is an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z (without a zone it is UTC).";
            }
        }

        var advance = ConsoleForms.Double(form, "advanceSeconds", ref error);
        var reset = ConsoleForms.Text(form, "reset") == "true";
        if (error is null && now is null && advance is null && !reset)
        {
            error = "Give now, advanceSeconds, or reset the clock.";
        }

        return await OutcomeAsync(http, s, controls, error, async () =>
            (await ControlEndpoints.SetClockAsync(s.MunchkinId, new SubscriptionClockBody(now, advance, reset), identity, controls, clock, ct)).Result,
            result => $"The clock now says {Iso(ConsoleForms.ValueOf<SubscriptionClockView>(result)!.Now)}.");
    }

    public static async Task<IResult> ProgressionAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        JobControls jobs, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        string? error = null;
        var body = new ProgressionBody(ConsoleForms.Text(form, "mode"), ConsoleForms.Double(form, "startLatencySeconds", ref error),
            ConsoleForms.Double(form, "statusRefreshSeconds", ref error));
        return await OutcomeAsync(http, s, controls, error, async () =>
            (await ControlEndpoints.SetProgressionAsync(s.MunchkinId, body, identity, controls, jobs, ct)).Result,
            result => $"Progression is {ConsoleForms.ValueOf<ProgressionSettings>(result)!.Mode}.");
    }

    public static async Task<IResult> AddFaultAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        string? error = null;
        var body = new FaultRuleBody(
            Kind: Optional(form, "kind"),
            Endpoint: Optional(form, "endpoint"),
            ApiUser: Optional(form, "apiUser"),
            Probability: ConsoleForms.Double(form, "probability", ref error),
            Count: ConsoleForms.Int(form, "count", ref error),
            Skip: ConsoleForms.Int(form, "skip", ref error),
            Seed: ConsoleForms.Int(form, "seed", ref error),
            Code: Optional(form, "code"),
            Variant: Optional(form, "variant"),
            Message: Optional(form, "message"),
            Status: ConsoleForms.Int(form, "status", ref error),
            LatencyMs: ConsoleForms.Int(form, "latencyMs", ref error),
            AfterBytes: ConsoleForms.Long(form, "afterBytes", ref error),
            ErrorMsg: Optional(form, "errorMsg"));
        return await OutcomeAsync(http, s, controls, error, async () =>
            (await ControlEndpoints.AddFaultAsync(s.MunchkinId, body, identity, controls, ct)).Result,
            result => $"Fault rule {ConsoleForms.ValueOf<FaultRuleView>(result)!.Id} added.");
    }

    public static async Task<IResult> RemoveFaultAsync(HttpContext http, string munchkinId, string ruleId, IIdentityStore identity,
        SubscriptionControls controls, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        return await OutcomeAsync(http, s, controls, null, async () =>
            (await ControlEndpoints.RemoveFaultAsync(s.MunchkinId, ruleId, identity, controls, ct)).Result,
            _ => $"Fault rule {ruleId} removed.");
    }

    public static async Task<IResult> ResetAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionControls controls,
        JobControls jobs, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        var confirmed = string.Equals(ConsoleForms.Text(form, "confirm"), s.MunchkinId, StringComparison.OrdinalIgnoreCase);
        return await OutcomeAsync(http, s, controls, confirmed ? null : $"Type {s.MunchkinId} to confirm the reset; nothing was removed.",
            async () => (await ControlEndpoints.ResetAsync(s.MunchkinId, jobs, ct)).Result,
            result => ConsoleForms.ValueOf<ResetView>(result) is { } view
                ? $"Reset: {N(view.Jobs)} jobs and {N(view.Activities)} activities removed; clock, progression, fault rules and request log cleared."
                : "Reset.");
    }

    /// <summary>Runs the admin handler unless the form was already refused, and renders the page with its outcome.</summary>
    private static async Task<IResult> OutcomeAsync(HttpContext http, Subscription s, SubscriptionControls controls, string? refused,
        Func<Task<IResult>> run, Func<IResult, string> success)
    {
        if (refused is not null)
        {
            return Render(http, await PageAsync(http, s, controls, null, refused, CancellationToken.None) with { Status = StatusCodes.Status400BadRequest });
        }

        var result = await run();
        var error = ConsoleForms.ProblemOf(result);
        return Render(http, await PageAsync(http, s, controls, error is null ? success(result) : null, error, CancellationToken.None) with
        {
            Status = error is null ? StatusCodes.Status200OK : ConsoleForms.StatusOf(result),
        });
    }

    private static string? Optional(IFormCollection? form, string name) => ConsoleForms.Text(form, name) is { Length: > 0 } text ? text : null;

    private static async Task<ConsolePage> PageAsync(HttpContext http, Subscription s, SubscriptionControls controls, string? flash, string? error,
        CancellationToken ct)
    {
        var rules = await controls.RuleViewsAsync(s.Id, ct);
        var basePath = SubscriptionPath(s.MunchkinId, "/controls");
        var now = controls.NowOf(s.Id);
        var offset = controls.OffsetOf(s.Id);
        var progression = controls.ProgressionOf(s.Id);
        var body = new StringBuilder(Flash(flash, error));
        body.Append("<p class=\"note\" data-testid=\"controls-scope\">").Append(E(Scope(controls))).Append("</p>");

        body.Append("<section aria-labelledby=\"clock-h\"><h2 id=\"clock-h\">Clock</h2><p>The subscription's clock says ")
            .Append(Time(now, "clock-value")).Append(" (").Append(offset == TimeSpan.Zero ? "the server's time" : $"{Inv(offset.TotalSeconds)} s from the server's time")
            .Append(").</p>")
            .Append(PostForm(http, basePath + "/clock", "clock-set-form")).Append("<div class=\"fields\">")
            .Append(Field("clock-set", "now", "Set now to", value: Iso(now), hint: "ISO 8601, UTC unless a zone is given.", required: true))
            .Append("<button type=\"submit\">Set the clock</button></div></form>")
            .Append(PostForm(http, basePath + "/clock", "clock-advance-form")).Append("<div class=\"fields\">")
            .Append(Field("clock-advance", "advanceSeconds", "Advance by (seconds)", type: "number", value: "3600", required: true,
                hint: "Negative goes back; under 100 years.", extra: " step=\"any\""))
            .Append("<button type=\"submit\">Advance</button></div></form>")
            .Append(PostForm(http, basePath + "/clock", "clock-reset-form")).Append("<input type=\"hidden\" name=\"reset\" value=\"true\">")
            .Append("<button type=\"submit\" class=\"secondary\">Back to the server's time</button></form></section>");

        body.Append("<section aria-labelledby=\"progression-h\"><h2 id=\"progression-h\">Job progression</h2><p>Jobs move <strong data-testid=\"progression-mode\" data-mode=\"")
            .Append(progression.Mode).Append("\">").Append(progression.Mode).Append("</strong>")
            .Append(progression.Mode == ProgressionMode.Realistic
                ? $": a start latency of {Inv(progression.StartLatencySeconds)} s, and status refreshed every {Inv(progression.StatusRefreshSeconds)} s."
                : progression.Mode == ProgressionMode.Manual ? ": only when started, completed or failed on the job's page." : ": as soon as a processing slot is free.")
            .Append("</p>")
            .Append(PostForm(http, basePath + "/progression", "progression-form")).Append("<div class=\"fields\">")
            .Append(Select("progression", "mode", "Mode", [("Immediate", "Immediate"), ("Realistic", "Realistic"), ("Manual", "Manual")], progression.Mode.ToString()))
            .Append(Field("progression", "startLatencySeconds", "Start latency (s)", type: "number", extra: " min=\"0\" max=\"86400\" step=\"any\"",
                hint: "Realistic only; 30 when empty."))
            .Append(Field("progression", "statusRefreshSeconds", "Status refresh (s)", type: "number", extra: " min=\"0\" max=\"86400\" step=\"any\"",
                hint: "Realistic only; 60 when empty."))
            .Append("<button type=\"submit\">Set progression</button></div></form></section>");

        body.Append("<section aria-labelledby=\"faults-h\"><h2 id=\"faults-h\">Fault rules</h2>");
        if (rules.Count == 0)
        {
            body.Append("<p data-testid=\"faults-empty\">No fault rule: every call is answered as Marketo would.</p>");
        }
        else
        {
            body.Append(TableStart("Faults table", "faults-table")).Append("<caption>Rules, tried in order on every matching call</caption><thead><tr>")
                .Append("<th scope=\"col\">Rule</th><th scope=\"col\">Kind</th><th scope=\"col\">Endpoint</th><th scope=\"col\">API user</th>")
                .Append("<th scope=\"col\">Fires</th><th scope=\"col\">Answer</th><th scope=\"col\" class=\"num\">Matched</th><th scope=\"col\" class=\"num\">Fired</th>")
                .Append("<th scope=\"col\"><span class=\"note\">Remove</span></th></tr></thead><tbody>");
            foreach (var r in rules)
            {
                var fires = r.Remaining is { } left ? $"next {left} (after skipping {r.Skip})" : $"with probability {Inv(r.Probability)}";
                var answer = r.Code is not null ? $"code {r.Code}{(r.Message is null ? "" : $": {r.Message}")}"
                    : r.Status is { } st ? $"HTTP {st}" : r.LatencyMs is { } ms ? $"+{ms} ms" : r.AfterBytes is { } b ? $"cut after {b} bytes"
                    : r.ErrorMsg is { } m ? $"job fails: {m}" : r.Kind;
                body.Append("<tr data-testid=\"fault-row\" data-rule-id=\"").Append(E(r.Id)).Append("\" data-kind=\"").Append(E(r.Kind)).Append("\"><th scope=\"row\">")
                    .Append(E(r.Id)).Append("</th><td>").Append(E(r.Kind)).Append("</td><td>").Append(E(r.Endpoint ?? "any")).Append("</td><td>")
                    .Append(E(r.ApiUser ?? "any")).Append("</td><td>").Append(E(fires)).Append("</td><td>").Append(E(answer)).Append("</td><td class=\"num\">")
                    .Append(Inv(r.Matched)).Append("</td><td class=\"num\">").Append(Inv(r.Fired)).Append("</td><td>")
                    .Append(PostForm(http, $"{basePath}/faults/{Uri.EscapeDataString(r.Id)}/remove", "fault-remove-form", "inline"))
                    .Append("<button type=\"submit\" class=\"secondary\" aria-label=\"Remove rule ").Append(E(r.Id)).Append("\">Remove</button></form></td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("<h3>Add a rule</h3>").Append(PostForm(http, basePath + "/faults", "fault-add-form")).Append("<div class=\"fields\">")
            .Append(Select("fault", "kind", "Kind", FaultKinds.All.Select(k => (k, k)), "error"))
            .Append(Field("fault", "endpoint", "Endpoint", hint: "create, enqueue, status, file, cancel, list, activities, or a path pattern; any when empty."))
            .Append(Field("fault", "apiUser", "API user", type: "email", hint: "Any when empty."))
            .Append(Field("fault", "count", "Count", type: "number", hint: "Fire on the next N matching calls.", extra: " min=\"1\""))
            .Append(Field("fault", "skip", "Skip", type: "number", hint: "Matching calls to let through first.", extra: " min=\"0\""))
            .Append(Field("fault", "probability", "Probability", type: "number", hint: "0 to 1, when no count is given (default 1).", extra: " min=\"0\" max=\"1\" step=\"any\""))
            .Append(Field("fault", "seed", "Seed", type: "number", hint: "Of the random draws."))
            .Append(Field("fault", "code", "Code", hint: "error: the Marketo code, e.g. 606."))
            .Append(Field("fault", "variant", "Variant", hint: "error: a named variant of the code's message."))
            .Append(Field("fault", "message", "Message", hint: "error: the message, instead of Marketo's."))
            .Append(Field("fault", "status", "HTTP status", type: "number", hint: "http: e.g. 503."))
            .Append(Field("fault", "latencyMs", "Latency (ms)", type: "number", hint: "latency."))
            .Append(Field("fault", "afterBytes", "After bytes", type: "number", hint: "cut: bytes sent before the cut."))
            .Append(Field("fault", "errorMsg", "errorMsg", hint: "failJob: what the failed job says."))
            .Append("<button type=\"submit\">Add the rule</button></div></form></section>");

        body.Append("<section aria-labelledby=\"reset-h\"><h2 id=\"reset-h\">Reset</h2><p>Removes every job and activity of ").Append(E(s.MunchkinId))
            .Append(" and clears its clock, progression, fault rules, request log and call counters. API users and limits stay.</p>")
            .Append(PostForm(http, basePath + "/reset", "reset-form")).Append("<div class=\"fields\">")
            .Append(Field("reset", "confirm", $"Type {s.MunchkinId} to confirm", required: true, extra: " autocomplete=\"off\""))
            .Append("<button type=\"submit\" class=\"danger\">Reset the subscription</button></div></form></section>");
        return new ConsolePage($"Controls of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "controls" };
    }
}
