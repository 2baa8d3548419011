using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
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

namespace Spillway.Server.Leads;

/// <summary>
/// Marketo's lead database endpoints: Describe Lead (describe.json, describe2.json), Get Lead by Id, Get Leads by
/// Filter Type, Sync Leads and Delete Leads. Every write also writes the activities Marketo writes: New Lead (12) for
/// a created lead, Change Data Value (13) per changed field, Delete Lead (37) per deleted lead.
/// </summary>
internal static class LeadEndpoints
{
    public const int MaxBatch = 300;
    public const int MaxFilterValues = 300;

    /// <summary>More matches than this and Get Leads by Filter Type answers 1003 instead of a page.</summary>
    public const int MaxFilterMatches = 1000;

    /// <summary>The fields a lead read returns when the request names none.</summary>
    public static readonly IReadOnlyList<string> DefaultFields = ["id", "email", "updatedAt", "createdAt", "firstName", "lastName"];

    /// <summary>The fields Get Leads by Filter Type and a sync's lookupField accept: the key and the deduplicating email.</summary>
    public static readonly IReadOnlyList<string> SearchableFields = ["email", "id"];

    public static RouteGroupBuilder MapLeadEndpoints(this IEndpointRouteBuilder app)
    {
        var rest = app.MapGroup("/rest/v1").WithTags("Leads").AddEndpointFilter<ApiAccessFilter>();
        var read = new RequiresPermission(Permissions.ReadOnlyLead);
        var write = new RequiresPermission(Permissions.ReadWriteLead);
        rest.MapGet("/leads/describe.json", Describe).WithName("describeUsingGET_2").WithSummary("Describe Lead").WithMetadata(read);
        rest.MapGet("/leads/describe2.json", Describe2).WithName("describeUsingGET_6").WithSummary("Describe Lead2").WithMetadata(read);
        rest.MapGet("/lead/{id}.json", GetByIdAsync).WithName("getLeadByIdUsingGET").WithSummary("Get Lead by Id").WithMetadata(read);
        rest.MapGet("/leads.json", GetByFilterAsync).WithName("getLeadsByFilterUsingGET").WithSummary("Get Leads by Filter Type").WithMetadata(read);
        rest.MapPost("/leads.json", SyncAsync).WithName("syncLeadUsingPOST").WithSummary("Sync Leads").WithMetadata(write);
        rest.MapPost("/leads/delete.json", DeleteByBodyAsync).WithName("deleteLeadsUsingPOST").WithSummary("Delete Leads").WithMetadata(write);
        rest.MapDelete("/leads.json", DeleteByQueryAsync).WithName("deleteLeadsUsingDELETE").WithSummary("Delete Leads").WithMetadata(write);

        return rest;
    }

    /// <summary>The standard fields, then the subscription's custom fields, ordered by id.</summary>
    internal static async Task<JsonHttpResult<MarketoResponse<LeadField>>> Describe(HttpContext context, [FromServices] ILeadFieldStore fieldStore) =>
        MarketoHttp.Success(context, [.. LeadFields.All, .. await CustomFieldsAsync(context, fieldStore)], ServerJsonContext.Wire.MarketoResponseLeadField);

    internal static async Task<JsonHttpResult<MarketoResponse<LeadDescription>>> Describe2(HttpContext context, [FromServices] ILeadFieldStore fieldStore)
    {
        List<LeadDescriptionField> fields = [new("id", "Id", "integer", null, Updateable: false, CrmManaged: false)];
        fields.AddRange(LeadFields.All.Concat(await CustomFieldsAsync(context, fieldStore)).Where(f => f.Rest is not null)
            .Select(f => new LeadDescriptionField(f.Rest!.Name, f.DisplayName, f.DataType, f.Length, !f.Rest.ReadOnly, CrmManaged: false)));
        var description = new LeadDescription("API Lead", [.. SearchableFields.Select(f => (IReadOnlyList<string>)[f])], fields);
        return MarketoHttp.Success(context, [description], LeadJsonContext.Wire.MarketoResponseLeadDescription);
    }

    private static async Task<IReadOnlyList<LeadField>> CustomFieldsAsync(HttpContext context, ILeadFieldStore fieldStore) =>
        await fieldStore.ListCustomFieldsAsync(ApiCaller.Of(context).Subscription.Id, context.RequestAborted);

