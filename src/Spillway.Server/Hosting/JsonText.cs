using System.Runtime.InteropServices;
using System.Text.Json;
using Spillway.Contracts;

namespace Spillway.Server.Hosting;

/// <summary>What is wrong with the strings of a parsed JSON request body, worst first.</summary>
internal enum JsonTextProblem
{
    None,

    /// <summary>An escaped lone surrogate (<c>"\ud800"</c>): well-formed JSON whose string is no Unicode text.</summary>
    LoneSurrogate,

    /// <summary>Raw bytes that are not UTF-8: the body is not JSON text at all.</summary>
    InvalidUtf8,
}

/// <summary>
/// JsonDocument parses a body without decoding its strings; reading one later (GetString, a property's Name) throws
/// when it is not UTF-8 or holds a lone surrogate, and that would surface as a 611. Every request body is checked
/// here once, before any member is read: malformed bytes are Invalid JSON (609), a lone surrogate an invalid value (1003).
/// </summary>
internal static class JsonText
{
    /// <summary>The worst problem of any string (property names included) under <paramref name="element"/>.</summary>
    public static JsonTextProblem Check(JsonElement element)
    {
        var worst = JsonTextProblem.None;
        Walk(element, ref worst);
        return worst;
    }

    /// <summary>
    /// The Marketo error for an object whose own member names are not text (its values are not looked at), or null:
    /// for bodies whose records are checked one by one, so that one bad record is skipped alone.
    /// </summary>
    public static MarketoError? ApiErrorInNames(JsonElement element)
    {
        var worst = JsonTextProblem.None;
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                Note(Classify(JsonMarshal.GetRawUtf8PropertyName(property), () => property.Name), ref worst);
            }
        }

        return ToApiError(worst);
    }

    /// <summary>The Marketo error for a body whose strings are not text, or null when they all are.</summary>
    public static MarketoError? ApiError(JsonElement root) => ToApiError(Check(root));

    private static MarketoError? ToApiError(JsonTextProblem problem) => problem switch
    {
        JsonTextProblem.InvalidUtf8 => MarketoErrors.InvalidJson,
        JsonTextProblem.LoneSurrogate => MarketoErrors.InvalidData("Invalid value: a string holds an unpaired surrogate (\\ud800-\\udfff) and is not text"),
        _ => null,
    };

    /// <summary>The one-line reason for the admin API's problem body, or null when every string is text.</summary>
    public static string? AdminError(JsonElement root) => Check(root) switch
    {
        JsonTextProblem.InvalidUtf8 => "The request body is not valid UTF-8.",
        JsonTextProblem.LoneSurrogate => "A string of the request body holds an unpaired surrogate.",
        _ => null,
    };

    private static void Walk(JsonElement element, ref JsonTextProblem worst)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                Note(Classify(JsonMarshal.GetRawUtf8Value(element), () => element.GetString()), ref worst);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, ref worst);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Note(Classify(JsonMarshal.GetRawUtf8PropertyName(property), () => property.Name), ref worst);
                    Walk(property.Value, ref worst);
                }

                break;
        }
    }

    private static void Note(JsonTextProblem found, ref JsonTextProblem worst)
    {
        if (found > worst)
        {
            worst = found;
        }
    }

    private static JsonTextProblem Classify(ReadOnlySpan<byte> raw, Func<string?> decode)
    {
        if (!System.Text.Unicode.Utf8.IsValid(raw))
        {
            return JsonTextProblem.InvalidUtf8;
        }

        if (raw.IndexOf((byte)'\\') < 0)
        {
            return JsonTextProblem.None;
        }

        try
        {
            decode();
            return JsonTextProblem.None;
        }
        catch (InvalidOperationException)
        {
            // Valid UTF-8 that does not decode: an escape that names half a surrogate pair.
            return JsonTextProblem.LoneSurrogate;
        }
    }
}
