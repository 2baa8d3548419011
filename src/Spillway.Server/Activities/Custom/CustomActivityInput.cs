using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Custom;

/// <summary>
/// Add Custom Activities (<c>POST /rest/v1/activities/external.json</c>): up to 300 per call, each checked on its own
/// against its approved type; the good ones are stored in one append with new marketoGUIDs, the bad ones are
/// <c>skipped</c> with their errors.
/// </summary>
internal static class CustomActivityInput
{
    /// <summary>At most this many activities per call.</summary>
    public const int MaxBatch = 300;

    /// <summary>The largest attributes object a stored activity may have (1049 beyond).</summary>
    public const int MaxAttributesBytes = 65_536;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task<JsonHttpResult<MarketoResponse<AddedActivityResult>>> AddAsync(HttpContext context, IActivityWriter writer,
        ActivityTypeRegistry registry, ILeadStore leads)
    {
        var caller = ApiCaller.Of(context);
        var (document, bodyError) = await CustomActivityEndpoints.ReadJsonAsync(context, checkText: false);
        if (document is null)
        {
            return Fail(context, bodyError!);
        }

        using (document)
        {
            var body = document.RootElement;
            // The records are checked one by one below; the names around them must be text before a member is looked up.
            if (JsonText.ApiErrorInNames(body) is { } nameError)
            {
                return Fail(context, nameError);
            }

            if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Array)
            {
                return Fail(context, new MarketoError("609", "Invalid value specified for attribute 'input'"));
            }

            if (input.GetArrayLength() > MaxBatch)
            {
                return Fail(context, MarketoErrors.InvalidData($"Invalid value specified for attribute 'input': at most {MaxBatch} activities per call"));
            }

            var types = await registry.GetAsync(caller.Subscription.Id, context.RequestAborted);
            var results = new AddedActivityResult?[input.GetArrayLength()];
            var accepted = new List<ActivityRecord>();
            var acceptedAt = new List<int>();
            var buffer = new ArrayBufferWriter<byte>(1024);
            var index = 0;
            foreach (var item in input.EnumerateArray())
            {
                var (record, error) = Read(item, types, buffer);
                if (record is null)
                {
                    results[index] = new AddedActivityResult { Status = "skipped", Errors = [error!] };
                }
                else
                {
                    accepted.Add(record);
                    acceptedAt.Add(index);
                }

                index++;
            }

            // Marketo skips an activity of a lead that does not exist. A subscription that never had a lead database
            // (its activities were seeded or imported without leads) keeps accepting every lead id.
            if (accepted.Count > 0 && await leads.HasLeadDatabaseAsync(caller.Subscription.Id, context.RequestAborted))
            {
                var existing = (await leads.GetByIdsAsync(caller.Subscription.Id, [.. accepted.Select(a => a.LeadId).Distinct()], context.RequestAborted))
                    .Select(l => l.Id).ToHashSet();
                for (var i = accepted.Count - 1; i >= 0; i--)
                {
                    if (!existing.Contains(accepted[i].LeadId))
                    {
                        results[acceptedAt[i]] = new AddedActivityResult { Status = "skipped", Errors = [new MarketoError("1004", "Lead not found")] };
                        accepted.RemoveAt(i);
                        acceptedAt.RemoveAt(i);
                    }
                }
            }

            if (accepted.Count > 0)
            {
                var first = await writer.AppendNewAsync(caller.Subscription.Id, accepted, context.RequestAborted);
                for (var i = 0; i < accepted.Count; i++)
                {
                    var guid = first + i;
                    results[acceptedAt[i]] = new AddedActivityResult
                    {
                        Id = guid,
                        MarketoGuid = guid.ToString(CultureInfo.InvariantCulture),
                        Status = "added",
                    };
                }
            }

            return MarketoHttp.Success<AddedActivityResult>(context, results!, ServerJsonContext.Wire.MarketoResponseAddedActivityResult);
        }
    }

    /// <summary>Checks one input activity; returns the record to store (marketoGUID still 0) or the reason to skip it.</summary>
    internal static (ActivityRecord? Record, MarketoError? Error) Read(JsonElement item, ActivityTypeSet types, ArrayBufferWriter<byte> buffer)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return (null, MarketoErrors.InvalidData("Invalid data: an activity must be a JSON object"));
        }

        // One record's bad string (Python's json.dumps writes lone surrogates as \ud800) skips that record, not the batch.
        if (JsonText.Check(item) != JsonTextProblem.None)
        {
            return (null, MarketoErrors.InvalidData("Invalid data: a string of the activity is not valid UTF-8 text"));
        }

        if (!TryMember(item, "leadId", out var leadElement))
        {
            return (null, Missing("leadId"));
        }

        if (!TryInteger(leadElement, out var leadId) || leadId <= 0)
        {
            return (null, Mistyped(leadElement, "integer"));
        }

        if (!TryMember(item, "activityDate", out var dateElement))
        {
            return (null, Missing("activityDate"));
        }

        if (dateElement.ValueKind != JsonValueKind.String || !MarketoDateTime.TryParse(dateElement.GetString()!, out var activityDate))
        {
            return (null, Mistyped(dateElement, "datetime"));
        }

        if (!TryMember(item, "activityTypeId", out var typeElement))
        {
            return (null, Missing("activityTypeId"));
        }

        if (!TryInteger(typeElement, out var typeId) || typeId is < int.MinValue or > int.MaxValue)
        {
            return (null, Mistyped(typeElement, "integer"));
        }

        var type = types.Custom((int)typeId);
        if (type?.Approved is not { } definition)
        {
            return (null, MarketoErrors.InvalidData(types.IsKnown((int)typeId)
                ? $"Invalid activityTypeId '{typeId}': only approved custom activity types can be added"
                : $"Invalid activityTypeId '{typeId}': no approved custom activity type has this id"));
        }

        if (!TryMember(item, "primaryAttributeValue", out var primaryElement))
        {
            return (null, Missing("primaryAttributeValue"));
        }

        if (!TryScalarText(primaryElement, out var primaryValue))
        {
            return (null, Mistyped(primaryElement, definition.PrimaryAttribute.DataType));
        }

        buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var values = new JsonElement?[definition.Attributes.Count];
            if (item.TryGetProperty("attributes", out var attributes) && attributes.ValueKind != JsonValueKind.Null)
            {
                if (attributes.ValueKind != JsonValueKind.Array)
                {
                    return (null, Mistyped(attributes, "array"));
                }

                foreach (var attribute in attributes.EnumerateArray())
                {
                    if (attribute.ValueKind != JsonValueKind.Object)
                    {
                        return (null, MarketoErrors.InvalidData("Invalid data: an attribute must be an object with name or apiName, and value"));
                    }

                    var key = attribute.TryGetProperty("apiName", out var apiName) && apiName.ValueKind == JsonValueKind.String
                        ? apiName.GetString()!
                        : attribute.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : null;
                    if (key is null)
                    {
                        return (null, Missing("attributes.name"));
                    }

                    var at = FindAttribute(definition, key);
                    if (at < 0)
                    {
                        return (null, new MarketoError("1006", $"Field '{MarketoHttp.Clip(key)}' not found"));
                    }

                    if (values[at] is not null)
                    {
                        return (null, MarketoErrors.InvalidData($"Invalid data: attribute '{MarketoHttp.Clip(key)}' is given twice"));
                    }

                    values[at] = attribute.TryGetProperty("value", out var value) ? value : default(JsonElement);
                }
            }

            w.WriteStartObject();
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is not { } value || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
                {
                    continue; // attributes without value are omitted
                }

                var attribute = definition.Attributes[i];
                w.WritePropertyName(attribute.Name);
                if (!TryWriteTyped(w, value, attribute.DataType))
                {
                    return (null, Mistyped(value, attribute.DataType));
                }
            }

            w.WriteEndObject();
        }

        if (buffer.WrittenCount > MaxAttributesBytes)
        {
            return (null, new MarketoError("1049", "Failed to Create Activity"));
        }

        var json = buffer.WrittenCount == 2 ? "{}" : DemoRowFactory.JsonText(buffer.WrittenSpan);
        return (new ActivityRecord(0, leadId, activityDate, (int)typeId, null, null, primaryValue, json, null), null);
    }

    private static int FindAttribute(CustomActivityTypeVersion definition, string key)
    {
        for (var i = 0; i < definition.Attributes.Count; i++)
        {
            if (string.Equals(definition.Attributes[i].ApiName, key, StringComparison.Ordinal)
                || string.Equals(definition.Attributes[i].Name, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Writes a value as its attribute's data type: numbers as JSON numbers, booleans, dates as <c>yyyy-MM-dd</c>, date-times as <c>...Z</c>, the rest as text.</summary>
    private static bool TryWriteTyped(Utf8JsonWriter w, JsonElement value, string dataType)
    {
        switch (dataType)
        {
            case "integer":
                if (!TryInteger(value, out var integer))
                {
                    return false;
                }

                w.WriteNumberValue(integer);
                return true;
            case "float" or "currency":
                if (value.ValueKind == JsonValueKind.Number)
                {
                    w.WriteRawValue(value.GetRawText(), skipInputValidation: true);
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String
                    && decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    w.WriteNumberValue(number);
                    return true;
                }

                return false;
            case "boolean":
                if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    w.WriteBooleanValue(value.GetBoolean());
                    return true;
                }

                if (value.ValueKind == JsonValueKind.String && bool.TryParse(value.GetString(), out var flag))
                {
                    w.WriteBooleanValue(flag);
                    return true;
                }

                return false;
            case "date":
                if (value.ValueKind == JsonValueKind.String && MarketoDateTime.TryParse(value.GetString()!, out var date))
                {
                    w.WriteStringValue(date.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    return true;
                }

                return false;
            case "datetime":
                if (value.ValueKind == JsonValueKind.String && MarketoDateTime.TryParse(value.GetString()!, out var instant))
                {
                    w.WriteStringValue(MarketoDateTime.Format(instant));
                    return true;
                }

                return false;
            default:
                if (!TryScalarText(value, out var text))
                {
                    return false;
                }

                w.WriteStringValue(text);
                return true;
        }
    }

    private static bool TryMember(JsonElement item, string name, out JsonElement value) =>
        item.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null
        && !(value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 0);

    private static bool TryInteger(JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt64(out value),
            JsonValueKind.String => long.TryParse(e.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    private static bool TryScalarText(JsonElement e, out string text)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                text = e.GetString()!;
                return true;
            case JsonValueKind.Number:
                text = e.GetRawText();
                return true;
            case JsonValueKind.True or JsonValueKind.False:
                text = e.GetBoolean() ? "true" : "false";
                return true;
            default:
                text = "";
                return false;
        }
    }

    private static MarketoError Missing(string member) => new("1002", $"Missing value for the required parameter '{member}'");

    private static MarketoError Mistyped(JsonElement value, string type) =>
        new("1001", $"Invalid value '{MarketoHttp.Clip(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText())}'. Required of type '{type}'");

    private static JsonHttpResult<MarketoResponse<AddedActivityResult>> Fail(HttpContext context, MarketoError error) =>
        MarketoHttp.Failure(context, error, ServerJsonContext.Wire.MarketoResponseAddedActivityResult);
}
