using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Primitives;
using Spillway.Contracts;
using Spillway.Server.Activities;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Activities.Custom;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Lists;

/// <summary>
/// Static lists as the Lead Database API serves them (Get Lists, Get List by Id, Get Leads by List, Add to List, Remove
/// from List, Member of List) and as the Asset API browses them, and the seeded smart lists (Asset API, read-only).
/// A membership change writes Add to List (24) or Remove from List (25) for each lead whose membership changed, at the
/// subscription clock's now.
/// </summary>
internal static class ListEndpoints
{
    public const int MaxBatch = 300;
    public const int MaxIds = 300;

    /// <summary>What a list id that names no static list of the subscription answers.</summary>
    public static MarketoError ListNotFound { get; } = new("1013", "Static list not found");

    public static void MapListEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1").WithTags("Static Lists").AddEndpointFilter<ApiAccessFilter>();
        var read = new RequiresPermission(Permissions.ReadOnlyLead);
        var write = new RequiresPermission(Permissions.ReadWriteLead);
        rest.MapGet("/lists.json", GetListsAsync).WithName("getListsUsingGET").WithSummary("Get Lists").WithMetadata(read);
        rest.MapGet("/lists/{listId}.json", GetListByIdAsync).WithName("getListByIdUsingGET").WithSummary("Get List by Id").WithMetadata(read);
        rest.MapGet("/lists/{listId}/leads.json", GetLeadsAsync).WithName("getLeadsByListIdUsingGET").WithSummary("Get Leads By List Id")
            .WithMetadata(read);
        rest.MapGet("/list/{listId}/leads.json", GetLeadsAsync).WithName("getLeadsByListIdUsingGET_1").WithSummary("Get Leads By List Id")
            .WithMetadata(read);
        rest.MapPost("/lists/{listId}/leads.json", AddAsync).WithName("addLeadsToListUsingPOST").WithSummary("Add to List").WithMetadata(write);
        rest.MapDelete("/lists/{listId}/leads.json", RemoveAsync).WithName("removeLeadsFromListUsingDELETE").WithSummary("Remove from List")
            .WithMetadata(write);
        rest.MapGet("/lists/{listId}/leads/ismember.json", IsMemberAsync).WithName("areLeadsMemberOfListUsingGET").WithSummary("Member of List")
            .WithMetadata(read);

