namespace Spillway.Client;

/// <summary>The formats of an export file.</summary>
public enum ExportFileFormat
{
    /// <summary>Comma-separated values (the default).</summary>
    Csv,

    /// <summary>Tab-separated values.</summary>
    Tsv,

    /// <summary>Space-separated values (Marketo's SSV; a few pages say semicolon, see <see cref="ExportFileReaderOptions.Delimiter"/>).</summary>
    Ssv,
}

/// <summary>Helpers for <see cref="ExportFileFormat"/>.</summary>
public static class ExportFileFormats
{
    /// <summary>The delimiter of a format: comma, tab or space.</summary>
    /// <param name="format">The format.</param>
    /// <returns>The delimiter.</returns>
    public static char Delimiter(ExportFileFormat format) => format switch
    {
        ExportFileFormat.Csv => ',',
        ExportFileFormat.Tsv => '\t',
        ExportFileFormat.Ssv => ' ',
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
    };

    /// <summary>Parses the wire name (<c>CSV</c>, <c>TSV</c>, <c>SSV</c>, any case; null or empty means CSV).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The format.</returns>
    public static ExportFileFormat Parse(string? name) => name?.Trim().ToUpperInvariant() switch
    {
        null or "" or "CSV" => ExportFileFormat.Csv,
        "TSV" => ExportFileFormat.Tsv,
        "SSV" => ExportFileFormat.Ssv,
        _ => throw new FormatException($"'{name}' is not an export format (CSV, TSV or SSV)."),
    };

    /// <summary>The wire name of a format: <c>CSV</c>, <c>TSV</c> or <c>SSV</c>.</summary>
    /// <param name="format">The format.</param>
    /// <returns>The name.</returns>
    public static string ToWireName(ExportFileFormat format) => format switch
    {
        ExportFileFormat.Csv => "CSV",
        ExportFileFormat.Tsv => "TSV",
        ExportFileFormat.Ssv => "SSV",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
    };
}
