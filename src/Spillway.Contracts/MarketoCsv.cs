using System.Text;

namespace Spillway.Contracts;

/// <summary>
/// The text rules of an export file (CSV, TSV or SSV): UTF-8 without BOM, LF after every line, the bare word
/// <c>null</c> for a missing value, and minimal RFC 4180 quoting against the file's delimiter: a value is quoted
/// when it holds the delimiter, a quote, CR or LF, or is the text <c>null</c> itself; quotes inside are doubled.
/// </summary>
public static class MarketoCsv
{
    /// <summary>The unquoted word that stands for a missing value; quoted, it is the text <c>null</c>.</summary>
    public const string NullWord = "null";

    /// <summary>Whether a text value must be quoted in a file with <paramref name="delimiter"/>.</summary>
    /// <param name="value">The value.</param>
    /// <param name="delimiter">The file's delimiter.</param>
    /// <returns>Whether to quote it.</returns>
    public static bool NeedsQuotes(ReadOnlySpan<char> value, char delimiter) =>
        value.SequenceEqual(NullWord) || value.IndexOfAny('"', '\r', '\n') >= 0 || value.Contains(delimiter);

    /// <summary>Whether a UTF-8 value must be quoted in a file with <paramref name="delimiter"/> (an ASCII byte).</summary>
    /// <param name="value">The value's UTF-8 bytes.</param>
    /// <param name="delimiter">The file's delimiter.</param>
    /// <returns>Whether to quote it.</returns>
    public static bool NeedsQuotes(ReadOnlySpan<byte> value, byte delimiter) =>
        value.SequenceEqual("null"u8) || value.IndexOfAny((byte)'"', (byte)'\r', (byte)'\n') >= 0 || value.Contains(delimiter);

    /// <summary>
    /// Appends one value as a file holds it: <c>null</c> for a missing value, the text as is, or the text quoted with
    /// its quotes doubled when <see cref="NeedsQuotes(ReadOnlySpan{char}, char)"/> says so.
    /// </summary>
    /// <param name="line">The line being built.</param>
    /// <param name="value">The value; null is missing.</param>
    /// <param name="delimiter">The file's delimiter.</param>
    public static void AppendField(StringBuilder line, string? value, char delimiter)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (value is null)
        {
            line.Append(NullWord);
            return;
        }

        if (!NeedsQuotes(value, delimiter))
        {
            line.Append(value);
            return;
        }

        line.Append('"');
        var rest = value.AsSpan();
        for (var quote = rest.IndexOf('"'); quote >= 0; quote = rest.IndexOf('"'))
        {
            line.Append(rest[..(quote + 1)]).Append('"');
            rest = rest[(quote + 1)..];
        }

        line.Append(rest).Append('"');
    }
}
