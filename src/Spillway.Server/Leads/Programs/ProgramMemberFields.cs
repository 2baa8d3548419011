using System.Collections.Frozen;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Programs;

/// <summary>A field of Marketo's program member object, as Describe Program Member lists it, and how a membership gives its value.</summary>
public sealed record ProgramMemberField(string Name, string DataType, int? Length, Func<ProgramMember, MarketingProgram, object?> Value);

/// <summary>
/// The program member object: the fields Describe Program Member lists (Marketo's standard ones, none custom), in
/// Marketo's order. Fields the memberships here never carry (attendance and registration likelihood, waitlist
/// priority) are listed and always null, as they are for programs that are not events.
/// </summary>
public static class ProgramMemberFields
{
    /// <summary>The describe's object name, key and the fields Get Program Members can filter on.</summary>
    public const string ObjectName = "API Program Membership";

    public static IReadOnlyList<string> DedupeFields { get; } = ["leadId", "programId"];

    public static IReadOnlyList<string> SearchableFields { get; } = ["leadId", "reachedSuccess", "statusName"];

    /// <summary>What Get Program Members returns when the request names no fields.</summary>
    public static IReadOnlyList<string> DefaultFields { get; } = ["acquiredBy", "leadId", "membershipDate", "programId", "reachedSuccess"];

    public static IReadOnlyList<ProgramMemberField> All { get; } =
    [
        new("acquiredBy", "boolean", null, (m, _) => m.AcquiredBy),
        new("attendanceLikelihood", "integer", null, (_, _) => null),
        new("createdAt", "datetime", null, (m, _) => m.CreatedAt),
        new("isExhausted", "boolean", null, (m, _) => m.IsExhausted),
        new("leadId", "integer", null, (m, _) => m.LeadId),
        new("membershipDate", "datetime", null, (m, _) => m.MembershipDate),
        new("nurtureCadence", "string", 4, (m, _) => m.NurtureCadence),
        new("program", "string", 255, (_, p) => p.Name),
        new("programId", "integer", null, (m, _) => m.ProgramId),
        new("reachedSuccess", "boolean", null, (m, _) => m.ReachedSuccess),
        new("reachedSuccessDate", "datetime", null, (m, _) => m.ReachedSuccessDate),
        new("registrationLikelihood", "integer", null, (_, _) => null),
        new("statusName", "string", 255, (m, _) => m.StatusName),
        new("statusReason", "string", 255, (m, _) => m.StatusReason),
        new("trackName", "string", 255, (m, _) => m.TrackName),
        new("updatedAt", "datetime", null, (m, _) => m.UpdatedAt),
        new("waitlistPriority", "integer", null, (_, _) => null),
    ];

    private static readonly FrozenDictionary<string, ProgramMemberField> ByName = All.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);

    /// <summary>The program member field of this name (exact, as Marketo's names match), or null.</summary>
    public static ProgramMemberField? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>
    /// The lead field an extract column of this name reads: a standard lead field that is not also a program member
    /// field (createdAt and updatedAt are the membership's), or null.
    /// </summary>
    public static LeadColumn? FindLead(string name) => ByName.ContainsKey(name) ? null : LeadColumns.Find(name);
}
