using System.Text;
using Spillway.Contracts;
using Spillway.Server.BulkExport;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// A subscription at a glance, as its Marketo would count it: jobs by state across every bulk extract kind, the queue
/// against its limits, the daily export quota, and the API calls of the rate window and of the day. Live.
/// </summary>
internal static class OverviewPage
{
    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, IExportJobStore jobs, ExtractKinds kinds,
        SubscriptionDirectory directory, ISubscriptionClock clock, IApiCallLimiter limiter, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var limits = directory.LimitsOf(s);
        var now = clock.NowOf(s.Id);
        var all = await ConsoleData.JobsAsync(s, identity, jobs, kinds, ct);
        var count = Enum.GetValues<ExportJobStatus>().ToDictionary(status => status, status => all.Count(j => j.Job.Status == status));
        var used = await jobs.ExportedBytesSinceAsync(s.Id, SpillwayClock.QuotaDayStart(now), ct);
        var caller = new CallerCallLimits(s.Id, "", limits.Calls);
        var today = await limiter.UsageAsync(caller, now, ct);
        var window = await limiter.CallsInWindowAsync(caller, now, ct);

        var body = new StringBuilder();
        body.Append("<div id=\"overview-live\" data-live=\"").Append(E(SubscriptionPath(s.MunchkinId))).Append("\">")
            .Append("<p>").Append(E(s.Name)).Append(" · the subscription's clock says ").Append(Time(now, "clock-value")).Append("</p>")
            .Append("<div class=\"cards\">");

        body.Append("<section class=\"card\" aria-labelledby=\"queue-h\"><h2 id=\"queue-h\">Export queue</h2><dl class=\"facts\" data-testid=\"queue\">")
            .Append("<dt>Processing</dt><dd data-testid=\"queue-processing\" data-count=\"").Append(count[ExportJobStatus.Processing])
            .Append("\" data-max=\"").Append(limits.MaxProcessingJobs).Append("\">").Append(count[ExportJobStatus.Processing]).Append(" of ")
            .Append(limits.MaxProcessingJobs).Append("</dd>")
            .Append("<dt>Queued</dt><dd data-testid=\"queue-queued\" data-count=\"").Append(count[ExportJobStatus.Queued])
            .Append("\" data-max=\"").Append(limits.MaxQueuedJobs).Append("\">").Append(count[ExportJobStatus.Queued]).Append(" of ")
            .Append(limits.MaxQueuedJobs).Append("</dd></dl>")
            .Append("<p class=\"note\">Jobs of every bulk extract kind share the queue, as in Marketo.</p></section>");

        var quota = limits.DailyExportQuotaBytes;
        body.Append("<section class=\"card\" aria-labelledby=\"quota-h\"><h2 id=\"quota-h\">Daily export quota</h2>")
            .Append("<p><label for=\"quota-meter\">Exported today</label>: <span class=\"big\">").Append(E(Bytes(used))).Append("</span> of ")
            .Append(E(Bytes(quota))).Append("</p><meter id=\"quota-meter\" data-testid=\"quota-meter\" min=\"0\" max=\"").Append(Inv(quota))
            .Append("\" value=\"").Append(Inv(Math.Min(used, quota))).Append("\" high=\"").Append(Inv(quota * 9 / 10)).Append("\" data-used-bytes=\"")
            .Append(Inv(used)).Append("\" data-limit-bytes=\"").Append(Inv(quota)).Append("\">").Append(E(Bytes(used))).Append("</meter>")
            .Append("<p>Resets at ").Append(Time(MarketoQuotaDay.NextReset(now), "quota-resets-at")).Append(" (midnight America/Chicago).</p></section>");

        body.Append("<section class=\"card\" aria-labelledby=\"calls-h\"><h2 id=\"calls-h\">API calls</h2><dl class=\"facts\">")
            .Append("<dt>Last ").Append(limits.RateLimitWindowSeconds).Append(" s</dt><dd data-testid=\"rate-window\" data-used=\"").Append(window)
            .Append("\" data-limit=\"").Append(limits.RateLimitCalls).Append("\" data-window-seconds=\"").Append(limits.RateLimitWindowSeconds).Append("\">")
            .Append(N(window)).Append(" of ").Append(N(limits.RateLimitCalls)).Append("</dd>")
            .Append("<dt>Today</dt><dd data-testid=\"calls-today\" data-used=\"").Append(today.Total).Append("\" data-limit=\"")
            .Append(limits.DailyCallQuota).Append("\">").Append(N(today.Total)).Append(" of ").Append(N(limits.DailyCallQuota)).Append("</dd></dl></section>");
        body.Append("</div>");

        body.Append("<section aria-labelledby=\"states-h\"><h2 id=\"states-h\">Jobs by state</h2>")
            .Append(TableStart("Job counts", "job-counts")).Append("<caption>Export jobs of every kind and API user</caption><thead><tr>")
            .Append("<th scope=\"col\">State</th><th scope=\"col\" class=\"num\">Jobs</th></tr></thead><tbody>");
        foreach (var (status, n) in count)
        {
            var name = ExportJobView.StatusName(status);
            body.Append("<tr data-testid=\"job-count\" data-status=\"").Append(name).Append("\" data-count=\"").Append(n).Append("\"><th scope=\"row\"><a href=\"")
                .Append(E(SubscriptionPath(s.MunchkinId, "/jobs?status=" + name))).Append("\">").Append(name).Append("</a></th><td class=\"num\">")
                .Append(N(n)).Append("</td></tr>");
        }

        body.Append("</tbody></table></div></section></div>")
            .Append("<p class=\"note\">This page refreshes itself every ").Append(ConsoleAssets.LiveIntervalMilliseconds / 1000).Append(" seconds.</p>");
        return Render(http, new ConsolePage($"Overview of {s.MunchkinId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "overview" });
    }
}
