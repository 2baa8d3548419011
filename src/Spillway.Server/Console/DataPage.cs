using System.Text;
using Spillway.Server.Admin;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// A subscription's data: its API users and their credentials (add a user, rotate a secret; a secret is shown once),
/// its limits with their overrides, and the seed action. Each form calls the admin API's own handler.
/// </summary>
internal static class DataPage
{
    /// <summary>The overrides in the admin API's names, with how each is read from the form.</summary>
    private static readonly (string Name, string Label, Func<EffectiveLimits, string> Effective, Func<SubscriptionLimitOverrides, string?> Override)[] Limits =
    [
        ("maxProcessingJobs", "Jobs processing at once", l => Inv(l.MaxProcessingJobs), o => Text(o.MaxProcessingJobs)),
        ("maxQueuedJobs", "Jobs queued at once", l => Inv(l.MaxQueuedJobs), o => Text(o.MaxQueuedJobs)),
        ("dailyExportQuotaMegabytes", "Daily export quota (MB)", l => Inv(l.DailyExportQuotaMegabytes), o => Text(o.DailyExportQuotaMegabytes)),
        ("fileRetentionDays", "File retention (days)", l => Inv(l.FileRetentionDays), o => Text(o.FileRetentionDays)),
        ("jobRetentionDays", "Job retention (days)", l => Inv(l.JobRetentionDays), o => Text(o.JobRetentionDays)),
        ("listWindowDays", "Job list window (days)", l => Inv(l.ListWindowDays), o => Text(o.ListWindowDays)),
        ("maxWindowDays", "Longest extract window (days)", l => Inv(l.MaxWindowDays), o => Text(o.MaxWindowDays)),
        ("rateLimitCalls", "Calls per rate window", l => Inv(l.RateLimitCalls), o => Text(o.RateLimitCalls)),
        ("rateLimitWindowSeconds", "Rate window (seconds)", l => Inv(l.RateLimitWindowSeconds), o => Text(o.RateLimitWindowSeconds)),
        ("concurrentCalls", "Calls in flight", l => Inv(l.ConcurrentCalls), o => Text(o.ConcurrentCalls)),
        ("dailyCallQuota", "Calls per day", l => Inv(l.DailyCallQuota), o => Text(o.DailyCallQuota)),
        ("tokenLifetimeSeconds", "Token lifetime (seconds)", l => Inv(l.TokenLifetimeSeconds), o => Text(o.TokenLifetimeSeconds)),
        ("advancedLeadExtractFilters", "Advanced lead extract filters", l => l.AdvancedLeadExtractFilters ? "true" : "false",
            o => o.AdvancedLeadExtractFilters is { } b ? (b ? "true" : "false") : null),
    ];

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionDirectory directory,
        CancellationToken ct) =>
        await ConsoleData.FindAsync(identity, munchkinId, ct) is { } s
            ? Render(http, await PageAsync(http, s, identity, directory, null, null, null, ct))
            : Render(http, NotFound($"No subscription {munchkinId}."));

    public static async Task<IResult> AddUserAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionDirectory directory,
        SubscriptionAdmin admin, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        var permissions = ConsoleForms.Text(form, "permissions").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var body = new AddApiUserBody(ConsoleForms.Text(form, "email"), permissions.Length == 0 ? null : permissions, null, null);
        var result = (IResult)(await AdminEndpoints.AddUserAsync(s.MunchkinId, body, admin, ct)).Result;
        var created = ConsoleForms.ValueOf<NewApiUserView>(result);
        return await OutcomeAsync(http, s, identity, directory, result, created is null ? null : $"API user {created.User.Email} added.",
            created?.Credential, ct);
    }

    public static async Task<IResult> RotateAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionDirectory directory,
        SubscriptionAdmin admin, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        var clientId = ConsoleForms.Text(form, "clientId");
        var credential = clientId.Length == 0 || clientId.Any(char.IsControl) ? null : await identity.FindCredentialAsync(clientId, ct);
        var owner = credential is null ? null : await identity.GetApiUserAsync(credential.ApiUserId, ct);
        if (owner is null || owner.SubscriptionId != s.Id)
        {
            // Only this subscription's credentials are rotated from its page.
            return Render(http, await PageAsync(http, s, identity, directory, null, $"No client id {clientId} in {s.MunchkinId}.", null, ct) with
            {
                Status = StatusCodes.Status404NotFound,
            });
        }

        var result = (IResult)(await AdminEndpoints.RotateAsync(clientId, admin, ct)).Result;
        var issued = ConsoleForms.ValueOf<IssuedCredential>(result);
        return await OutcomeAsync(http, s, identity, directory, result, issued is null ? null : $"Secret of {clientId} rotated; its tokens are revoked.",
            issued, ct);
    }

    public static async Task<IResult> LimitsAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionDirectory directory,
        SubscriptionAdmin admin, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        string? error = null;
        var advanced = ConsoleForms.Text(form, "advancedLeadExtractFilters");
        if (advanced is not ("" or "true" or "false"))
        {
            error = "advancedLeadExtractFilters is true or false.";
        }

        var overrides = new SubscriptionLimitOverrides
        {
            MaxProcessingJobs = ConsoleForms.Int(form, "maxProcessingJobs", ref error),
            MaxQueuedJobs = ConsoleForms.Int(form, "maxQueuedJobs", ref error),
            DailyExportQuotaMegabytes = ConsoleForms.Long(form, "dailyExportQuotaMegabytes", ref error),
            FileRetentionDays = ConsoleForms.Int(form, "fileRetentionDays", ref error),
            JobRetentionDays = ConsoleForms.Int(form, "jobRetentionDays", ref error),
            ListWindowDays = ConsoleForms.Int(form, "listWindowDays", ref error),
            MaxWindowDays = ConsoleForms.Int(form, "maxWindowDays", ref error),
            RateLimitCalls = ConsoleForms.Int(form, "rateLimitCalls", ref error),
            RateLimitWindowSeconds = ConsoleForms.Int(form, "rateLimitWindowSeconds", ref error),
            ConcurrentCalls = ConsoleForms.Int(form, "concurrentCalls", ref error),
            DailyCallQuota = ConsoleForms.Int(form, "dailyCallQuota", ref error),
            TokenLifetimeSeconds = ConsoleForms.Int(form, "tokenLifetimeSeconds", ref error),
            AdvancedLeadExtractFilters = advanced.Length == 0 ? null : advanced == "true",
        };
        if (error is not null)
        {
            return Render(http, await PageAsync(http, s, identity, directory, null, error, null, ct) with { Status = StatusCodes.Status400BadRequest });
        }

        var result = (IResult)(await AdminEndpoints.SetLimitsAsync(s.MunchkinId, overrides, admin, directory, ct)).Result;
        var fresh = await ConsoleData.FindAsync(identity, s.MunchkinId, ct) ?? s;
        return await OutcomeAsync(http, fresh, identity, directory, result, "Limits saved.", null, ct);
    }

    public static async Task<IResult> SeedAsync(HttpContext http, string munchkinId, IIdentityStore identity, SubscriptionDirectory directory,
        SubscriptionAdmin admin, IActivityStore activities, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var form = await ConsoleForms.ReadAsync(http, ct);
        string? error = null;
        var count = ConsoleForms.Long(form, "activities", ref error);
        var daysBack = ConsoleForms.Int(form, "daysBack", ref error) ?? 45;
        var seed = ConsoleForms.Int(form, "seed", ref error) ?? 1;
        var leads = ConsoleForms.Long(form, "leads", ref error);
        if (error is null && count is null)
        {
            error = "activities is the number of activities to seed.";
        }

        if (error is not null)
        {
            return Render(http, await PageAsync(http, s, identity, directory, null, error, null, ct) with { Status = StatusCodes.Status400BadRequest });
        }

        var result = (IResult)(await AdminEndpoints.SeedAsync(s.MunchkinId, new SeedBody(count!.Value, daysBack, seed, leads), admin, identity, activities, ct)).Result;
        var seeded = ConsoleForms.ValueOf<SeedView>(result);
        return await OutcomeAsync(http, s, identity, directory, result,
            seeded is null ? null : $"{N(seeded.Added)} activities added; {N(seeded.Total)} in all. {N(seeded.Leads)} leads written.", null, ct);
    }

    private static async Task<IResult> OutcomeAsync(HttpContext http, Subscription s, IIdentityStore identity, SubscriptionDirectory directory,
        IResult result, string? success, IssuedCredential? secret, CancellationToken ct)
    {
        var error = ConsoleForms.ProblemOf(result);
        var page = await PageAsync(http, s, identity, directory, error is null ? success : null, error, error is null ? secret : null, ct);
        return Render(http, page with { Status = error is null ? StatusCodes.Status200OK : ConsoleForms.StatusOf(result) });
    }

    private static async Task<ConsolePage> PageAsync(HttpContext http, Subscription s, IIdentityStore identity, SubscriptionDirectory directory,
        string? flash, string? error, IssuedCredential? secret, CancellationToken ct)
    {
        var basePath = SubscriptionPath(s.MunchkinId, "/data");
        var body = new StringBuilder(Flash(flash, error));
        if (secret is not null)
        {
            body.Append("<div class=\"secret\" data-testid=\"secret-once\" data-client-id=\"").Append(E(secret.ClientId)).Append("\" role=\"status\">")
                .Append("<p><strong>Copy the secret now: it is shown only this once.</strong></p><dl class=\"facts\"><dt>Client id</dt><dd><code>")
                .Append(E(secret.ClientId)).Append("</code></dd><dt>Client secret</dt><dd><code data-testid=\"secret-value\">").Append(E(secret.ClientSecret))
                .Append("</code></dd></dl></div>");
        }

        body.Append("<section aria-labelledby=\"users-h\"><h2 id=\"users-h\">API users</h2>");
        var users = await identity.ListApiUsersAsync(s.Id, ct);
        if (users.Count == 0)
        {
            body.Append("<p data-testid=\"users-empty\">No API user yet.</p>");
        }
        else
        {
            body.Append(TableStart("Users table", "users-table")).Append("<caption>API users of ").Append(E(s.MunchkinId))
                .Append("</caption><thead><tr><th scope=\"col\">Email</th><th scope=\"col\">Permissions</th><th scope=\"col\">Credentials</th></tr></thead><tbody>");
            foreach (var user in users)
            {
                body.Append("<tr data-testid=\"user-row\" data-email=\"").Append(E(user.Email)).Append("\"><th scope=\"row\">").Append(E(user.Email))
                    .Append("</th><td>").Append(E(string.Join(", ", user.Permissions))).Append("</td><td>");
                foreach (var credential in await identity.ListCredentialsAsync(user.Id, ct))
                {
                    body.Append("<div data-testid=\"credential\" data-client-id=\"").Append(E(credential.ClientId)).Append("\"><code>").Append(E(credential.ClientId))
                        .Append("</code> ").Append(PostForm(http, basePath + "/users/rotate", "user-rotate-form", "inline"))
                        .Append("<input type=\"hidden\" name=\"clientId\" value=\"").Append(E(credential.ClientId)).Append("\">")
                        .Append("<button type=\"submit\" class=\"secondary\" aria-label=\"Rotate secret of ").Append(E(credential.ClientId))
                        .Append("\">Rotate secret</button></form></div>");
                }

                body.Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("<h3>Add an API user</h3>").Append(PostForm(http, basePath + "/users", "user-add-form")).Append("<div class=\"fields\">")
            .Append(Field("user-add", "email", "Email", type: "email", required: true))
            .Append(Field("user-add", "permissions", "Permissions", value: Permissions.ReadOnlyActivity,
                hint: $"Comma-separated: {string.Join(", ", Permissions.Known)}."))
            .Append("<button type=\"submit\">Add the user</button></div></form></section>");

        var limits = directory.LimitsOf(s);
        body.Append("<section aria-labelledby=\"limits-h\"><h2 id=\"limits-h\">Limits</h2>")
            .Append("<p class=\"note\">An empty override uses the server's default. Saving replaces every override with the form's values.</p>")
            .Append(PostForm(http, basePath + "/limits", "limits-form"))
            .Append(TableStart("Limits table", "limits-table")).Append("<caption>Limits in force, and this subscription's overrides</caption><thead><tr>")
            .Append("<th scope=\"col\">Limit</th><th scope=\"col\">In force</th><th scope=\"col\">Override</th></tr></thead><tbody>");
        foreach (var (name, label, effective, overridden) in Limits)
        {
            var value = overridden(s.Overrides);
            body.Append("<tr data-testid=\"limit-row\" data-limit=\"").Append(name).Append("\" data-value=\"").Append(E(effective(limits)))
                .Append("\" data-overridden=\"").Append(value is null ? "false" : "true").Append("\"><th scope=\"row\"><label for=\"limits-").Append(name).Append("\">")
                .Append(E(label)).Append("</label> <code>").Append(name).Append("</code></th><td>").Append(E(effective(limits))).Append("</td><td>");
            if (name == "advancedLeadExtractFilters")
            {
                body.Append("<select id=\"limits-").Append(name).Append("\" name=\"").Append(name).Append("\">")
                    .Append("<option value=\"\"").Append(value is null ? " selected" : "").Append(">Server default</option>")
                    .Append("<option value=\"true\"").Append(value == "true" ? " selected" : "").Append(">true</option>")
                    .Append("<option value=\"false\"").Append(value == "false" ? " selected" : "").Append(">false</option></select>");
            }
            else
            {
                body.Append("<input id=\"limits-").Append(name).Append("\" name=\"").Append(name).Append("\" inputmode=\"numeric\" value=\"")
                    .Append(E(value ?? "")).Append("\">");
            }

            body.Append("</td></tr>");
        }

        body.Append("</tbody></table></div><button type=\"submit\">Save the limits</button></form></section>");

        body.Append("<section aria-labelledby=\"seed-h\"><h2 id=\"seed-h\">Seed</h2><p>Adds a consistent demo world: its leads first, then activities ending now, spread over the days back, that name only those leads, and the list and program memberships the activities imply.</p>")
            .Append(PostForm(http, basePath + "/seed", "seed-form")).Append("<div class=\"fields\">")
            .Append(Field("seed", "activities", "Activities", type: "number", value: "1000", required: true, extra: " min=\"0\" max=\"100000000\""))
            .Append(Field("seed", "daysBack", "Days back", type: "number", value: "45", extra: " min=\"1\" max=\"3650\""))
            .Append(Field("seed", "leads", "Leads", type: "number", hint: "Empty: one lead per eight activities, at least 100.", extra: " min=\"0\" max=\"20000000\""))
            .Append(Field("seed", "seed", "Seed", type: "number", value: "1", hint: "The same seed gives the same activities."))
            .Append("<button type=\"submit\">Seed</button></div></form></section>");
        return new ConsolePage($"Data of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "data" };
    }

    private static string? Text(long? value) => value is { } v ? Inv(v) : null;
}
