using System.Text;

namespace Spillway.Client;

/// <summary>
/// Writes rows the way the export files are written: UTF-8 without BOM, LF after every line, minimal RFC 4180
/// quoting against the delimiter (a field is quoted when it holds the delimiter, a quote, CR or LF, or is the text
/// <c>null</c>), embedded quotes doubled, and a missing value as the bare word <c>null</c>.
/// </summary>
public sealed class ExportFileWriter : IDisposable, IAsyncDisposable
{
    private readonly StreamWriter _writer;
    private readonly char _delimiter;
    private readonly StringBuilder _line = new();

    /// <summary>Creates a writer.</summary>
    /// <param name="stream">Where the text goes.</param>
    /// <param name="delimiter">The delimiter: comma, tab or space.</param>
    /// <param name="leaveOpen">Leave the stream open when the writer is disposed.</param>
    public ExportFileWriter(Stream stream, char delimiter = ',', bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _delimiter = delimiter;
        _writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen) { NewLine = "\n" };
    }

    /// <summary>Writes one line.</summary>
    /// <param name="values">The values; null is written as the bare word <c>null</c>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the line is buffered.</returns>
    public async Task WriteRowAsync(IReadOnlyList<string?> values, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        _line.Clear();
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                _line.Append(_delimiter);
            }

            AppendField(values[i]);
        }

        _line.Append('\n');
        await _writer.WriteAsync(_line, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Flushes the buffered text to the stream.</summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>A task that completes when the text is flushed.</returns>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _writer.FlushAsync(cancellationToken);

    /// <summary>Flushes and disposes the writer.</summary>
    public void Dispose() => _writer.Dispose();

    /// <summary>Flushes and disposes the writer.</summary>
    /// <returns>A task that completes when the writer is disposed.</returns>
    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private void AppendField(string? value)
    {
        if (value is null)
        {
            _line.Append("null");
            return;
        }

        var needsQuotes = value == "null" || value.AsSpan().IndexOfAny(['"', '\r', '\n', _delimiter]) >= 0;
        if (!needsQuotes)
        {
            _line.Append(value);
            return;
        }

        _line.Append('"');
        foreach (var c in value)
        {
            if (c == '"')
            {
                _line.Append('"');
            }

            _line.Append(c);
        }

        _line.Append('"');
    }
}
