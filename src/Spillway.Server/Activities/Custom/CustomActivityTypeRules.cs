using Spillway.Server.Hosting;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spillway.Contracts;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Custom;

/// <summary>
/// The rules of Marketo's Custom Activities Metadata API: names, data types, the 10-type and 20-attribute limits,
/// and the draft/approved lifecycle. Pure functions over a type's versions; the endpoints store the outcome.
/// </summary>
public static partial class CustomActivityTypeRules
{
    /// <summary>At most this many custom types per subscription (1027 beyond).</summary>
    public const int MaxTypes = 10;

    /// <summary>At most this many secondary attributes per type (1028 beyond).</summary>
    public const int MaxAttributes = 20;

    /// <summary>The data types an attribute may have.</summary>
    public static IReadOnlyList<string> DataTypes { get; } =
        ["string", "boolean", "integer", "float", "link", "email", "currency", "date", "datetime", "phone", "text"];

    public static readonly MarketoError MaxTypesReached = new("1027", "Max Activity Type Limit Reached");
    public static readonly MarketoError MaxFieldsReached = new("1028", "Max field limit reached");

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,254}$")]
    private static partial Regex ApiNamePattern();

    [GeneratedRegex("^[A-Za-z0-9 _]{1,255}$")]
    private static partial Regex DisplayNamePattern();

    public static MarketoError Blank(string member) => new("701", $"{member} cannot be blank");

    public static MarketoError Invalid(string member, string rule) =>
        MarketoErrors.InvalidData($"Invalid value specified for attribute '{member}': {rule}");

    public static MarketoError BusinessRule(string message) => new("709", message);

    /// <summary>Reads the members of a type definition (create: all required but description; update: all optional).</summary>
    public static (CustomActivityTypeVersion? Version, MarketoError? Error) ReadType(JsonElement body, CustomActivityTypeVersion? current)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, Invalid("body", "the request body must be a JSON object"));
        }

        var creating = current is null;
        string? Text(string member, out MarketoError? error)
        {
            error = null;
            if (!body.TryGetProperty(member, out var e) || e.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (e.ValueKind != JsonValueKind.String)
            {
                error = Invalid(member, "must be a string");
                return null;
            }

            return e.GetString()!.Trim();
        }

        var name = Text("name", out var nameError) ?? current?.Name;
        var triggerName = Text("triggerName", out var triggerError) ?? current?.TriggerName;
        var filterName = Text("filterName", out var filterError) ?? current?.FilterName;
        var description = current?.Description;
        MarketoError? descriptionError = null;
        if (body.TryGetProperty("description", out _))
        {
            description = Text("description", out descriptionError);
        }

        if ((nameError ?? triggerError ?? filterError ?? descriptionError) is { } memberError)
        {
            return (null, memberError);
        }

        if (string.IsNullOrEmpty(name))
        {
            return (null, Blank("name"));
        }

        if (!DisplayNamePattern().IsMatch(name) || !name.Any(char.IsAsciiLetter))
        {
            return (null, Invalid("name", "a display name has letters, digits, spaces and underscores (at least one letter, at most 255)"));
        }

        if (string.IsNullOrEmpty(triggerName))
        {
            return (null, Blank("triggerName"));
        }

        if (string.IsNullOrEmpty(filterName))
        {
            return (null, Blank("filterName"));
        }

        if (triggerName.Length > 255 || filterName.Length > 255 || description?.Length > 2000)
        {
            return (null, Invalid(triggerName.Length > 255 ? "triggerName" : filterName.Length > 255 ? "filterName" : "description", "too long"));
        }

        var primary = current?.PrimaryAttribute;
        if (body.TryGetProperty("primaryAttribute", out var primaryElement) && primaryElement.ValueKind != JsonValueKind.Null)
        {
            var (read, error) = ReadAttribute(primaryElement, "primaryAttribute", primary?.DataType ?? "string");
            if (error is not null)
            {
                return (null, error);
            }

            primary = read!.Value.Definition;
        }
        else if (creating)
        {
            return (null, Blank("primaryAttribute"));
        }

        var attributes = current?.Attributes ?? [];
        if (attributes.Any(a => string.Equals(a.ApiName, primary!.ApiName, StringComparison.OrdinalIgnoreCase)))
        {
            return (null, Invalid("primaryAttribute", $"apiName '{primary!.ApiName}' is already a secondary attribute"));
        }

        return (new CustomActivityTypeVersion(name, string.IsNullOrEmpty(description) ? null : description, triggerName, filterName, primary!, attributes), null);
    }

    /// <summary>The type's names must be unique among the subscription's types (and its name not a standard type's).</summary>
    public static MarketoError? CheckUnique(CustomActivityTypeVersion version, string apiName, IReadOnlyList<CustomActivityTypeRecord> others)
    {
        if (StandardActivityTypes.All.Any(t => string.Equals(t.Name, version.Name, StringComparison.OrdinalIgnoreCase)))
        {
            return Invalid("name", $"'{version.Name}' is the name of a standard activity type");
        }

        foreach (var other in others)
        {
            if (string.Equals(other.ApiName, apiName, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var v in new[] { other.Approved, other.Draft })
            {
                if (v is null)
                {
                    continue;
                }

                if (string.Equals(v.Name, version.Name, StringComparison.OrdinalIgnoreCase))
                {
                    return Invalid("name", $"'{version.Name}' is already used by activity type '{other.ApiName}'");
                }

                if (string.Equals(v.TriggerName, version.TriggerName, StringComparison.OrdinalIgnoreCase))
                {
                    return Invalid("triggerName", $"'{version.TriggerName}' is already used by activity type '{other.ApiName}'");
                }

                if (string.Equals(v.FilterName, version.FilterName, StringComparison.OrdinalIgnoreCase))
                {
                    return Invalid("filterName", $"'{version.FilterName}' is already used by activity type '{other.ApiName}'");
                }
            }
        }

        return null;
    }

    public static MarketoError? CheckApiName(string? apiName, string member = "apiName")
    {
        if (string.IsNullOrWhiteSpace(apiName))
        {
            return Blank(member);
        }

        return ApiNamePattern().IsMatch(apiName)
            ? null
            : Invalid(member, $"'{MarketoHttp.Clip(apiName)}' is not an API name (a letter, then letters, digits or underscores, at most 255)");
    }

    /// <summary>Reads one attribute: apiName, name, description, dataType (defaulted) and isPrimary.</summary>
    public static ((CustomAttributeDefinition Definition, bool? IsPrimary)? Attribute, MarketoError? Error) ReadAttribute(JsonElement e, string member,
        string? defaultDataType)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return (null, Invalid(member, "must be an object"));
        }

        var apiName = e.TryGetProperty("apiName", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()!.Trim() : null;
        if (CheckApiName(apiName, member + ".apiName") is { } apiError)
        {
            return (null, apiError);
        }

        var name = e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : null;
        if (string.IsNullOrEmpty(name))
        {
            return (null, Blank(member + ".name"));
        }

        if (name.Length > 255 || name.Contains('"', StringComparison.Ordinal))
        {
            return (null, Invalid(member + ".name", "a display name has at most 255 characters and no quote"));
        }

        var description = e.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        var dataType = e.TryGetProperty("dataType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!.Trim().ToLowerInvariant() : defaultDataType;
        if (dataType is null)
        {
            return (null, Blank(member + ".dataType"));
        }

        if (!DataTypes.Contains(dataType))
        {
            return (null, Invalid(member + ".dataType", $"'{MarketoHttp.Clip(dataType)}' is not one of {string.Join(", ", DataTypes)}"));
        }

        bool? isPrimary = e.TryGetProperty("isPrimary", out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False ? p.GetBoolean() : null;
        return ((new CustomAttributeDefinition(apiName!, name, description, dataType), isPrimary), null);
    }

    /// <summary>Reads <c>{"attributes":[...]}</c>.</summary>
    public static (List<JsonElement>? Items, MarketoError? Error) ReadAttributeList(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("attributes", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return (null, Invalid("attributes", "attributes is required and must be an array"));
        }

        return list.GetArrayLength() == 0 ? (null, Blank("attributes")) : ([.. list.EnumerateArray()], null);
    }

    /// <summary>Adds attributes to a version (<c>attributes/create.json</c>).</summary>
    public static (CustomActivityTypeVersion? Version, MarketoError? Error) AddAttributes(CustomActivityTypeVersion version, List<JsonElement> items)
    {
        var primary = version.PrimaryAttribute;
        var attributes = version.Attributes.ToList();
        foreach (var item in items)
        {
            var (read, error) = ReadAttribute(item, "attributes", null);
            if (error is not null)
            {
                return (null, error);
            }

            var (definition, isPrimary) = read!.Value;
            if (Clash(definition, primary, attributes, except: null) is { } clash)
            {
                return (null, clash);
            }

            if (isPrimary == true)
            {
                attributes.Add(primary);
                primary = definition;
            }
            else
            {
                attributes.Add(definition);
            }
        }

        return attributes.Count > MaxAttributes
            ? (null, MaxFieldsReached)
            : (version with { PrimaryAttribute = primary, Attributes = attributes }, null);
    }

    /// <summary>Updates attributes by API name (<c>attributes/update.json</c>); <c>isPrimary: true</c> swaps an attribute with the primary.</summary>
    public static (CustomActivityTypeVersion? Version, MarketoError? Error) UpdateAttributes(CustomActivityTypeVersion version, List<JsonElement> items)
    {
        var primary = version.PrimaryAttribute;
        var attributes = version.Attributes.ToList();
        foreach (var item in items)
        {
            var apiName = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("apiName", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString()!.Trim() : null;
            var index = attributes.FindIndex(x => string.Equals(x.ApiName, apiName, StringComparison.OrdinalIgnoreCase));
            var isCurrentPrimary = string.Equals(primary.ApiName, apiName, StringComparison.OrdinalIgnoreCase);
            if (apiName is null || (index < 0 && !isCurrentPrimary))
            {
                return (null, new MarketoError("1006", $"Field '{MarketoHttp.Clip(apiName ?? "")}' not found"));
            }

            var existing = isCurrentPrimary ? primary : attributes[index];
            var (read, error) = ReadAttribute(item, "attributes", existing.DataType);
            if (error is not null)
            {
                return (null, error);
            }

            var (definition, isPrimary) = read!.Value;
            definition = definition with { ApiName = existing.ApiName, Description = definition.Description ?? existing.Description };
            if (Clash(definition, primary, attributes, except: existing) is { } clash)
            {
                return (null, clash);
            }

            if (isCurrentPrimary)
            {
                if (isPrimary == false)
                {
                    return (null, Invalid("attributes", "a custom activity type needs a primary attribute: promote another attribute with isPrimary true"));
                }

                primary = definition;
            }
            else if (isPrimary == true)
            {
                attributes[index] = primary;
                primary = definition;
            }
            else
            {
                attributes[index] = definition;
            }
        }

        return (version with { PrimaryAttribute = primary, Attributes = attributes }, null);
    }

    /// <summary>Removes secondary attributes by API name (<c>attributes/delete.json</c>).</summary>
    public static (CustomActivityTypeVersion? Version, MarketoError? Error) RemoveAttributes(CustomActivityTypeVersion version, List<JsonElement> items)
    {
        var attributes = version.Attributes.ToList();
        foreach (var item in items)
        {
            var apiName = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("apiName", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString()!.Trim() : null;
            if (string.Equals(version.PrimaryAttribute.ApiName, apiName, StringComparison.OrdinalIgnoreCase))
            {
                return (null, Invalid("attributes", "the primary attribute cannot be deleted: promote another attribute first"));
            }

            var index = attributes.FindIndex(x => string.Equals(x.ApiName, apiName, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                return (null, new MarketoError("1006", $"Field '{MarketoHttp.Clip(apiName ?? "")}' not found"));
            }

            attributes.RemoveAt(index);
        }

        return (version with { Attributes = attributes }, null);
    }

    private static MarketoError? Clash(CustomAttributeDefinition definition, CustomAttributeDefinition primary, List<CustomAttributeDefinition> attributes,
        CustomAttributeDefinition? except)
    {
        foreach (var other in attributes.Prepend(primary))
        {
            if (ReferenceEquals(other, except))
            {
                continue;
            }

            if (string.Equals(other.ApiName, definition.ApiName, StringComparison.OrdinalIgnoreCase))
            {
                return Invalid("attributes", $"apiName '{definition.ApiName}' already exists in this type");
            }

            if (string.Equals(other.Name, definition.Name, StringComparison.OrdinalIgnoreCase))
            {
                return Invalid("attributes", $"name '{definition.Name}' already exists in this type");
            }
        }

        return null;
    }
}
