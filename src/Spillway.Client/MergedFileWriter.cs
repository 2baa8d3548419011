using System.Text;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>
/// Writes the rows of a merged extraction the way the export files are written (<see cref="MarketoCsv"/>): UTF-8
/// without BOM, LF after every line, values quoted only when needed, a missing value as the bare word <c>null</c>.
/// </summary>
internal sealed class MergedFileWriter : IDisposable, IAsyncDisposable
{
    private readonly StreamWriter _writer;
    private readonly char _delimiter;
    private readonly StringBuilder _line = new();

    /// <summary>Creates a writer.</summary>
    /// <param name="stream">Where the text goes.</param>
    /// <param name="delimiter">The delimiter: comma, tab or space.</param>
    /// <param name="leaveOpen">Leave the stream open when the writer is disposed.</param>
    public MergedFileWriter(Stream stream, char delimiter = ',', bool leaveOpen = false)
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

            MarketoCsv.AppendField(_line, values[i], _delimiter);
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
}