    internal static async Task<LeadColumn[]> CustomColumnsAsync(HttpContext context, ILeadFieldStore fieldStore) =>
        [.. (await CustomFieldsAsync(context, fieldStore)).Select(LeadCustomFields.Column)];

    internal static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetByIdAsync(HttpContext context, string id, [FromServices] ILeadStore leads,
        [FromServices] ILeadFieldStore fieldStore)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var leadId))
        {
            return Fail(context, Mistyped(id, "integer"));
        }

        if (!TryFields(context.Request.Query["fields"], await CustomColumnsAsync(context, fieldStore), out var fields, out var error))
        {
            return Fail(context, error!);
        }

        var found = await leads.GetByIdsAsync(ApiCaller.Of(context).Subscription.Id, [leadId], context.RequestAborted);
        return MarketoHttp.Success(context, [.. found.Select(l => ToWire(l, fields))], LeadJsonContext.Wire.MarketoResponseJsonObject);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<JsonObject>>> GetByFilterAsync(HttpContext context, [FromServices] ILeadStore leads,
        [FromServices] ILeadFieldStore fieldStore)
    {
        var query = context.Request.Query;
        var filterType = query["filterType"].ToString().Trim();
        if (filterType.Length == 0)
        {
            return Fail(context, Missing("filterType"));
        }

        var rawValues = Split(query["filterValues"]).ToList();
        if (rawValues.Count == 0)
        {
            return Fail(context, Missing("filterValues"));
        }

        var custom = await CustomColumnsAsync(context, fieldStore);
        var (column, columnError) = Searchable(filterType, custom);
        if (column is null)
        {
            return Fail(context, columnError!);
        }

        if (rawValues.Count > MaxFilterValues)
        {
            return Fail(context, Invalid("filterValues", $"at most {MaxFilterValues} values"));
        }

        var values = new List<object>(rawValues.Count);
        foreach (var raw in rawValues)
        {
            if (!LeadValues.TryParseText(column, raw, out var value))
            {
                return Fail(context, Mistyped(raw, column.Field.DataType));
            }

            if (!values.Contains(value!))
            {
                values.Add(value!);
            }
        }

        if (!TryFields(query["fields"], custom, out var fields, out var error))
        {
            return Fail(context, error!);
        }

        var batchSize = MaxBatch;
        var batchText = query["batchSize"].ToString();
        if (batchText.Length > 0)
        {
            if (!int.TryParse(batchText, NumberStyles.None, CultureInfo.InvariantCulture, out batchSize) || batchSize < 1)
            {
                return Fail(context, Invalid("batchSize", $"must be an integer from 1 to {MaxBatch}"));
            }

            batchSize = Math.Min(batchSize, MaxBatch);
        }

        long afterId = 0;
        var token = query["nextPageToken"].ToString();
        if (token.Length > 0)
        {
            if (!ActivityPageToken.TryDecode(token, out var position) || position.Since != DateTimeOffset.UnixEpoch)
            {
                return Fail(context, Invalid("nextPageToken", "not a paging token of this call"));
            }

            afterId = position.AfterMarketoGuid;
        }

        var subscriptionId = ApiCaller.Of(context).Subscription.Id;
        if (await leads.CountMatchesAsync(subscriptionId, column, values, MaxFilterMatches + 1, context.RequestAborted) > MaxFilterMatches)
        {
            return Fail(context, MarketoErrors.InvalidData("Too many results match the filter"));
        }

        var page = await leads.FindAsync(subscriptionId, column, values, afterId, batchSize + 1, context.RequestAborted);
        var more = page.Count > batchSize;
        var taken = more ? page.Take(batchSize).ToList() : page;
        var next = more ? ActivityPageToken.Encode(new ActivityPosition(DateTimeOffset.UnixEpoch, taken[^1].Id)) : null;
        return MarketoHttp.Success(context, [.. taken.Select(l => ToWire(l, fields))], LeadJsonContext.Wire.MarketoResponseJsonObject, nextPageToken: next);
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> SyncAsync(HttpContext context, [FromServices] ILeadStore leads,
        [FromServices] IActivityWriter activities, [FromServices] ILeadFieldStore fieldStore, TimeProvider clock)
    {
        var (document, bodyError) = await CustomActivityEndpoints.ReadJsonAsync(context);
        if (document is null)
        {
            return WriteFail(context, bodyError!);
        }

        using (document)
        {
            var body = document.RootElement;
            if (body.ValueKind != JsonValueKind.Object)
            {
                return WriteFail(context, MarketoErrors.InvalidJson);
            }

            var action = LeadSyncAction.CreateOrUpdate;
            if (body.TryGetProperty("action", out var actionElement) && actionElement.ValueKind != JsonValueKind.Null)
            {
                switch (actionElement.ValueKind == JsonValueKind.String ? actionElement.GetString() : null)
                {
                    case "createOrUpdate": action = LeadSyncAction.CreateOrUpdate; break;
                    case "createOnly": action = LeadSyncAction.CreateOnly; break;
                    case "updateOnly": action = LeadSyncAction.UpdateOnly; break;
                    default: return WriteFail(context, Invalid("action", $"'{MarketoHttp.Clip(actionElement.ToString())}' is not createOrUpdate, createOnly or updateOnly"));
                }
            }

            var lookupField = "email";
            if (body.TryGetProperty("lookupField", out var lookupElement) && lookupElement.ValueKind != JsonValueKind.Null)
            {
                if (lookupElement.ValueKind != JsonValueKind.String)
                {
                    return WriteFail(context, Mistyped(lookupElement.ToString(), "string"));
                }

                lookupField = lookupElement.GetString()!.Trim();
                var (column, lookupError) = Searchable(lookupField, []);
                if (column is null)
                {
                    return WriteFail(context, lookupError!);
                }

                if (lookupField == "id" && action != LeadSyncAction.UpdateOnly)
                {
                    return WriteFail(context, Invalid("lookupField", "id can only be used with the updateOnly action"));
                }
            }

            if (!body.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            {
                return WriteFail(context, Missing("input"));
            }

            if (input.ValueKind != JsonValueKind.Array)
            {
                return WriteFail(context, new MarketoError("609", "Invalid value specified for attribute 'input'"));
            }

            if (input.GetArrayLength() > MaxBatch)
            {
                return WriteFail(context, Invalid("input", $"at most {MaxBatch} records per call"));
            }

            var custom = await CustomColumnsAsync(context, fieldStore);
            var results = new LeadWriteResult?[input.GetArrayLength()];
            var records = new List<IReadOnlyDictionary<string, object?>>();
            var positions = new List<int>();
            var index = 0;
            foreach (var item in input.EnumerateArray())
            {
                var (record, error) = ReadRecord(item, action, lookupField, custom);
                if (record is null)
                {
                    results[index] = LeadWriteResult.Skipped(null, error!);
                }
                else
                {
                    records.Add(record);
                    positions.Add(index);
                }

                index++;
            }

            var now = clock.GetUtcNow();
            var caller = ApiCaller.Of(context);
            var outcomes = records.Count == 0
                ? []
                : await leads.SyncAsync(caller.Subscription.Id, new LeadSyncRequest(action, lookupField, records), now, context.RequestAborted);
            var written = new List<ActivityRecord>();
            for (var i = 0; i < outcomes.Count; i++)
            {
                var outcome = outcomes[i];
                results[positions[i]] = outcome.Status switch
                {
                    LeadSyncStatus.Created => new LeadWriteResult { Id = outcome.Lead!.Id, Status = "created" },
                    LeadSyncStatus.Updated => new LeadWriteResult { Id = outcome.Lead!.Id, Status = "updated" },
                    _ => LeadWriteResult.Skipped(null, new MarketoError(outcome.ReasonCode!, outcome.ReasonMessage!)),
                };
                written.AddRange(LeadActivities.For(outcome, now, caller.User.Email, context.RequestId()));
            }

            if (written.Count > 0)
            {
                await activities.AppendNewAsync(caller.Subscription.Id, written, context.RequestAborted);
            }

            return MarketoHttp.Success<LeadWriteResult>(context, results!, LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
        }
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> DeleteByBodyAsync(HttpContext context, [FromServices] ILeadStore leads,
        [FromServices] IActivityWriter activities, TimeProvider clock)
    {
        var (document, bodyError) = await CustomActivityEndpoints.ReadJsonAsync(context);
        if (document is null)
        {
            return WriteFail(context, bodyError!);
        }

        using (document)
        {
            var body = document.RootElement;
            if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            {
                return WriteFail(context, Missing("input"));
            }

            if (input.ValueKind != JsonValueKind.Array)
            {
                return WriteFail(context, new MarketoError("609", "Invalid value specified for attribute 'input'"));
            }

            if (input.GetArrayLength() > MaxBatch)
            {
                return WriteFail(context, Invalid("input", $"at most {MaxBatch} records per call"));
            }

            var ids = new List<long?>();
            foreach (var item in input.EnumerateArray())
            {
                ids.Add(item.ValueKind == JsonValueKind.Object && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number
                    && id.TryGetInt64(out var value) ? value : null);
            }

            return await DeleteAsync(context, leads, activities, clock, ids);
        }
    }

    internal static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> DeleteByQueryAsync(HttpContext context, [FromServices] ILeadStore leads,
        [FromServices] IActivityWriter activities, TimeProvider clock)
    {
        var ids = new List<long?>();
        foreach (var part in Split(context.Request.Query["id"]))
        {
            if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return WriteFail(context, Mistyped(part, "integer"));
            }

            ids.Add(id);
        }

        if (ids.Count == 0)
        {
            return WriteFail(context, Missing("id"));
        }

        if (ids.Count > MaxBatch)
        {
            return WriteFail(context, Invalid("id", $"at most {MaxBatch} ids per call"));
        }

        return await DeleteAsync(context, leads, activities, clock, ids);
    }

    /// <summary>Deletes what exists; an id given twice is deleted once and then not found, as two calls would answer.</summary>
    private static async Task<JsonHttpResult<MarketoResponse<LeadWriteResult>>> DeleteAsync(HttpContext context, ILeadStore leads,
        IActivityWriter activities, TimeProvider clock, List<long?> ids)
    {
        var caller = ApiCaller.Of(context);
        var deleted = await leads.DeleteAsync(caller.Subscription.Id, [.. ids.OfType<long>().Distinct()], context.RequestAborted);
        var byId = deleted.ToDictionary(l => l.Id);
        var results = new List<LeadWriteResult>(ids.Count);
        var reported = new HashSet<long>();
        foreach (var id in ids)
        {
            results.Add(id switch
            {
                null => LeadWriteResult.Skipped(null, MarketoErrors.InvalidData("Invalid data: a record needs an integer id")),
                { } value when byId.ContainsKey(value) && reported.Add(value) => new LeadWriteResult { Id = value, Status = "deleted" },
                { } value => LeadWriteResult.Skipped(value, new MarketoError("1004", "Lead not found")),
            });
        }

        if (deleted.Count > 0)
        {
            var now = clock.GetUtcNow();
            await activities.AppendNewAsync(caller.Subscription.Id,
                [.. deleted.Select(l => LeadActivities.Deleted(l, now, caller.User.Email, context.RequestId()))], context.RequestAborted);
        }

        return MarketoHttp.Success<LeadWriteResult>(context, results, LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
    }

    /// <summary>One input lead: its fields by REST name with typed values, or the reason to skip it.</summary>
    private static (Dictionary<string, object?>? Record, MarketoError? Error) ReadRecord(JsonElement item, LeadSyncAction action, string lookupField,
        IReadOnlyList<LeadColumn> custom)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return (null, MarketoErrors.InvalidData("Invalid data: a lead must be a JSON object"));
        }

        var record = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in item.EnumerateObject())
        {
            var name = property.Name;
            if (record.ContainsKey(name))
            {
                return (null, MarketoErrors.InvalidData($"Field '{MarketoHttp.Clip(name)}' is given twice"));
            }

            if (name == "id")
            {
                if (action != LeadSyncAction.UpdateOnly)
                {
                    return (null, MarketoErrors.InvalidData("Invalid data: id can only be given with the updateOnly action"));
                }

                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out var id))
                {
                    return (null, InvalidValue(name, property.Value));
                }

                record[name] = id;
                continue;
            }

            var column = LeadColumns.Find(name) ?? LeadCustomFields.Find(custom, name);
            if (column is null)
            {
                return (null, new MarketoError("1006", $"Field '{MarketoHttp.Clip(name)}' not found"));
            }

            if (column.Field.Rest!.ReadOnly)
            {
                return (null, MarketoErrors.InvalidData($"Field '{name}' is read only"));
            }

            if (!LeadValues.TryRead(column, property.Value, out var value))
            {
                return (null, InvalidValue(name, property.Value));
            }

            record[name] = value;
        }

        if (lookupField == "id" && !record.ContainsKey("id"))
        {
            return (null, MarketoErrors.InvalidData("Value for lookup field 'id' not specified"));
        }

        return (record, null);
    }

    private static MarketoError InvalidValue(string field, JsonElement value) =>
        MarketoErrors.InvalidData($"Invalid value '{MarketoHttp.Clip(value.ToString())}' for field '{MarketoHttp.Clip(field)}'");

    /// <summary>
    /// The column of a searchable field: 1006 for a name that is no field, 1011 for a field that cannot be searched
    /// (a custom field among them).
    /// </summary>
    private static (LeadColumn? Column, MarketoError? Error) Searchable(string name, IReadOnlyList<LeadColumn> custom)
    {
        if (name == "id")
        {
            return (LeadColumns.Id, null);
        }

        var column = LeadColumns.Find(name);
        if (column is null && name is not ("createdAt" or "updatedAt") && LeadCustomFields.Find(custom, name) is null)
        {
            return (null, new MarketoError("1006", $"Field '{MarketoHttp.Clip(name)}' not found"));
        }

        return column is not null && SearchableFields.Contains(name)
            ? (column, null)
            : (null, new MarketoError("1011", $"Field '{MarketoHttp.Clip(name)}' not supported"));
    }

    internal static bool TryFields(StringValues values, IReadOnlyList<LeadColumn> custom, out IReadOnlyList<string> fields, out MarketoError? error)
    {
        var names = new List<string>();
        foreach (var name in Split(values))
        {
            if (name is not ("id" or "createdAt" or "updatedAt") && LeadColumns.Find(name) is null && LeadCustomFields.Find(custom, name) is null)
            {
                fields = [];
                error = new MarketoError("1006", $"Field '{MarketoHttp.Clip(name)}' not found");
                return false;
            }

            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        fields = names.Count == 0 ? DefaultFields : names;
        error = null;
        return true;
    }

    /// <summary>A lead as a read returns it: always its id, then the requested fields that have a value (a missing one is null).</summary>
    internal static JsonObject ToWire(LeadRecord lead, IReadOnlyList<string> fields)
    {
        var item = new JsonObject { ["id"] = lead.Id };
        foreach (var name in fields)
        {
            switch (name)
            {
                case "id": break;
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

        return item;
    }

    private static IEnumerable<string> Split(StringValues values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static MarketoError Missing(string member) => new("1002", $"Missing value for the required parameter '{member}'");

    private static MarketoError Mistyped(string value, string type) => new("1001", $"Invalid value '{MarketoHttp.Clip(value)}'. Required of type '{type}'");

    private static MarketoError Invalid(string member, string rule) => MarketoErrors.InvalidData($"Invalid value specified for attribute '{member}': {rule}");

    private static JsonHttpResult<MarketoResponse<JsonObject>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, LeadJsonContext.Wire.MarketoResponseJsonObject);

    private static JsonHttpResult<MarketoResponse<LeadWriteResult>> WriteFail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, LeadJsonContext.Wire.MarketoResponseLeadWriteResult);
}

/// <summary>One record of a Sync Leads or Delete Leads result: its id and status, or skipped with its reasons.</summary>
internal sealed record LeadWriteResult
{
    [JsonPropertyOrder(0)]
    public long? Id { get; init; }

    [JsonPropertyOrder(1)]
    public required string Status { get; init; }

    [JsonPropertyOrder(2)]
    public IReadOnlyList<MarketoError>? Reasons { get; init; }

    public static LeadWriteResult Skipped(long? id, MarketoError reason) => new() { Id = id, Status = "skipped", Reasons = [reason] };
}

/// <summary>The result of Describe Lead2: the lead object's searchable keys and its fields.</summary>
internal sealed record LeadDescription(string Name, IReadOnlyList<IReadOnlyList<string>> SearchableFields, IReadOnlyList<LeadDescriptionField> Fields);

/// <summary>A field as Describe Lead2 lists it.</summary>
internal sealed record LeadDescriptionField(string Name, string DisplayName, string DataType, int? Length, bool Updateable, bool CrmManaged);

/// <summary>Source-generated JSON of the lead endpoints' shapes, with the conventions of the other wire contexts.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(MarketoDateTimeConverter)])]
[JsonSerializable(typeof(MarketoResponse<JsonObject>))]
[JsonSerializable(typeof(MarketoResponse<LeadWriteResult>))]
[JsonSerializable(typeof(MarketoResponse<LeadDescription>))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class LeadJsonContext : JsonSerializerContext
{
    /// <summary>Relaxed escaping, as Marketo writes text.</summary>
    public static LeadJsonContext Wire { get; } = new(new JsonSerializerOptions(MarketoJsonContext.Wire.Options) { TypeInfoResolver = null });
}
