using System.Globalization;
using System.Text;
using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.BulkExport;
using Spillway.Server.Controls;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// The jobs of a subscription, of every kind and API user: a filterable list, and a page per job with its timeline,
/// filter, file, download and the moves the API allows (cancel; start, complete and fail in manual progression).
/// </summary>
internal static class JobsPage
{
    /// <summary>Rows the list shows; the filters narrow a longer list.</summary>
    private const int MaxRows = 200;

    public static async Task<IResult> ListAsync(HttpContext http, string munchkinId, IIdentityStore identity, IExportJobStore jobs, ExtractKinds kinds,
        CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var kind = ConsoleForms.Query(http, "kind");
        var statusText = ConsoleForms.Query(http, "status");
        var apiUser = ConsoleForms.Query(http, "apiUser");
        var dateText = ConsoleForms.Query(http, "date");
        string? error = null;
        ExportJobStatus? status = null;
        if (statusText.Length > 0)
        {
            if (ConsoleForms.TryParseStatus(statusText, out var parsed))
            {
                status = parsed;
            }
            else
            {
                error = "status is one of Created, Queued, Processing, Completed, Failed, Cancelled.";
            }
        }

        DateOnly? date = null;
        if (dateText.Length > 0)
        {
            if (DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                date = day;
            }
            else
            {
                error ??= "date is a day, yyyy-MM-dd.";
            }
        }

        if (kind.Length > 0 && !kinds.All.Any(k => k.Name == kind))
        {
            error ??= $"kind is one of {string.Join(", ", kinds.All.Select(k => k.Name))}.";
        }

        var users = await identity.ListApiUsersAsync(s.Id, ct);
        var all = await ConsoleData.JobsAsync(s, identity, jobs, kinds, ct);
        var matching = error is not null ? [] : all.Where(j =>
            (kind.Length == 0 || j.Job.Kind == kind)
            && (status is null || j.Job.Status == status)
            && (apiUser.Length == 0 || j.ApiUser.Equals(apiUser, StringComparison.OrdinalIgnoreCase))
            && (date is null || DateOnly.FromDateTime(j.Job.CreatedAt.UtcDateTime) == date)).ToList();

        var body = new StringBuilder(Flash(null, error));
        body.Append("<form method=\"get\" data-testid=\"jobs-filter-form\" action=\"").Append(E(SubscriptionPath(s.MunchkinId, "/jobs")))
            .Append("\"><div class=\"fields\">")
            .Append(Select("jobs", "kind", "Kind", [("", "Any kind"), .. kinds.All.Select(k => (k.Name, k.Name))], kind))
            .Append(Select("jobs", "status", "State", [("", "Any state"), .. Enum.GetValues<ExportJobStatus>().Select(v =>
                (ExportJobView.StatusName(v), ExportJobView.StatusName(v)))], status is { } st ? ExportJobView.StatusName(st) : ""))
            .Append(Select("jobs", "apiUser", "API user", [("", "Any API user"), .. users.Select(u => (u.Email, u.Email))], apiUser))
            .Append(Field("jobs", "date", "Created on (UTC)", type: "date", value: dateText))
            .Append("<button type=\"submit\">Filter</button></div></form>");

        var self = SubscriptionPath(s.MunchkinId, "/jobs") + http.Request.QueryString.Value;
        body.Append("<div id=\"jobs-live\" data-live=\"").Append(E(self)).Append("\">");
        if (matching.Count == 0)
        {
            body.Append("<p data-testid=\"jobs-empty\">No job matches.</p>");
        }
        else
        {
            body.Append(TableStart("Jobs table", "jobs-table")).Append("<caption>")
                .Append(matching.Count > MaxRows ? $"The newest {MaxRows} of {N(matching.Count)} jobs" : $"{N(matching.Count)} jobs, newest first")
                .Append("</caption><thead><tr><th scope=\"col\">exportId</th><th scope=\"col\">Kind</th><th scope=\"col\">State</th>")
                .Append("<th scope=\"col\">API user</th><th scope=\"col\">Created</th><th scope=\"col\" class=\"num\">Rows</th>")
                .Append("<th scope=\"col\" class=\"num\">File size</th></tr></thead><tbody>");
            foreach (var (job, user) in matching.Take(MaxRows))
            {
                var view = ExportJobView.From(job);
                body.Append("<tr data-testid=\"job-row\" data-export-id=\"").Append(view.ExportId).Append("\" data-status=\"").Append(view.Status)
                    .Append("\" data-kind=\"").Append(E(job.Kind)).Append("\"><th scope=\"row\"><a href=\"")
                    .Append(E(SubscriptionPath(s.MunchkinId, "/jobs/" + view.ExportId))).Append("\"><code>").Append(view.ExportId).Append("</code></a></th><td>")
                    .Append(E(job.Kind)).Append("</td><td>").Append(view.Status).Append("</td><td>").Append(E(user)).Append("</td><td>")
                    .Append(Time(job.CreatedAt)).Append("</td><td class=\"num\">").Append(view.NumberOfRecords is { } rows ? N(rows) : "—")
                    .Append("</td><td class=\"num\">").Append(view.FileSize is { } size ? E(Bytes(size)) : "—").Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("</div>");
        return Render(http, new ConsolePage($"Jobs of {s.MunchkinId}", body.ToString())
        {
            MunchkinId = s.MunchkinId,
            Section = "jobs",
            Status = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
        });
    }

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, string exportId, IIdentityStore identity, IExportJobStore jobs,
        SubscriptionControls controls, CancellationToken ct) =>
        await JobOfAsync(identity, jobs, munchkinId, exportId, ct) is not ({ } s, { } job)
            ? Render(http, NotFound($"No export job {exportId} in subscription {munchkinId}."))
            : Render(http, await PageAsync(http, s, job, identity, controls, null, null, ct));

    public static async Task<IResult> FileAsync(HttpContext http, string munchkinId, string exportId, IIdentityStore identity, IExportJobStore jobs,
        ExportFileStore files, SubscriptionDirectory directory, ISubscriptionClock clock, CancellationToken ct)
    {
        if (await JobOfAsync(identity, jobs, munchkinId, exportId, ct) is not ({ } s, { } job) || !Downloadable(job, s, directory, clock)
            || !files.TryGetPublished(job.ExportId, job.FencingToken, out var path, out var length) || length != job.FileSize)
        {
            return Render(http, NotFound($"Export job {exportId} has no file to download."));
        }

        var extension = ExportFileFormats.ToWireName(job.Format).ToLowerInvariant();
        return TypedResults.PhysicalFile(path, MarketoHttp.CsvContentType, fileDownloadName: $"{job.Kind}-{job.ExportId:D}.{extension}",
            lastModified: job.FinishedAt, enableRangeProcessing: true);
    }

    public static async Task<IResult> MoveAsync(HttpContext http, string munchkinId, string exportId, string action, IIdentityStore identity,
        IExportJobStore jobs, JobControls jobControls, SubscriptionControls controls, ExportSignal signal, StatusSnapshots snapshots, CancellationToken ct)
    {
        if (await JobOfAsync(identity, jobs, munchkinId, exportId, ct) is not ({ } s, { } job))
        {
            return Render(http, NotFound($"No export job {exportId} in subscription {munchkinId}."));
        }

        string? flash = null;
        string? error = null;
        var status = StatusCodes.Status200OK;
        if (action == "cancel")
        {
            // The store's compare-and-set decides, as for the API's cancel call of the job's owner.
            var now = controls.NowOf(s.Id);
            var outcome = await jobs.CancelAsync(job.ExportId, job.ApiUserId, job.Kind, new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero), ct);
            switch (outcome)
            {
                case CancelOutcome.Cancelled:
                    signal.JobCancelled(job.ExportId);
                    flash = "Job cancelled.";
                    break;
                case CancelOutcome.AlreadyCancelled:
                    flash = "The job was already cancelled.";
                    break;
                case CancelOutcome.Finished:
                    error = $"Export job is {ExportJobView.StatusName(job.Status)} and cannot be cancelled.";
                    status = StatusCodes.Status409Conflict;
                    break;
                default:
                    return Render(http, NotFound($"No export job {exportId} in subscription {munchkinId}."));
            }
        }
        else
        {
            var form = await ConsoleForms.ReadAsync(http, ct);
            var errorMsg = ConsoleForms.Text(form, "errorMsg");
            var result = (IResult)(await ControlEndpoints.MoveAsync(exportId, id => action switch
            {
                "start" => jobControls.StartAsync(id, ct),
                "complete" => jobControls.CompleteAsync(id, ct),
                _ => jobControls.FailAsync(id, errorMsg.Length == 0 ? "Export failed" : errorMsg, ct),
            })).Result;
            error = ConsoleForms.ProblemOf(result);
            status = ConsoleForms.StatusOf(result);
            flash = error is null ? $"Job {(action == "start" ? "started" : action == "complete" ? "completed" : "failed")}." : null;
        }

        var current = await jobs.GetByIdAsync(job.ExportId, ct) ?? job;
        snapshots.Refresh(current);
        var page = await PageAsync(http, s, current, identity, controls, flash, error, ct);
        return Render(http, page with { Status = error is null ? StatusCodes.Status200OK : status });
    }

