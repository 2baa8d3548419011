namespace Spillway.Contracts;

/// <summary>The formats of an export file.</summary>
public enum ExportFileFormat
{
    /// <summary>Comma-separated values (the default).</summary>
    Csv = 0,

    /// <summary>Tab-separated values.</summary>
    Tsv = 1,

    /// <summary>
    /// Space-separated values. Marketo's SSV is space-separated; a few of its pages say semicolon, so readers take
    /// another delimiter when asked.
    /// </summary>
    Ssv = 2,
}

/// <summary>The wire names and delimiters of <see cref="ExportFileFormat"/>.</summary>
public static class ExportFileFormats
{
    /// <summary>The wire name of <see cref="ExportFileFormat.Csv"/>.</summary>
    public const string Csv = "CSV";

    /// <summary>The wire name of <see cref="ExportFileFormat.Tsv"/>.</summary>
    public const string Tsv = "TSV";

    /// <summary>The wire name of <see cref="ExportFileFormat.Ssv"/>.</summary>
    public const string Ssv = "SSV";

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

    /// <summary>
    /// Parses a wire name: <c>CSV</c>, <c>TSV</c> or <c>SSV</c> in any case, surrounding white space ignored.
    /// </summary>
    /// <param name="name">The name.</param>
    /// <param name="format">The format.</param>
    /// <returns>Whether the name is one of the three.</returns>
    public static bool TryParse(string? name, out ExportFileFormat format)
    {
        switch (name?.Trim().ToUpperInvariant())
        {
            case Csv: format = ExportFileFormat.Csv; return true;
            case Tsv: format = ExportFileFormat.Tsv; return true;
            case Ssv: format = ExportFileFormat.Ssv; return true;
            default: format = default; return false;
        }
    }

    /// <summary>Parses the wire name (<c>CSV</c>, <c>TSV</c>, <c>SSV</c>, any case; null or empty means CSV).</summary>
    /// <param name="name">The name.</param>
    /// <returns>The format.</returns>
    /// <exception cref="FormatException">The name is none of the three.</exception>
    public static ExportFileFormat Parse(string? name) =>
        string.IsNullOrWhiteSpace(name) ? ExportFileFormat.Csv
        : TryParse(name, out var format) ? format
        : throw new FormatException($"'{name}' is not an export format (CSV, TSV or SSV).");

    /// <summary>The wire name of a format: <c>CSV</c>, <c>TSV</c> or <c>SSV</c>.</summary>
    /// <param name="format">The format.</param>
    /// <returns>The name.</returns>
    public static string ToWireName(ExportFileFormat format) => format switch
    {
        ExportFileFormat.Csv => Csv,
        ExportFileFormat.Tsv => Tsv,
        ExportFileFormat.Ssv => Ssv,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
    };
}