        var asset = app.MapGroup("/rest/asset/v1").WithTags("Assets").AddEndpointFilter<ApiAccessFilter>()
            .WithMetadata(new RequiresPermission(Permissions.ReadOnlyAssets));
        asset.MapGet("/staticLists.json", BrowseStaticListsAsync).WithName("getStaticListsUsingGET").WithSummary("Get Static Lists");
        asset.MapGet("/staticList/{id}.json", StaticListByIdAsync).WithName("getStaticListByIdUsingGET").WithSummary("Get Static List by Id");
        asset.MapGet("/staticList/byName.json", StaticListByNameAsync).WithName("getStaticListByNameUsingGET").WithSummary("Get Static List by Name");
        asset.MapGet("/smartLists.json", BrowseSmartListsAsync).WithName("getSmartListsUsingGET").WithSummary("Get Smart Lists");
        asset.MapGet("/smartList/{id}.json", SmartListByIdAsync).WithName("getSmartListByIdUsingGET").WithSummary("Get Smart List by Id");
    }

    /// <summary>Get Lists: every filter is a comma list or a repeated parameter; filters AND together, values of one filter OR.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetListsAsync(HttpContext context, [FromServices] IListStore lists)
    {
        var query = context.Request.Query;
        if (!TryPaging(query, out var batchSize, out var after, out var error))
        {
            return Fail(context, error!);
        }

        var ids = new HashSet<long>();
        foreach (var raw in Split(query["id"]))
        {
            if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return Fail(context, Mistyped(raw, "integer"));
            }

            ids.Add(id);
        }

        var names = Split(query["name"]).ToHashSet(StringComparer.Ordinal);
        var programs = Split(query["programName"]).ToHashSet(StringComparer.Ordinal);
        var workspaces = Split(query["workspaceName"]).ToHashSet(StringComparer.Ordinal);
        var matching = (await lists.GetListsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted))
            .Where(l => l.Id > after && (ids.Count == 0 || ids.Contains(l.Id)) && (names.Count == 0 || names.Contains(l.Name))
                && (programs.Count == 0 || (l.ProgramName is { } program && programs.Contains(program)))
                && (workspaces.Count == 0 || workspaces.Contains(Workspace)))
            .Take(batchSize + 1).ToList();
        var more = matching.Count > batchSize;
        var page = more ? matching.Take(batchSize).ToList() : matching;
        return MarketoHttp.Success(context, [.. page.Select(ListJson)], LeadJsonContext.Wire.MarketoResponseJsonObject,
            nextPageToken: more ? Token(page[^1].Id) : null);
    }

    private static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetListByIdAsync(HttpContext context, string listId,
        [FromServices] IListStore lists)
    {
        var (list, error) = await FindAsync(context, lists, listId);
        return list is null ? Fail(context, error!) : MarketoHttp.Success(context, [ListJson(list)], LeadJsonContext.Wire.MarketoResponseJsonObject);
    }

    /// <summary>Get Leads by List: the list's members in lead id order, with the requested fields (the lead reads' default set when none).</summary>
    private static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetLeadsAsync(HttpContext context, string listId,
        [FromServices] IListStore lists, [FromServices] ILeadStore leads, [FromServices] ILeadFieldStore fieldStore)
    {
        var (list, error) = await FindAsync(context, lists, listId);
        if (list is null)
        {
            return Fail(context, error!);
        }

        if (!LeadEndpoints.TryFields(context.Request.Query["fields"], await LeadEndpoints.CustomColumnsAsync(context, fieldStore), out var fields, out error)
            || !TryPaging(context.Request.Query, out var batchSize, out var after, out error))
        {
            return Fail(context, error!);
        }

        var subscriptionId = ApiCaller.Of(context).Subscription.Id;
        var members = await lists.GetMembersAsync(subscriptionId, list.Id, after, batchSize + 1, context.RequestAborted);
        var more = members.Count > batchSize;
        var page = more ? members.Take(batchSize).ToList() : members;
        var found = await leads.GetByIdsAsync(subscriptionId, page, context.RequestAborted);
        return MarketoHttp.Success(context, [.. found.Select(l => LeadEndpoints.ToWire(l, fields))], LeadJsonContext.Wire.MarketoResponseJsonObject,
            nextPageToken: more ? Token(page[^1]) : null);
    }

    /// <summary>Add to List: per id, added (also when the lead already is a member) or skipped with 1004 when no such lead exists.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> AddAsync(HttpContext context, string listId,
        [FromServices] IListStore lists, [FromServices] IActivityWriter activities, [FromServices] ISubscriptionClock clock)
    {
        var (list, ids, error) = await ReadChangeAsync(context, lists, listId);
        if (list is null)
        {
            return WriteFail(context, error!);
        }

        var caller = ApiCaller.Of(context);
        var now = clock.NowOf(caller.Subscription.Id);
        var change = await lists.AddMembersAsync(caller.Subscription.Id, list.Id, ids, now, context.RequestAborted);
        await LogAsync(context, activities, list, change.Changed, StandardActivityTypes.AddToList, "addLeadsToList", now);
        return MarketoHttp.Success<LeadWriteResult>(context,
            [.. ids.Select(id => change.Missing.Contains(id) ? LeadNotFound(id) : new LeadWriteResult { Id = id, Status = "added" })],
            LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
    }

    /// <summary>
    /// Remove from List: per id, removed, skipped with 1015 when the lead is not in the list, or 1004 when no such lead
    /// exists. An id given twice is removed once and then not in the list, as two calls would answer.
    /// </summary>
    private static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> RemoveAsync(HttpContext context, string listId,
        [FromServices] IListStore lists, [FromServices] IActivityWriter activities, [FromServices] ISubscriptionClock clock)
    {
        var (list, ids, error) = await ReadChangeAsync(context, lists, listId);
        if (list is null)
        {
            return WriteFail(context, error!);
        }

        var caller = ApiCaller.Of(context);
        var now = clock.NowOf(caller.Subscription.Id);
        var change = await lists.RemoveMembersAsync(caller.Subscription.Id, list.Id, ids, context.RequestAborted);
        await LogAsync(context, activities, list, change.Changed, StandardActivityTypes.RemoveFromList, "removeLeadsFromList", now);
        var removed = change.Changed.ToHashSet();
        return MarketoHttp.Success<LeadWriteResult>(context,
            [.. ids.Select(id => change.Missing.Contains(id) ? LeadNotFound(id)
                : removed.Remove(id) ? new LeadWriteResult { Id = id, Status = "removed" }
                : LeadWriteResult.Skipped(id, new MarketoError("1015", "Lead not in list")))],
            LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
    }

    /// <summary>Member of List: per id, memberof, notmemberof, or skipped with 1004 when no such lead exists.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> IsMemberAsync(HttpContext context, string listId,
        [FromServices] IListStore lists, [FromServices] ILeadStore leads)
    {
        var (list, ids, error) = await ReadChangeAsync(context, lists, listId, allowBody: false);
        if (list is null)
        {
            return WriteFail(context, error!);
        }

        var subscriptionId = ApiCaller.Of(context).Subscription.Id;
        var distinct = ids.Distinct().ToList();
        var existing = (await leads.GetByIdsAsync(subscriptionId, distinct, context.RequestAborted)).Select(l => l.Id).ToHashSet();
        var members = await lists.MembersAmongAsync(subscriptionId, list.Id, distinct, context.RequestAborted);
        return MarketoHttp.Success<LeadWriteResult>(context,
            [.. ids.Select(id => !existing.Contains(id) ? LeadNotFound(id)
                : new LeadWriteResult { Id = id, Status = members.Contains(id) ? "memberof" : "notmemberof" })],
            LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
    }

    /// <summary>Browse: offset and maxReturn as the other asset lists; earliestUpdatedAt and latestUpdatedAt bound updatedAt, both inclusive.</summary>
    private static async Task<JsonHttpResult<JsonObject>> BrowseStaticListsAsync(HttpContext context, [FromServices] IListStore lists)
    {
        if (!TryAssetPaging(context, out var offset, out var maxReturn, out var error)
            || !TryTime(context, "earliestUpdatedAt", out var earliest, out error)
            || !TryTime(context, "latestUpdatedAt", out var latest, out error))
        {
            return AssetEndpoints.AssetFailure(context, error!);
        }

        var all = await lists.GetListsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return AssetEndpoints.AssetSuccess(context, [.. all.Where(l => (earliest is null || l.UpdatedAt >= earliest) && (latest is null || l.UpdatedAt <= latest))
            .Skip(offset).Take(maxReturn).Select(AssetListJson)]);
    }

    private static bool TryTime(HttpContext context, string name, out DateTimeOffset? time, out MarketoError? error)
    {
        time = null;
        error = null;
        var raw = context.Request.Query[name].ToString();
        if (raw.Length == 0)
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            error = Mistyped(raw, "datetime");
            return false;
        }

        time = value;
        return true;
    }

    private static async Task<JsonHttpResult<JsonObject>> StaticListByIdAsync(HttpContext context, string id, [FromServices] IListStore lists)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var listId))
        {
            return AssetEndpoints.AssetFailure(context, Mistyped(id, "integer"));
        }

        var list = await lists.FindListAsync(ApiCaller.Of(context).Subscription.Id, listId, context.RequestAborted);
        return AssetEndpoints.AssetSuccess(context, list is null ? [] : [AssetListJson(list)]);
    }

    private static async Task<JsonHttpResult<JsonObject>> StaticListByNameAsync(HttpContext context, [FromServices] IListStore lists)
    {
        var name = context.Request.Query["name"].ToString();
        if (name.Length == 0)
        {
            return AssetEndpoints.AssetFailure(context, new MarketoError("701", "name cannot be blank"));
        }

        var all = await lists.GetListsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return AssetEndpoints.AssetSuccess(context, [.. all.Where(l => string.Equals(l.Name, name, StringComparison.Ordinal)).Select(AssetListJson)]);
    }

    private static async Task<JsonHttpResult<JsonObject>> BrowseSmartListsAsync(HttpContext context, [FromServices] IListStore lists)
    {
        if (!TryAssetPaging(context, out var offset, out var maxReturn, out var error))
        {
            return AssetEndpoints.AssetFailure(context, error!);
        }

        var all = await lists.GetSmartListsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return AssetEndpoints.AssetSuccess(context, [.. all.Skip(offset).Take(maxReturn).Select(l => SmartListJson(l, rules: false))]);
    }

    private static async Task<JsonHttpResult<JsonObject>> SmartListByIdAsync(HttpContext context, string id, [FromServices] IListStore lists)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var listId))
        {
            return AssetEndpoints.AssetFailure(context, Mistyped(id, "integer"));
        }

        var includeRules = false;
        var raw = context.Request.Query["includeRules"].ToString();
        if (raw.Length > 0 && !bool.TryParse(raw, out includeRules))
        {
            return AssetEndpoints.AssetFailure(context, Mistyped(raw, "boolean"));
        }

        var all = await lists.GetSmartListsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);
        return AssetEndpoints.AssetSuccess(context, [.. all.Where(l => l.Id == listId).Select(l => SmartListJson(l, includeRules))]);
    }

    /// <summary>The list id from the path and the lead ids of a membership call, checked in that order: the list, then the ids.</summary>
    private static async Task<(StaticList? List, List<long> Ids, MarketoError? Error)> ReadChangeAsync(HttpContext context, IListStore lists,
        string listId, bool allowBody = true)
    {
        var (list, error) = await FindAsync(context, lists, listId);
        if (list is null)
        {
            return (null, [], error);
        }

        var ids = new List<long>();
        var query = context.Request.Query["id"];
        if (query.Count > 0)
        {
            foreach (var raw in Split(query))
            {
                if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    return (null, [], Mistyped(raw, "integer"));
                }

                ids.Add(id);
            }
        }
        else if (allowBody && (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0))
        {
            // The body form Marketo also takes: {"input":[{"id":1},{"id":2}]}.
            var (document, bodyError) = await CustomActivityEndpoints.ReadJsonAsync(context);
            if (document is null)
            {
                return (null, [], bodyError);
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("input", out var input)
                    || input.ValueKind != JsonValueKind.Array)
                {
                    return (null, [], Missing("input"));
                }

                foreach (var item in input.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number
                        || !id.TryGetInt64(out var value) || value < 0)
                    {
                        return (null, [], MarketoErrors.InvalidData("Invalid value specified for attribute 'input': every record needs an integer id"));
                    }

                    ids.Add(value);
                }
            }
        }

        if (ids.Count == 0)
        {
            return (null, [], Missing("id"));
        }

        return ids.Count > MaxIds
            ? (null, [], MarketoErrors.InvalidData($"Invalid value specified for attribute 'id': at most {MaxIds} ids per call"))
            : (list, ids, null);
    }

    private static async Task<(StaticList? List, MarketoError? Error)> FindAsync(HttpContext context, IListStore lists, string listId)
    {
        if (!long.TryParse(listId, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return (null, Mistyped(listId, "integer"));
        }

        var list = await lists.FindListAsync(ApiCaller.Of(context).Subscription.Id, id, context.RequestAborted);
        return list is null ? (null, ListNotFound) : (list, null);
    }

    /// <summary>Add to List (24) or Remove from List (25) per changed lead: the list's id and name as primary attribute, as the seeded activities write them.</summary>
    private static async Task LogAsync(HttpContext context, IActivityWriter activities, StaticList list, IReadOnlyList<long> changed, int typeId,
        string method, DateTimeOffset now)
    {
        if (changed.Count == 0)
        {
            return;
        }

        var caller = ApiCaller.Of(context);
        var attributes = new JsonObject
        {
            ["Source"] = "Web service API",
            ["API Method Name"] = method,
            ["Modifying User"] = caller.User.Email,
            ["Request Id"] = context.RequestId(),
        }.ToJsonString(LeadJsonContext.Wire.Options);
        await activities.AppendNewAsync(caller.Subscription.Id,
            [.. changed.Select(lead => new ActivityRecord(0, lead, now, typeId, null, list.Id, list.Name, attributes, null))], context.RequestAborted);
    }

    private static bool TryPaging(IQueryCollection query, out int batchSize, out long after, out MarketoError? error)
    {
        batchSize = MaxBatch;
        after = 0;
        error = null;
        var batchText = query["batchSize"].ToString();
        if (batchText.Length > 0)
        {
            if (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out batchSize) || batchSize < 1)
            {
                error = MarketoErrors.InvalidData($"Invalid value specified for attribute 'batchSize': must be an integer from 1 to {MaxBatch}");
                return false;
            }

            batchSize = Math.Min(batchSize, MaxBatch);
        }

        var token = query["nextPageToken"].ToString();
        if (token.Length > 0)
        {
            if (!ActivityPageToken.TryDecode(token, out var position) || position.Since != DateTimeOffset.UnixEpoch)
            {
                error = MarketoErrors.InvalidData("Invalid value specified for attribute 'nextPageToken': not a paging token of this call");
                return false;
            }

            after = position.AfterMarketoGuid;
        }

        return true;
    }

    private static bool TryAssetPaging(HttpContext context, out int offset, out int maxReturn, out MarketoError? error)
    {
        offset = 0;
        maxReturn = AssetEndpoints.DefaultMaxReturn;
        error = null;
        var offsetText = context.Request.Query["offset"].ToString();
        var maxText = context.Request.Query["maxReturn"].ToString();
        if ((offsetText.Length > 0 && !int.TryParse(offsetText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out offset))
            || (maxText.Length > 0 && !int.TryParse(maxText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out maxReturn)))
        {
            error = Mistyped(offsetText.Length > 0 && !int.TryParse(offsetText, CultureInfo.InvariantCulture, out _) ? offsetText : maxText, "integer");
            return false;
        }

        if (maxReturn is < 1 or > AssetEndpoints.MaxMaxReturn)
        {
            error = MarketoErrors.InvalidData($"maxReturn must be between 1 and {AssetEndpoints.MaxMaxReturn}");
            return false;
        }

        if (offset < 0)
        {
            error = MarketoErrors.InvalidData("offset must not be negative");
            return false;
        }

        return true;
    }

    private const string Workspace = "Default";

    private static string Token(long afterId) => ActivityPageToken.Encode(new ActivityPosition(DateTimeOffset.UnixEpoch, afterId));

    private static JsonObject ListJson(StaticList list)
    {
        var item = new JsonObject { ["id"] = list.Id, ["name"] = list.Name };
        if (list.Description is { } description)
        {
            item["description"] = description;
        }

        if (list.ProgramName is { } program)
        {
            item["programName"] = program;
        }

        item["workspaceName"] = Workspace;
        item["createdAt"] = MarketoDateTime.Format(list.CreatedAt);
        item["updatedAt"] = MarketoDateTime.Format(list.UpdatedAt);
        return item;
    }

    private static JsonObject AssetListJson(StaticList list)
    {
        var item = new JsonObject { ["id"] = list.Id, ["name"] = list.Name };
        if (list.Description is { } description)
        {
            item["description"] = description;
        }

        item["createdAt"] = AssetEndpoints.AssetTime(list.CreatedAt);
        item["updatedAt"] = AssetEndpoints.AssetTime(list.UpdatedAt);
        item["folder"] = list.ProgramId is { } program
            ? new JsonObject { ["id"] = program, ["type"] = "Program" }
            : new JsonObject { ["id"] = 13, ["type"] = "Folder" };
        item["workspace"] = Workspace;
        item["computedUrl"] = $"https://app-spillway.marketo.com/#ST{list.Id}A1";
        return item;
    }

    private static JsonObject SmartListJson(SmartList list, bool rules)
    {
        var item = new JsonObject
        {
            ["id"] = list.Id,
            ["name"] = list.Name,
            ["description"] = list.Description ?? "",
            ["createdAt"] = AssetEndpoints.AssetTime(list.CreatedAt),
            ["updatedAt"] = AssetEndpoints.AssetTime(list.UpdatedAt),
            ["url"] = $"https://app-spillway.marketo.com/#SL{list.Id}A1LA1",
            ["folder"] = new JsonObject { ["id"] = 14, ["type"] = "Folder" },
            ["workspace"] = Workspace,
        };
        if (rules)
        {
            var field = list.Rule.Column.Field;
            item["rules"] = new JsonObject
            {
                ["filterMatchType"] = "all",
                ["triggers"] = new JsonArray(),
                ["filters"] = new JsonArray(new JsonObject
                {
                    ["id"] = 1,
                    ["name"] = field.DisplayName,
                    ["ruleTypeId"] = field.Id,
                    ["ruleType"] = field.DisplayName,
                    ["operator"] = list.Rule.Operator switch
                    {
                        SmartListOperator.Is => "is",
                        SmartListOperator.EndsWith => "ends with",
                        _ => "at least",
                    },
                    ["conditions"] = new JsonArray(new JsonObject { ["operator"] = "is", ["values"] = new JsonArray(list.Rule.Value), ["isPrimary"] = true }),
                }),
            };
        }

        return item;
    }

    private static LeadWriteResult LeadNotFound(long id) => LeadWriteResult.Skipped(id, new MarketoError("1004", "Lead not found"));

    private static IEnumerable<string> Split(StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static MarketoError Missing(string member) => new("1002", $"Missing value for the required parameter '{member}'");

    private static MarketoError Mistyped(string value, string type) => new("1001", $"Invalid value '{MarketoHttp.Clip(value)}'. Required of type '{type}'");

    private static JsonHttpResult<MarketoResponse<JsonObject>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, LeadJsonContext.Wire.MarketoResponseJsonObject);

    private static JsonHttpResult<MarketoResponse<LeadWriteResult>> WriteFail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
}
