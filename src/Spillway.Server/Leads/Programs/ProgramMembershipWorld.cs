using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Programs;

/// <summary>
/// Derives program membership from a subscription's program activities, so every member has the history its
/// activities show: Change Status in Progression (104) and Add to Nurture (113) make a lead a member of the program
/// they name (primaryAttributeValueId). Read in time order (activityDate, then marketoGUID), the first such activity is
/// the membership date (and says whether the program acquired the lead), the last status change gives the status, the
/// first change to a success step of the program's channel gives reachedSuccessDate, the last Add to Nurture gives the
/// track, and the last activity is the membership's updatedAt. Engagement programs' members have the normal cadence.
/// Activities of leads the subscription does not have, or of programs the world lacks, make no membership.
/// </summary>
public sealed class ProgramMembershipWorld(IActivityPageReader activities, IProgramMemberStore members)
{
    public const int ChangeStatusInProgression = 104;
    public const int AddToNurture = 113;
    private const int PageSize = 10_000;
    private const int WriteBatch = 5_000;

    /// <summary>Derives and writes the memberships of the subscription's program activities; returns how many were written.</summary>
    public async Task<long> SeedAsync(int subscriptionId, CancellationToken ct)
    {
        var history = new Dictionary<(long Program, long Lead), List<ProgramEvent>>();
        long after = 0;
        while (true)
        {
            var page = await activities.ReadPageAsync(
                new ActivityPageQuery(subscriptionId, DateTimeOffset.UnixEpoch, after, [ChangeStatusInProgression, AddToNurture], null, null, PageSize), ct);
            foreach (var activity in page)
            {
                if (activity.PrimaryAttributeValueId is not { } programId || MarketingWorld.ProgramById(programId) is null)
                {
                    continue;
                }

                if (!history.TryGetValue((programId, activity.LeadId), out var events))
                {
                    history[(programId, activity.LeadId)] = events = [];
                }

                events.Add(ProgramEvent.Of(activity));
            }

            if (page.Count < PageSize)
            {
                break;
            }

            after = page[^1].MarketoGuid;
        }

        long written = 0;
        var batch = new List<ProgramMember>(WriteBatch);
        foreach (var ((programId, leadId), events) in history.OrderBy(h => h.Key.Lead).ThenBy(h => h.Key.Program))
        {
            batch.Add(Derive(MarketingWorld.ProgramById(programId)!, leadId, events));
            if (batch.Count == WriteBatch)
            {
                written += await members.PutAsync(subscriptionId, batch, ct);
                batch.Clear();
            }
        }

        return written + await members.PutAsync(subscriptionId, batch, ct);
    }

    /// <summary>The membership a lead's activities in one program leave it with.</summary>
    internal static ProgramMember Derive(MarketingProgram program, long leadId, IReadOnlyList<ProgramEvent> events)
    {
        var ordered = events.OrderBy(e => e.At).ThenBy(e => e.Guid).ToList();
        var first = ordered[0];
        var last = ordered[^1];
        // Only a status the program's channel has counts: an activity's attribute text may be anything (the demo data
        // puts hard text, NUL included, into 1 % of attribute values), and a membership's status is one of the channel's.
        var known = program.Channel.Statuses.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var status = ordered.LastOrDefault(e => e.NewStatus is { } name && known.Contains(name))?.NewStatus
            ?? program.Channel.Statuses.Where(s => s.Step > 0).Select(s => s.Name).FirstOrDefault() ?? "Member";
        var successSteps = program.Channel.Statuses.Where(s => s.Success).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var success = ordered.FirstOrDefault(e => e.NewStatus is { } name && successSteps.Contains(name));
        var engagement = program.Type == "Engagement";
        return new ProgramMember(
            program.Id,
            leadId,
            status,
            StatusReason: null,
            ReachedSuccess: successSteps.Contains(status) || success is not null,
            ReachedSuccessDate: success?.At,
            MembershipDate: first.At,
            AcquiredBy: first.AcquiredBy,
            IsExhausted: false,
            NurtureCadence: engagement ? "norm" : null,
            TrackName: ordered.LastOrDefault(e => e.Track is { } track && !track.Contains('\0', StringComparison.Ordinal))?.Track,
            CreatedAt: first.At,
            UpdatedAt: last.At);
    }
}

/// <summary>One program activity of a lead, as membership derivation reads it.</summary>
internal sealed record ProgramEvent(long Guid, DateTimeOffset At, string? NewStatus, bool AcquiredBy, string? Track)
{
    public static ProgramEvent Of(Spillway.Contracts.ActivityRecord activity)
    {
        string? status = null;
        string? track = null;
        var acquired = false;
        using var attributes = JsonDocument.Parse(activity.Attributes);
        if (attributes.RootElement.ValueKind == JsonValueKind.Object)
        {
            var root = attributes.RootElement;
            status = root.TryGetProperty("New Status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            track = root.TryGetProperty("Track Name", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            acquired = root.TryGetProperty("Acquired By", out var a) && a.ValueKind == JsonValueKind.True;
        }

        return new ProgramEvent(activity.MarketoGuid, activity.ActivityDate, activity.ActivityTypeId == ProgramMembershipWorld.ChangeStatusInProgression ? status : null,
            acquired, track);
    }
}
