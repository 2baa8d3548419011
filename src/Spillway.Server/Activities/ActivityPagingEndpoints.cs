using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Activities.Custom;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities;

/// <summary>
/// The paged REST activity endpoints: Get Paging Token, Get Lead Activities, Get Lead Changes,
/// Get Deleted Leads. Pages follow marketoGUID order; a token is the since-date and the last marketoGUID seen.
/// </summary>
internal static class ActivityPagingEndpoints
{
    public const int MaxBatchSize = 300;
    public const int MaxActivityTypeIds = 10;
    public const int MaxLeadIds = 30;

    /// <summary>From this day, a listId of 10,000 or more leads fails with 1003 (Marketo's REST swagger announces it).</summary>
    public static readonly DateTimeOffset LargeListCutoff = new(2026, 12, 30, 0, 0, 0, TimeSpan.Zero);

    public const int LargeList = 10_000;

    public static RouteGroupBuilder MapActivityPagingEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1/activities").WithTags("Activities").AddEndpointFilter<ApiAccessFilter>()
            .WithMetadata(new RequiresPermission(Permissions.ReadOnlyActivity));
        rest.MapGet("/pagingtoken.json", GetPagingToken).WithName("getActivitiesPagingTokenUsingGET").WithSummary("Get Paging Token");
        app.MapGet("/rest/v1/activities.json", GetLeadActivitiesAsync).WithName("getLeadActivitiesUsingGET").WithSummary("Get Lead Activities")
            .WithTags("Activities").AddEndpointFilter<ApiAccessFilter>().WithMetadata(new RequiresPermission(Permissions.ReadOnlyActivity));
        rest.MapGet("/leadchanges.json", GetLeadChangesAsync).WithName("getLeadChangesUsingGET").WithSummary("Get Lead Changes");
        rest.MapGet("/deletedleads.json", GetDeletedLeadsAsync).WithName("getDeletedLeadsUsingGET").WithSummary("Get Deleted Leads");
        return rest;
    }

    internal static JsonHttpResult<MarketoResponse<LeadActivity>> GetPagingToken(HttpContext context)
    {
        var text = context.Request.Query["sinceDatetime"].ToString();
        if (text.Length == 0)
        {
            return Fail(context, Missing("sinceDatetime"));
        }

        if (!MarketoDateTime.TryParse(text, out var since))
        {
            return Fail(context, new MarketoError("704", "Invalid date format"));
        }

        return MarketoHttp.Success(context, null!, ServerJsonContext.Wire.MarketoResponseLeadActivity,
            nextPageToken: ActivityPageToken.Encode(new ActivityPosition(since, 0)));
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadActivity>>> GetLeadActivitiesAsync(HttpContext context,
        [FromServices] IActivityPageReader reader, ActivityTypeRegistry registry)
    {
        var caller = ApiCaller.Of(context);
        var query = context.Request.Query;
        var (common, error) = await ReadCommonAsync(context, reader, caller.Subscription.Id);
        if (common is null)
        {
            return Fail(context, error!);
        }

        if (!TryLongs(query["activityTypeIds"], "activityTypeIds", out var typeIds, out error))
        {
            return Fail(context, error!);
        }

        if (typeIds.Count == 0)
        {
            return Fail(context, Missing("activityTypeIds"));
        }

        if (typeIds.Count > MaxActivityTypeIds)
        {
            return Fail(context, Invalid("activityTypeIds", $"at most {MaxActivityTypeIds} activity type ids"));
        }

        var types = await registry.GetAsync(caller.Subscription.Id, context.RequestAborted);
        foreach (var id in typeIds)
        {
            if (id is < int.MinValue or > int.MaxValue || !types.IsKnown((int)id))
            {
                return Fail(context, Invalid("activityTypeIds", $"{id} is not a known activity type"));
            }
        }

        if (!TryLongs(query["assetIds"], "assetIds", out var assetIds, out error))
        {
            return Fail(context, error!);
        }

        if (assetIds.Count > 0 && typeIds.Count != 1)
        {
            return Fail(context, Invalid("assetIds", "assetIds can only be used with a single activity type"));
        }

        var page = await reader.ReadPageAsync(common.Query(typeIds.Select(t => (int)t).ToList(), assetIds.Count > 0 ? assetIds : null),
            context.RequestAborted);
        return Page(context, common, page, row => ToWire(row, types));
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadActivity>>> GetLeadChangesAsync(HttpContext context,
        [FromServices] IActivityPageReader reader, [FromServices] ILeadFieldStore fieldStore)
    {
        var caller = ApiCaller.Of(context);
        var (common, error) = await ReadCommonAsync(context, reader, caller.Subscription.Id);
        if (common is null)
        {
            return Fail(context, error!);
        }

        var fields = new List<LeadField>();
        var custom = await fieldStore.ListCustomFieldsAsync(caller.Subscription.Id, context.RequestAborted);
        foreach (var name in Split(context.Request.Query["fields"]))
        {
            var field = LeadFields.FindByRestName(name) ?? custom.FirstOrDefault(f => f.Rest!.Name == name);
            if (field is null)
            {
                return Fail(context, new MarketoError("1006", $"Field '{MarketoHttp.Clip(name)}' not found"));
            }

            if (!fields.Contains(field))
            {
                fields.Add(field);
            }
        }

        if (fields.Count == 0)
        {
            return Fail(context, Missing("fields"));
        }

        // New Lead (12) has no field to filter by, so it is read on its own and merged in marketoGUID order: both reads
        // start after the same position, so the first batchSize + 1 of the merge are the page.
        var changes = await reader.ReadPageAsync(common.Query([StandardActivityTypes.ChangeDataValue], [.. fields.Select(f => (long)f.Id)]),
            context.RequestAborted);
        var created = await reader.ReadPageAsync(common.Query([StandardActivityTypes.NewLead], null), context.RequestAborted);
        var page = changes.Concat(created).OrderBy(r => r.MarketoGuid).Take(common.BatchSize + 1).ToList();
        return Page(context, common, page, row => LeadChange(row, custom));
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadActivity>>> GetDeletedLeadsAsync(HttpContext context,
        [FromServices] IActivityPageReader reader)
    {
        var caller = ApiCaller.Of(context);
        var (common, error) = await ReadCommonAsync(context, reader, caller.Subscription.Id, allowLeadFilters: false);
        if (common is null)
        {
            return Fail(context, error!);
        }

        var page = await reader.ReadPageAsync(common.Query([StandardActivityTypes.DeleteLead], null), context.RequestAborted);
        return Page(context, common, page, row => ToWire(row, null) with { Attributes = [] });
    }

    /// <summary>The parameters every paged endpoint shares: nextPageToken, batchSize, and (but for deleted leads) leadIds or listId.</summary>
    private sealed record CommonParameters(int SubscriptionId, ActivityPosition Position, int BatchSize, IReadOnlyList<long>? LeadIds)
    {
        public ActivityPageQuery Query(IReadOnlyList<int> typeIds, IReadOnlyList<long>? primaryIds) =>
            new(SubscriptionId, Position.Since, Position.AfterMarketoGuid, typeIds, primaryIds, LeadIds, BatchSize + 1);
    }

    private static async Task<(CommonParameters?, MarketoError?)> ReadCommonAsync(HttpContext context, IActivityPageReader reader, int subscriptionId,
        bool allowLeadFilters = true)
    {
        var query = context.Request.Query;
        var token = query["nextPageToken"].ToString();
        if (token.Length == 0)
        {
            return (null, Missing("nextPageToken"));
        }

        if (!ActivityPageToken.TryDecode(token, out var position))
        {
            return (null, Invalid("nextPageToken", "not a paging token"));
        }

        var batchSize = MaxBatchSize;
        var batchText = query["batchSize"].ToString();
        if (batchText.Length > 0)
        {
            if (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out batchSize) || batchSize < 1)
            {
                return (null, Invalid("batchSize", $"must be an integer from 1 to {MaxBatchSize}"));
            }

            batchSize = Math.Min(batchSize, MaxBatchSize);
        }

        IReadOnlyList<long>? leadIds = null;
        if (allowLeadFilters)
        {
            if (!TryLongs(query["leadIds"], "leadIds", out var ids, out var error))
            {
                return (null, error);
            }

            if (ids.Count > MaxLeadIds)
            {
                return (null, Invalid("leadIds", $"at most {MaxLeadIds} lead ids"));
            }

            var listText = query["listId"].ToString();
            if (listText.Length > 0)
            {
                if (ids.Count > 0)
                {
                    return (null, Invalid("listId", "listId and leadIds cannot be used together"));
                }

                if (!long.TryParse(listText, NumberStyles.None, CultureInfo.InvariantCulture, out var listId))
                {
                    return (null, Mistyped(listText, "integer"));
                }

                var lists = context.RequestServices.GetRequiredService<IListStore>();
                if (await lists.FindListAsync(subscriptionId, listId, context.RequestAborted) is null)
                {
                    return (null, new MarketoError("1013", "Static list not found"));
                }

                leadIds = await lists.GetMembersAsync(subscriptionId, listId, 0, int.MaxValue, context.RequestAborted);
                var clock = context.RequestServices.GetRequiredService<ISubscriptionClock>();
                if (leadIds.Count >= LargeList && clock.NowOf(subscriptionId) >= LargeListCutoff)
                {
                    return (null, Invalid("listId", $"the list has {LargeList:N0} or more leads"));
                }
            }
            else if (ids.Count > 0)
            {
                leadIds = ids;
            }
        }

        return (new CommonParameters(subscriptionId, position, batchSize, leadIds), null);
    }

    private static JsonHttpResult<MarketoResponse<LeadActivity>> Page(HttpContext context, CommonParameters common, IReadOnlyList<ActivityRecord> rows,
        Func<ActivityRecord, LeadActivity> view)
    {
        var more = rows.Count > common.BatchSize;
        var taken = more ? rows.Take(common.BatchSize).ToList() : rows;
        var position = taken.Count == 0 ? common.Position : common.Position with { AfterMarketoGuid = taken[^1].MarketoGuid };
        return MarketoHttp.Success(context, [.. taken.Select(view)], ServerJsonContext.Wire.MarketoResponseLeadActivity,
            nextPageToken: ActivityPageToken.Encode(position), moreResult: more);
    }

    private static LeadActivity ToWire(ActivityRecord row, ActivityTypeSet? types)
    {
        var custom = types?.Custom(row.ActivityTypeId)?.Approved;
        var attributes = new List<ActivityAttributeValue>();
        using (var json = JsonDocument.Parse(row.Attributes))
        {
            foreach (var property in json.RootElement.EnumerateObject())
            {
                attributes.Add(new ActivityAttributeValue
                {
                    ApiName = custom?.Attributes.FirstOrDefault(a => a.Name == property.Name)?.ApiName,
                    Name = property.Name,
                    Value = property.Value.Clone(),
                });
            }
        }

        return new LeadActivity
        {
            Id = row.MarketoGuid,
            MarketoGuid = row.MarketoGuid.ToString(CultureInfo.InvariantCulture),
            LeadId = row.LeadId,
            ActivityDate = row.ActivityDate,
            ActivityTypeId = row.ActivityTypeId,
            CampaignId = row.CampaignId,
            PrimaryAttributeValueId = row.PrimaryAttributeValueId,
            PrimaryAttributeValue = row.PrimaryAttributeValue,
            Attributes = attributes,
        };
    }

    /// <summary>
    /// A row as Get Lead Changes shows it: a Change Data Value with its field change in <c>fields</c> and the other
    /// attributes beside it; a New Lead with empty <c>fields</c> and its attributes.
    /// </summary>
    private static LeadActivity LeadChange(ActivityRecord row, IReadOnlyList<LeadField> custom)
    {
        var full = ToWire(row, null);
        if (row.ActivityTypeId == StandardActivityTypes.NewLead)
        {
            return full with { CampaignId = null, PrimaryAttributeValueId = null, PrimaryAttributeValue = null, Fields = [] };
        }

        var field = row.PrimaryAttributeValueId is { } id ? LeadFields.Find((int)id) ?? custom.FirstOrDefault(f => f.Id == id) : null;
        JsonElement? newValue = null, oldValue = null;
        var others = new List<ActivityAttributeValue>();
        foreach (var a in full.Attributes)
        {
            switch (a.Name)
            {
                case "New Value": newValue = a.Value; break;
                case "Old Value": oldValue = a.Value; break;
                default: others.Add(a); break;
            }
        }

        return full with
        {
            CampaignId = null,
            PrimaryAttributeValueId = null,
            PrimaryAttributeValue = null,
            Fields = [new LeadFieldChange((int)(row.PrimaryAttributeValueId ?? 0), field?.Rest?.Name ?? row.PrimaryAttributeValue ?? "", newValue, oldValue)],
            Attributes = others,
        };
    }

    private static IEnumerable<string> Split(StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static bool TryLongs(StringValues values, string member, out List<long> result, out MarketoError? error)
    {
        result = [];
        error = null;
        foreach (var part in Split(values))
        {
            if (!long.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                error = Mistyped(part, "integer");
                return false;
            }

            if (!result.Contains(value))
            {
                result.Add(value);
            }
        }

        return true;
    }

    private static MarketoError Missing(string member) => new("1002", $"Missing value for the required parameter '{member}'");

    private static MarketoError Mistyped(string value, string type) => new("1001", $"Invalid value '{MarketoHttp.Clip(value)}'. Required of type '{type}'");

    private static MarketoError Invalid(string member, string rule) => MarketoErrors.InvalidData($"Invalid value specified for attribute '{member}': {rule}");

    private static JsonHttpResult<MarketoResponse<LeadActivity>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, ServerJsonContext.Wire.MarketoResponseLeadActivity);
}

/// <summary>A position in a subscription's activities: on or after <paramref name="Since"/>, after <paramref name="AfterMarketoGuid"/>.</summary>
internal sealed record ActivityPosition(DateTimeOffset Since, long AfterMarketoGuid);

/// <summary>
/// Paging tokens of the activity endpoints: RFC 4648 base32 (upper case, no padding; padding is accepted) of
/// <c>&lt;since as yyyy-MM-ddTHH:mm:ssZ&gt;,&lt;last marketoGUID&gt;</c>. They hold no server state, so they stay valid
/// across restarts and on every node.
/// </summary>
internal static class ActivityPageToken
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Encode(ActivityPosition position)
    {
        var bytes = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{MarketoDateTime.Format(position.Since)},{position.AfterMarketoGuid}"));
        var text = new StringBuilder((bytes.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }

    public static bool TryDecode(string token, out ActivityPosition position)
    {
        position = new ActivityPosition(default, 0);
        token = token.Trim().TrimEnd('=');
        if (token.Length is 0 or > 128)
        {
            return false;
        }

        var bytes = new List<byte>(token.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in token)
        {
            var v = Alphabet.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);
            if (v < 0)
            {
                return false;
            }

            buffer = ((buffer << 5) | v) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        var parts = Encoding.ASCII.GetString([.. bytes]).Split(',');
        if (parts.Length != 2 || !MarketoDateTime.TryParse(parts[0], out var since)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var after))
        {
            return false;
        }

        position = new ActivityPosition(since, after);
        return true;
    }
}