    private static async Task<(Subscription?, ExportJobRecord?)> JobOfAsync(IIdentityStore identity, IExportJobStore jobs, string munchkinId,
        string exportId, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s || !ConsoleForms.TryParseExportId(exportId, out var id))
        {
            return (null, null);
        }

        var job = await jobs.GetByIdAsync(id, ct);
        return job is not null && job.SubscriptionId == s.Id ? (s, job) : (s, null);
    }

    /// <summary>The download rules of the file endpoint: Completed, not expired, within the subscription's file retention.</summary>
    private static bool Downloadable(ExportJobRecord job, Subscription s, SubscriptionDirectory directory, ISubscriptionClock clock) =>
        job is { Status: ExportJobStatus.Completed, FileChecksum: not null, FileExpired: false }
        && job.FinishedAt + TimeSpan.FromDays(directory.LimitsOf(s).FileRetentionDays) > clock.NowOf(s.Id);

    private static async Task<ConsolePage> PageAsync(HttpContext http, Subscription s, ExportJobRecord job, IIdentityStore identity,
        SubscriptionControls controls, string? flash, string? error, CancellationToken ct)
    {
        var view = ExportJobView.From(job);
        var user = await identity.GetApiUserAsync(job.ApiUserId, ct);
        var directory = http.RequestServices.GetRequiredService<SubscriptionDirectory>();
        var clock = http.RequestServices.GetRequiredService<ISubscriptionClock>();
        var jobPath = SubscriptionPath(s.MunchkinId, "/jobs/" + view.ExportId);
        var body = new StringBuilder(Flash(flash, error));
        body.Append("<div id=\"job-live\" data-live=\"").Append(E(jobPath)).Append("\">")
            .Append("<section aria-labelledby=\"job-h\"><h2 id=\"job-h\">Job</h2><dl class=\"facts\">")
            .Append("<dt>State</dt><dd data-testid=\"job-status\" data-status=\"").Append(view.Status).Append("\">").Append(view.Status).Append("</dd>")
            .Append("<dt>Kind</dt><dd data-testid=\"job-kind\">").Append(E(job.Kind)).Append("</dd>")
            .Append("<dt>API user</dt><dd data-testid=\"job-api-user\">").Append(E(user?.Email ?? "(removed)")).Append("</dd>")
            .Append("<dt>Format</dt><dd data-testid=\"job-format\">").Append(E(view.Format)).Append("</dd>")
            .Append("<dt>Rows</dt><dd data-testid=\"job-rows\">").Append(view.NumberOfRecords is { } rows ? N(rows) : "—").Append("</dd>")
            .Append("<dt>File size</dt><dd data-testid=\"job-file-size\"").Append(view.FileSize is { } size ? $" data-bytes=\"{Inv(size)}\">{E(Bytes(size))} ({N(size)} bytes)" : ">—")
            .Append("</dd><dt>Checksum</dt><dd data-testid=\"job-checksum\"><code>").Append(E(view.FileChecksum ?? "—")).Append("</code></dd>");
        if (view.ErrorMsg is { } message)
        {
            body.Append("<dt>errorMsg</dt><dd data-testid=\"job-error\">").Append(E(message)).Append("</dd>");
        }

        body.Append("</dl>");
        if (Downloadable(job, s, directory, clock))
        {
            body.Append("<p><a data-testid=\"job-download\" href=\"").Append(E(jobPath + "/file")).Append("\" download>Download the file</a></p>");
        }

        body.Append("</section><section aria-labelledby=\"timeline-h\"><h2 id=\"timeline-h\">Timeline</h2><dl class=\"facts\" data-testid=\"job-timeline\">")
            .Append("<dt>Created</dt><dd>").Append(Time(view.CreatedAt, "job-created")).Append("</dd>")
            .Append("<dt>Queued</dt><dd>").Append(Time(view.QueuedAt, "job-queued")).Append("</dd>")
            .Append("<dt>Started</dt><dd>").Append(Time(view.StartedAt, "job-started")).Append("</dd>")
            .Append("<dt>Finished</dt><dd>").Append(Time(view.FinishedAt, "job-finished")).Append("</dd></dl></section>");

        body.Append("<section aria-labelledby=\"actions-h\"><h2 id=\"actions-h\">Actions</h2>");
        var manual = controls.ProgressionOf(s.Id).Mode == ProgressionMode.Manual;
        var any = false;
        if (job.Status is ExportJobStatus.Created or ExportJobStatus.Queued or ExportJobStatus.Processing)
        {
            body.Append(PostForm(http, jobPath + "/cancel", "job-cancel-form", "inline")).Append("<button type=\"submit\" class=\"danger\">Cancel the job</button></form>");
            any = true;
        }

        if (manual && job.Status == ExportJobStatus.Queued)
        {
            body.Append(PostForm(http, jobPath + "/start", "job-start-form", "inline")).Append("<button type=\"submit\">Start</button></form>");
        }

        if (manual && job.Status is ExportJobStatus.Queued or ExportJobStatus.Processing)
        {
            body.Append(PostForm(http, jobPath + "/complete", "job-complete-form", "inline")).Append("<button type=\"submit\">Complete</button></form>")
                .Append(PostForm(http, jobPath + "/fail", "job-fail-form")).Append("<div class=\"fields\">")
                .Append(Field("fail", "errorMsg", "errorMsg", value: "Export failed", hint: "What the failed job's status will say."))
                .Append("<button type=\"submit\" class=\"danger\">Fail</button></div></form>");
            any = true;
        }

        if (!any)
        {
            body.Append("<p class=\"note\">No move is possible from ").Append(view.Status).Append(manual ? "." : "; start, complete and fail are offered in manual progression.").Append("</p>");
        }

        body.Append("</section></div><section aria-labelledby=\"filter-h\"><h2 id=\"filter-h\">Request</h2>")
            .Append("<p class=\"note\">The create body as the job stored it: its filter, fields and format.</p><pre data-testid=\"job-filter\">")
            .Append(E(Pretty(job.SpecJson))).Append("</pre></section>");
        return new ConsolePage($"Job {view.ExportId}", body.ToString()) { MunchkinId = s.MunchkinId, Section = "jobs" };
    }

    private static string Pretty(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                document.RootElement.WriteTo(writer);
            }

            return Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
