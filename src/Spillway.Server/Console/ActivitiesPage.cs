using System.Globalization;
using System.Text;
using Spillway.Server.Activities;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;
using static Spillway.Server.Console.ConsoleHtml;

namespace Spillway.Server.Console;

/// <summary>
/// A browser of a subscription's activities by day and type: how many of each type the day holds, and the first
/// activities of the chosen type in export order (activityDate, then marketoGUID), read through the export's own window read.
/// </summary>
internal static class ActivitiesPage
{
    private const int MaxRows = 100;

    /// <summary>Rows counted per day at most, so one page view never reads an unbounded day.</summary>
    private const long MaxCounted = 2_000_000;

    public static async Task<IResult> ShowAsync(HttpContext http, string munchkinId, IIdentityStore identity, IActivityStore activities,
        IActivityWindowStreamer windows, ActivityTypeRegistry types, ISubscriptionClock clock, CancellationToken ct)
    {
        if (await ConsoleData.FindAsync(identity, munchkinId, ct) is not { } s)
        {
            return Render(http, NotFound($"No subscription {munchkinId}."));
        }

        var dayText = ConsoleForms.Query(http, "day");
        var typeText = ConsoleForms.Query(http, "activityTypeId");
        string? error = null;
        var day = DateOnly.FromDateTime(clock.NowOf(s.Id).UtcDateTime);
        if (dayText.Length > 0 && !DateOnly.TryParseExact(dayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            error = "day is a day, yyyy-MM-dd.";
        }

        int? typeId = null;
        if (typeText.Length > 0)
        {
            if (int.TryParse(typeText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                typeId = parsed;
            }
            else
            {
                error ??= "activityTypeId is a whole number.";
            }
        }

        var catalog = (await types.GetAsync(s.Id, ct)).All;
        var names = catalog.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First().Name);
        var sink = new Sink(typeId);
        if (error is null)
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            try
            {
                await windows.StreamWindowAsync(new ActivityQuery(s.Id, start, start.AddDays(1).AddTicks(-1), null, null), sink, ct);
            }
            catch (Exception e) when (e is Enough || e.InnerException is Enough)
            {
                // Counted enough for a page; the note below says the counts are cut.
            }
        }

        var total = await activities.CountAsync(s.Id, ct);
        var dayIso = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var body = new StringBuilder(Flash(null, error));
        body.Append("<p>").Append(E(s.MunchkinId)).Append(" holds <strong data-testid=\"activities-total\" data-count=\"").Append(Inv(total)).Append("\">")
            .Append(N(total)).Append("</strong> activities.</p>")
            .Append("<form method=\"get\" data-testid=\"activities-filter-form\" action=\"").Append(E(SubscriptionPath(s.MunchkinId, "/activities")))
            .Append("\"><div class=\"fields\">").Append(Field("activities", "day", "Day (UTC)", type: "date", value: dayIso, required: true))
            .Append(Select("activities", "activityTypeId", "Activity type", [("", "Any type"), .. catalog.Select(t =>
                (Inv(t.Id), $"{t.Id} {t.Name}"))], typeText))
            .Append("<button type=\"submit\">Show</button></div></form>");

        body.Append("<section aria-labelledby=\"types-h\"><h2 id=\"types-h\">Activities on ").Append(dayIso).Append(" by type</h2>");
        if (sink.Counts.Count == 0)
        {
            body.Append("<p data-testid=\"activities-day-empty\">No activity on that day.</p>");
        }
        else
        {
            body.Append(TableStart("Activity types table", "activity-types-table")).Append("<caption>Activities of ").Append(dayIso)
                .Append(sink.Counted >= MaxCounted ? $" (the first {N(MaxCounted)} counted)" : "")
                .Append("</caption><thead><tr><th scope=\"col\">Type</th><th scope=\"col\">Name</th><th scope=\"col\" class=\"num\">Activities</th></tr></thead><tbody>");
            foreach (var (id, n) in sink.Counts.OrderBy(c => c.Key))
            {
                body.Append("<tr data-testid=\"activity-type-row\" data-activity-type-id=\"").Append(Inv(id)).Append("\" data-count=\"").Append(Inv(n))
                    .Append("\"><th scope=\"row\"><a href=\"").Append(E(SubscriptionPath(s.MunchkinId, $"/activities?day={dayIso}&activityTypeId={Inv(id)}")))
                    .Append("\">").Append(Inv(id)).Append("</a></th><td>").Append(E(names.GetValueOrDefault(id, "(unknown type)"))).Append("</td><td class=\"num\">")
                    .Append(N(n)).Append("</td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("</section><section aria-labelledby=\"rows-h\"><h2 id=\"rows-h\">")
            .Append(typeId is { } t ? $"Activities of type {Inv(t)}" : "Activities").Append(", first ").Append(MaxRows).Append("</h2>");
        if (sink.Rows.Count == 0)
        {
            body.Append("<p data-testid=\"activities-empty\">No activity matches.</p>");
        }
        else
        {
            body.Append(TableStart("Activities table", "activities-table")).Append("<caption>In export order</caption><thead><tr>")
                .Append("<th scope=\"col\">marketoGUID</th><th scope=\"col\">activityDate</th><th scope=\"col\">Type</th><th scope=\"col\">leadId</th>")
                .Append("<th scope=\"col\">primaryAttributeValue</th><th scope=\"col\">attributes</th></tr></thead><tbody>");
            foreach (var row in sink.Rows)
            {
                body.Append("<tr data-testid=\"activity-row\" data-marketo-guid=\"").Append(Inv(row.MarketoGuid)).Append("\"><th scope=\"row\">")
                    .Append(Inv(row.MarketoGuid)).Append("</th><td>").Append(Time(DateTimeOffset.FromUnixTimeSeconds(row.DateSeconds))).Append("</td><td>")
                    .Append(Inv(row.TypeId)).Append("</td><td>").Append(Inv(row.LeadId)).Append("</td><td>").Append(E(row.Primary ?? "—"))
                    .Append("</td><td><code>").Append(E(Clip(row.Attributes, 300))).Append("</code></td></tr>");
            }

            body.Append("</tbody></table></div>");
        }

        body.Append("</section>");
        return Render(http, new ConsolePage($"Activities of {s.MunchkinId}", body.ToString())
        {
            MunchkinId = s.MunchkinId,
            Section = "activities",
            Status = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
        });
    }

    private sealed record Row(long MarketoGuid, long DateSeconds, int TypeId, long LeadId, string? Primary, string Attributes);

    /// <summary>Stops a window read once the page has counted enough.</summary>
    private sealed class Enough : Exception
    {
        public Enough()
            : base("The console counted enough activities for one page.")
        {
        }
    }

    private sealed class Sink(int? typeId) : IActivityRowSink
    {
        public Dictionary<int, long> Counts { get; } = [];

        public List<Row> Rows { get; } = [];

        public long Counted { get; private set; }

        public void WriteRow(in Utf8ActivityRow row)
        {
            if (++Counted > MaxCounted)
            {
                Counted = MaxCounted;
                throw new Enough();
            }

            Counts[row.ActivityTypeId] = Counts.GetValueOrDefault(row.ActivityTypeId) + 1;
            if (Rows.Count < MaxRows && (typeId is null || row.ActivityTypeId == typeId))
            {
                Rows.Add(new Row(row.MarketoGuid, row.ActivityDateUnixSeconds, row.ActivityTypeId, row.LeadId,
                    row.HasPrimaryAttributeValue ? Encoding.UTF8.GetString(row.PrimaryAttributeValue) : null, Encoding.UTF8.GetString(row.Attributes)));
            }
        }
    }
}
