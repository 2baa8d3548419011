using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;
using Spillway.Contracts;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Programs;

/// <summary>
/// Marketo's program membership reads: Describe Program Member, Get Program Members (by a searchable field or an
/// updatedAt range) and Get Leads by Program Id (each lead with its <c>membership</c> object). All need Read-Only Lead
/// (or Read-Write Lead); a program id the marketing world lacks answers 1013 <c>Program not found</c>.
/// </summary>
internal static class ProgramMemberEndpoints
{
    public const int MaxBatch = 300;
    public const int MaxFilterValues = 300;

    /// <summary>The longest updatedAt range Get Program Members takes.</summary>
    public const int MaxUpdatedDays = 7;

    /// <summary>The lead fields Get Leads by Program Id returns when the request names none (membership always comes).</summary>
    public static readonly IReadOnlyList<string> DefaultLeadFields = ["id", "email", "updatedAt", "createdAt", "firstName", "lastName"];

    public static MarketoError ProgramNotFound { get; } = new("1013", "Program not found");

    public static void MapProgramMemberEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1").WithTags("Program Members").AddEndpointFilter<ApiAccessFilter>();
        var read = new RequiresPermission(Permissions.ReadOnlyLead);
        rest.MapGet("/programs/members/describe.json", Describe).WithName("describeProgramMemberUsingGET2").WithSummary("Describe Program Member").WithMetadata(read);
        rest.MapGet("/programs/{programId}/members.json", GetMembersAsync).WithName("getProgramMembersUsingGET").WithSummary("Get Program Members").WithMetadata(read);
        rest.MapGet("/leads/programs/{programId}.json", GetLeadsAsync).WithName("getLeadsByProgramIdUsingGET").WithSummary("Get Leads by Program Id").WithMetadata(read);
    }

    internal static JsonHttpResult<MarketoResponse<JsonObject>> Describe(HttpContext context)
    {
        var stamp = MarketoDateTime.Format(MarketingWorld.Programs[0].CreatedAt);
        var fields = new JsonArray();
        foreach (var f in ProgramMemberFields.All)
        {
            var field = new JsonObject { ["name"] = f.Name, ["displayName"] = f.Name, ["dataType"] = f.DataType };
            if (f.Length is { } length)
            {
                field["length"] = length;
            }

            field["updateable"] = false;
            field["crmManaged"] = false;
            fields.Add(field);
        }

        var description = new JsonObject
        {
            ["name"] = ProgramMemberFields.ObjectName,
            ["description"] = "Map for API program membership fields",
            ["createdAt"] = stamp,
            ["updatedAt"] = stamp,
            ["dedupeFields"] = new JsonArray([.. ProgramMemberFields.DedupeFields.Select(f => JsonValue.Create(f))]),
            ["searchableFields"] = new JsonArray([.. ProgramMemberFields.SearchableFields.Select(f => new JsonArray(JsonValue.Create(f)))]),
            ["fields"] = fields,
        };
        return MarketoHttp.Success(context, [description], LeadJsonContext.Wire.MarketoResponseJsonObject);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetMembersAsync(HttpContext context, string programId,
        [FromServices] IProgramMemberStore members)
    {
        if (ReadProgram(programId, out var program) is { } programError)
        {
            return Fail(context, programError);
        }

        var query = context.Request.Query;
        var filterType = query["filterType"].ToString().Trim();
        if (filterType.Length == 0)
        {
            return Fail(context, Missing("filterType"));
        }

        var subscriptionId = ApiCaller.Of(context).Subscription.Id;
        var read = new ProgramMemberQuery(subscriptionId, [program!.Id], 0);
        if (filterType == "updatedAt")
        {
            if (ReadRange(query, out var from, out var to) is { } rangeError)
            {
                return Fail(context, rangeError);
            }

            read = read with { UpdatedFrom = from, UpdatedTo = to };
        }
        else
        {
            if (ProgramMemberFields.Find(filterType) is null)
            {
                return Fail(context, new MarketoError("1006", $"Field '{MarketoHttp.Clip(filterType)}' not found"));
            }

            if (!ProgramMemberFields.SearchableFields.Contains(filterType))
            {
                return Fail(context, new MarketoError("1011", $"Field '{MarketoHttp.Clip(filterType)}' not supported"));
            }

            var raw = Split(query["filterValues"]).Distinct(StringComparer.Ordinal).ToList();
            if (raw.Count == 0)
            {
                return Fail(context, Missing("filterValues"));
            }

            if (raw.Count > MaxFilterValues)
            {
                return Fail(context, Invalid("filterValues", $"at most {MaxFilterValues} values"));
            }

            switch (filterType)
            {
                case "leadId":
                    var ids = new List<long>();
                    foreach (var value in raw)
                    {
                        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
                        {
                            return Fail(context, Mistyped(value, "integer"));
                        }

                        ids.Add(id);
                    }

                    read = read with { LeadIds = ids };
                    break;
                case "reachedSuccess":
                    if (raw.Count != 1 || !bool.TryParse(raw[0], out var success))
                    {
                        return Fail(context, Mistyped(string.Join(',', raw), "boolean"));
                    }

                    read = read with { ReachedSuccess = success };
                    break;
                default:
                    read = read with { StatusNames = raw };
                    break;
            }
        }

        if (ReadFields(query["fields"], ProgramMemberFields.DefaultFields, n => ProgramMemberFields.Find(n) is not null, out var fields) is { } fieldError)
        {
            return Fail(context, fieldError);
        }

        if (ReadPaging(query, out var batchSize, out var afterLead) is { } pagingError)
        {
            return Fail(context, pagingError);
        }

        var page = await members.ReadAsync(read with { AfterProgramId = program.Id, AfterLeadId = afterLead, Limit = batchSize + 1 }, context.RequestAborted);
        var more = page.Count > batchSize;
        var taken = more ? page.Take(batchSize).ToList() : page;
        var result = new List<JsonObject>(taken.Count);
        foreach (var member in taken)
        {
            var item = new JsonObject { ["seq"] = result.Count };
            foreach (var name in fields)
            {
                if (ProgramMemberFields.Find(name)!.Value(member, program) is { } value)
                {
                    item[name] = value is DateTimeOffset time ? MarketoDateTime.Format(time) : LeadValues.ToJson(value);
                }
            }

            result.Add(item);
        }

        return MarketoHttp.Success(context, result, LeadJsonContext.Wire.MarketoResponseJsonObject, nextPageToken: NextToken(more, taken), moreResult: more);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetLeadsAsync(HttpContext context, string programId,
        [FromServices] IProgramMemberStore members, [FromServices] ILeadStore leads)
    {
        if (ReadProgram(programId, out var program) is { } programError)
        {
            return Fail(context, programError);
        }

        var query = context.Request.Query;
        if (ReadFields(query["fields"], DefaultLeadFields, n => n is "id" or "createdAt" or "updatedAt" or "membership" || LeadColumns.Find(n) is not null,
                out var fields) is { } fieldError)
        {
            return Fail(context, fieldError);
        }

        if (ReadPaging(query, out var batchSize, out var afterLead) is { } pagingError)
        {
            return Fail(context, pagingError);
        }

        var subscriptionId = ApiCaller.Of(context).Subscription.Id;
        var page = await members.ReadAsync(
            new ProgramMemberQuery(subscriptionId, [program!.Id], batchSize + 1) { AfterProgramId = program.Id, AfterLeadId = afterLead }, context.RequestAborted);
        var more = page.Count > batchSize;
        var taken = more ? page.Take(batchSize).ToList() : page;
        var byId = (await leads.GetByIdsAsync(subscriptionId, [.. taken.Select(m => m.LeadId)], context.RequestAborted)).ToDictionary(l => l.Id);
        var result = new List<JsonObject>(taken.Count);
        foreach (var member in taken)
        {
            if (!byId.TryGetValue(member.LeadId, out var lead))
            {
                continue;
            }

            var item = new JsonObject { ["id"] = lead.Id };
            foreach (var name in fields)
            {
                switch (name)
                {
                    case "id" or "membership": break;
                    case "createdAt": item["createdAt"] = MarketoDateTime.Format(lead.CreatedAt); break;
                    case "updatedAt": item["updatedAt"] = MarketoDateTime.Format(lead.UpdatedAt); break;
                    default:
                        if (lead.Get(name) is { } value)
                        {
                            item[name] = LeadValues.ToJson(value);
                        }

                        break;
                }
            }

            item["membership"] = Membership(member, program);
            result.Add(item);
        }

        return MarketoHttp.Success(context, result, LeadJsonContext.Wire.MarketoResponseJsonObject, nextPageToken: NextToken(more, taken), moreResult: more);
    }

    /// <summary>
    /// The membership object of Get Leads by Program Id: always the status, acquiredBy, reachedSuccess and the dates;
    /// for an engagement program also its stream (track) and nurture cadence.
    /// </summary>
    internal static JsonObject Membership(ProgramMember member, MarketingProgram program)
    {
        var membership = new JsonObject
        {
            ["progressionStatus"] = member.StatusName,
            ["progressionStatusType"] = member.StatusName,
            ["isExhausted"] = member.IsExhausted,
            ["acquiredBy"] = member.AcquiredBy,
            ["reachedSuccess"] = member.ReachedSuccess,
            ["membershipDate"] = MarketoDateTime.Format(member.MembershipDate),
            ["updatedAt"] = MarketoDateTime.Format(member.UpdatedAt),
        };
        if (program.Type == "Engagement")
        {
            membership["stream"] = member.TrackName;
            membership["nurtureCadence"] = member.NurtureCadence;
        }

        return membership;
    }

    private static MarketoError? ReadProgram(string text, out MarketingProgram? program)
    {
        program = null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return Mistyped(text, "integer");
        }

        program = MarketingWorld.ProgramById(id);
        return program is null ? ProgramNotFound : null;
    }

    /// <summary><c>startAt</c> and <c>endAt</c> for the updatedAt filter: both required, ISO-8601, in order, at most seven days apart.</summary>
    private static MarketoError? ReadRange(IQueryCollection query, out DateTimeOffset from, out DateTimeOffset to)
    {
        from = to = default;
        foreach (var (name, index) in new[] { ("startAt", 0), ("endAt", 1) })
        {
            var text = query[name].ToString().Trim();
            if (text.Length == 0)
            {
                return Missing(name);
            }

            if (!MarketoDateTime.TryParse(text, out var value))
            {
                return Mistyped(text, "datetime");
            }

            (from, to) = index == 0 ? (value, to) : (from, value);
        }

        if (from > to)
        {
            return Invalid("startAt", "startAt is after endAt");
        }

        return to - from > TimeSpan.FromDays(MaxUpdatedDays) ? Invalid("endAt", $"the range exceeds {MaxUpdatedDays} days") : null;
    }

    private static MarketoError? ReadFields(StringValues values, IReadOnlyList<string> defaults, Func<string, bool> known, out IReadOnlyList<string> fields)
    {
        var names = new List<string>();
        foreach (var name in Split(values))
        {
            if (!known(name))
            {
                fields = [];
                return new MarketoError("1006", $"Field '{MarketoHttp.Clip(name)}' not found");
            }

            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        fields = names.Count == 0 ? defaults : names;
        return null;
    }

    /// <summary><c>batchSize</c> (1 to 300, 300 when absent; larger is read as 300) and the lead id a <c>nextPageToken</c> resumes after.</summary>
    private static MarketoError? ReadPaging(IQueryCollection query, out int batchSize, out long afterLead)
    {
        batchSize = MaxBatch;
        afterLead = 0;
        var batchText = query["batchSize"].ToString();
        if (batchText.Length > 0)
        {
            if (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out batchSize) || batchSize < 1)
            {
                return Invalid("batchSize", $"must be an integer from 1 to {MaxBatch}");
            }

            batchSize = Math.Min(batchSize, MaxBatch);
        }

        var token = query["nextPageToken"].ToString();
        if (token.Length > 0)
        {
            if (!ActivityPageToken.TryDecode(token, out var position) || position.Since != DateTimeOffset.UnixEpoch)
            {
                return Invalid("nextPageToken", "not a paging token of this call");
            }

            afterLead = position.AfterMarketoGuid;
        }

        return null;
    }

    private static string? NextToken(bool more, IReadOnlyList<ProgramMember> taken) =>
        more ? ActivityPageToken.Encode(new ActivityPosition(DateTimeOffset.UnixEpoch, taken[^1].LeadId)) : null;

    private static IEnumerable<string> Split(StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static MarketoError Missing(string member) => new("1002", $"Missing value for the required parameter '{member}'");

    private static MarketoError Mistyped(string value, string type) => new("1001", $"Invalid value '{MarketoHttp.Clip(value)}'. Required of type '{type}'");

    private static MarketoError Invalid(string member, string rule) => MarketoErrors.InvalidData($"Invalid value specified for attribute '{member}': {rule}");

    private static JsonHttpResult<MarketoResponse<JsonObject>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, LeadJsonContext.Wire.MarketoResponseJsonObject);
}
