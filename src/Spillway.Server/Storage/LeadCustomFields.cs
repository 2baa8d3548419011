using System.Text.RegularExpressions;

namespace Spillway.Server.Storage;

/// <summary>
/// A subscription's custom lead fields, a role every store provides next to <see cref="ILeadStore"/>. The definitions
/// live in metadata; a lead's values of them live in its row's <c>custom</c> JSON object, so defining a field changes no table.
/// </summary>
public interface ILeadFieldStore
{
    /// <summary>The subscription's custom fields, ordered by id, as describe lists them.</summary>
    Task<IReadOnlyList<LeadField>> ListCustomFieldsAsync(int subscriptionId, CancellationToken ct);

    /// <summary>
    /// Defines a custom field with the next free id (ids start above every standard field's and are never reused).
    /// Returns null when the subscription already has a custom field of that name, ignoring case.
    /// </summary>
    Task<LeadField?> AddCustomFieldAsync(int subscriptionId, string name, string displayName, string dataType, DateTimeOffset now, CancellationToken ct);
}

/// <summary>The rules of a custom lead field's definition and the column form the lead store and the extract read it by.</summary>
public static partial class LeadCustomFields
{
    /// <summary>The data types Marketo gives lead fields; a custom field has one of them.</summary>
    public static IReadOnlyList<string> DataTypes { get; } = ["string", "text", "email", "phone", "url", "integer", "float", "currency", "boolean", "date", "datetime"];

    /// <summary>The first custom field id; every standard field's id is below it.</summary>
    public const int FirstId = 1001;

    public const int MaxNameLength = 50;

    public const int MaxDisplayNameLength = 255;

    /// <summary>
    /// Why a definition is refused, or null when it is valid: the name is a letter then letters, digits or
    /// underscores (at most 50), is not a standard field's REST name ignoring case (nor id, createdAt, updatedAt),
    /// the display name is at most 255 characters without control characters, and the type is one of <see cref="DataTypes"/>.
    /// </summary>
    public static string? Validate(string? name, string? displayName, string? dataType)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || !NamePattern().IsMatch(name))
        {
            return $"name must be a letter followed by letters, digits or underscores, at most {MaxNameLength} characters";
        }

        if (name.Equals("id", StringComparison.OrdinalIgnoreCase)
            || LeadFields.All.Any(f => f.Rest is not null && f.Rest.Name.Equals(name, StringComparison.OrdinalIgnoreCase)))
        {
            return $"'{name}' is the name of a standard lead field";
        }

        if (displayName is not null && (displayName.Trim().Length == 0 || displayName.Length > MaxDisplayNameLength || displayName.Any(char.IsControl)))
        {
            return $"displayName must be 1 to {MaxDisplayNameLength} characters without control characters";
        }

        if (dataType is null || !DataTypes.Contains(dataType, StringComparer.Ordinal))
        {
            return $"dataType must be one of {string.Join(", ", DataTypes)}";
        }

        return null;
    }

    /// <summary>The maximum length Marketo gives a field of this type: 255 for the string-like types, none for the others.</summary>
    public static int? LengthOf(string dataType) => dataType is "string" or "email" or "phone" or "url" ? 255 : null;

    /// <summary>A custom field as describe lists it: writable through REST and SOAP under its name.</summary>
    public static LeadField Field(int id, string name, string displayName, string dataType) =>
        new(id, displayName, dataType, LengthOf(dataType), new(name, false), new(name, false));

    /// <summary>The column form of a custom field: its value is the member of the row's <c>custom</c> object with its name.</summary>
    public static LeadColumn Column(LeadField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return new LeadColumn(field, field.Rest!.Name, "custom", LeadColumns.KindOf(field.DataType)) { IsCustom = true };
    }

    /// <summary>The column of a REST name among the custom fields (exact name), or null.</summary>
    public static LeadColumn? Find(IReadOnlyList<LeadColumn>? custom, string restName)
    {
        if (custom is null)
        {
            return null;
        }

        foreach (var column in custom)
        {
            if (column.RestName == restName)
            {
                return column;
            }
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
