using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spillway.Contracts;

/// <summary>
/// Source-generated JSON for the wire shapes, shared by server and client so both agree byte for byte.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(MarketoDateTimeConverter)])]
[JsonSerializable(typeof(MarketoResponse<ExportJob>))]
[JsonSerializable(typeof(MarketoResponse<ActivityType>))]
[JsonSerializable(typeof(MarketoResponse<UsageDay>))]
[JsonSerializable(typeof(MarketoResponse<JsonElement>))]
[JsonSerializable(typeof(MarketoResponse<object>))]
[JsonSerializable(typeof(ExportActivityRequest))]
[JsonSerializable(typeof(ExportLeadRequest))]
[JsonSerializable(typeof(AccessTokenResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
public sealed partial class MarketoJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the server writes with: like <see cref="JsonSerializerContext"/>'s default but with relaxed escaping,
    /// so messages and text come out as Marketo sends them (<c>'</c> and non-ASCII raw, not <c>\u0027</c>).
    /// </summary>
    public static MarketoJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new MarketoDateTimeConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>
/// Writes instants as Marketo does (UTC, second precision, <c>Z</c>) and reads any ISO-8601 form.
/// </summary>
public sealed class MarketoDateTimeConverter : JsonConverter<DateTimeOffset>
{
    /// <summary>The wire format of timestamps.</summary>
    public const string WireFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is not null && MarketoDateTime.TryParse(text, out var value))
        {
            return value;
        }

        throw new JsonException($"'{text}' is not an ISO-8601 date-time.");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(MarketoDateTime.Format(value));
    }
}

/// <summary>Parsing and formatting of the date-time forms Marketo clients send and read.</summary>
public static class MarketoDateTime
{
    /// <summary>Formats an instant as <c>2026-01-17T20:10:43Z</c> (UTC, fractions truncated).</summary>
    /// <param name="value">The instant.</param>
    /// <returns>The wire text.</returns>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString(MarketoDateTimeConverter.WireFormat, CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses the accepted forms: <c>Z</c>, <c>+hh:mm</c>, <c>-hh:mm</c>, <c>+hhmm</c>, optional fractional seconds
    /// (truncated to the second), a date alone (midnight UTC) and no offset (UTC).
    /// </summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="value">The instant, truncated to the second.</param>
    /// <returns>Whether the text is an accepted form.</returns>
    public static bool TryParse(string text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 40)
        {
            return false;
        }

        var s = text.Trim();
        // "+hhmm" / "-hhmm" offsets are not understood by DateTimeOffset; give them a colon.
        if (s.Length > 5 && (s[^5] == '+' || s[^5] == '-') && s.IndexOf('T', StringComparison.Ordinal) > 0
            && char.IsAsciiDigit(s[^4]) && char.IsAsciiDigit(s[^3]) && char.IsAsciiDigit(s[^2]) && char.IsAsciiDigit(s[^1]))
        {
            s = string.Concat(s.AsSpan(0, s.Length - 2), ":", s.AsSpan(s.Length - 2));
        }

        // Fractions beyond the 7 digits .NET reads (Java's Instant prints 9) only ever get truncated: drop them.
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var digits = 0;
            while (dot + 1 + digits < s.Length && char.IsAsciiDigit(s[dot + 1 + digits]))
            {
                digits++;
            }

            if (digits > 7)
            {
                s = string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(dot + 1 + digits));
            }
        }

        if (!DateTimeOffset.TryParseExact(s, AcceptedFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        value = new DateTimeOffset(parsed.UtcTicks - (parsed.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        return true;
    }

    private static readonly string[] AcceptedFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm",
        "yyyy-MM-dd",
    ];
}
