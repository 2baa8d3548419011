using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// Writes a bulk extract's delimited file cell by cell, straight as UTF-8 bytes into one buffer, and hashes each buffer
/// just before it goes to the stream, so size and checksum come out of the same pass. Every extract kind writes its
/// file through it and maps its own rows to cells (activities: <c>ActivityRowWriter</c>).
/// </summary>
/// <remarks>
/// <para>Format: UTF-8 without BOM; header line first; LF after every line, the last included; delimiter ',' (CSV),
/// tab (TSV) or the configured byte (SSV, space by default). A cell is quoted only when its UTF-8 bytes contain the
/// active delimiter, '"', CR or LF, and an embedded '"' is doubled (header text included). A missing value is the
/// bare word <c>null</c>; an empty text is an empty cell. Text is written as it comes otherwise (NUL, CR, non-ASCII).
/// A date is UTC to the second, <c>yyyy-MM-ddTHH:mm:ssZ</c>, as Marketo writes it.</para>
/// <para>Memory: the writer holds its buffer (1 MiB, pooled) and the pre-encoded header, nothing else. A text too
/// large for the buffer is written in pieces.</para>
/// <para>Use: <see cref="WriteHeader"/> once; then per row one cell per column, in column order
/// (<see cref="WriteText"/>, <see cref="WriteMissing"/>, <see cref="WriteInteger(long)"/>, <see cref="WriteDateTime"/>),
/// and <see cref="EndRow"/>; then <see cref="Complete"/>. The writer does not own <c>output</c>: it neither closes nor
/// disposes it. Not thread-safe.</para>
/// </remarks>
public sealed partial class ExportFileWriter : IDisposable
{
    /// <summary>The buffer size: 1 MiB.</summary>
    public const int DefaultBufferSize = 1 << 20;

    /// <summary>The smallest buffer the internal constructor accepts (the longest fixed-width cell plus a delimiter fits many times).</summary>
    internal const int MinBufferSize = 64;

    // Room for a delimiter and then a 20-byte integer (long.MinValue), a 20-byte date or a 4-byte "null".
    private const int FixedReserve = 24;

    private static readonly byte[] NullWord = "null"u8.ToArray();

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private readonly Stream _output;
    private readonly byte _delimiter;
    private readonly int _columns;
    private readonly byte[] _headerLine;
    private readonly SearchValues<byte> _quoteTriggerBytes;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly int _capacity;

    private readonly WriteBehind? _behind;
    private byte[]? _buffer;
    private int _pos;
    private int _cells; // cells written of the current row
    private long _flushedBytes;
    private long _records;
    private bool _headerWritten;
    private ExportFileSummary? _summary;

    // The "yyyy-MM-dd" bytes of the last date written, keyed by its day number: rows mostly come in date order.
    private long _cachedDay = -1;
    private ulong _cachedDateBytes;
    private ushort _cachedYearTail;

    /// <summary>Creates a writer for one export file.</summary>
    /// <param name="output">Receives the bytes. Not disposed by the writer.</param>
    /// <param name="format">CSV, TSV or SSV.</param>
    /// <param name="columnNames">The header text of each column, in file order (at least one).</param>
    /// <param name="ssvDelimiter">The SSV delimiter (space by default; some of Marketo's pages say ';').
    /// Must be ASCII and not '"', CR or LF. Ignored for CSV and TSV.</param>
    /// <param name="writeBehind">Hash and write each full buffer on a thread of its own while the next one is formatted
    /// (an export job: formatting, SHA-256 and the writes then use two cores). The output is then written from that
    /// thread; an error writing it surfaces at the next buffer, <see cref="Flush"/> or <see cref="Complete"/>.</param>
    public ExportFileWriter(
        Stream output,
        ExportFormat format,
        IReadOnlyList<string> columnNames,
        byte ssvDelimiter = (byte)' ',
        bool writeBehind = false)
        : this(output, format, columnNames, ssvDelimiter, DefaultBufferSize, writeBehind)
    {
    }

    /// <summary>Tests use a small buffer to cross buffer boundaries everywhere.</summary>
    internal ExportFileWriter(
        Stream output,
        ExportFormat format,
        IReadOnlyList<string> columnNames,
        byte ssvDelimiter,
        int bufferSize,
        bool writeBehind = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(columnNames);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, MinBufferSize);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The output stream is not writable.", nameof(output));
        }

        if (columnNames.Count == 0)
        {
            throw new ArgumentException("An export has at least one column.", nameof(columnNames));
        }

        _delimiter = format switch
        {
            ExportFormat.Csv => (byte)',',
            ExportFormat.Tsv => (byte)'\t',
            ExportFormat.Ssv => ssvDelimiter,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown export format."),
        };
        // An ASCII delimiter keeps the byte search exact: no byte of a multi-byte UTF-8 sequence is below 0x80.
        if (_delimiter >= 0x80 || _delimiter is (byte)'"' or (byte)'\r' or (byte)'\n')
        {
            throw new ArgumentOutOfRangeException(nameof(ssvDelimiter), ssvDelimiter, "The delimiter must be ASCII and not '\"', CR or LF.");
        }

        _quoteTriggerBytes = SearchValues.Create([_delimiter, (byte)'"', (byte)'\r', (byte)'\n']);
        _headerLine = EncodeHeader(columnNames, _delimiter);
        _columns = columnNames.Count;
        _output = output;
        _capacity = bufferSize;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        _behind = writeBehind ? new WriteBehind(output, _hash) : null;
    }

    /// <summary>The number of columns: every row has exactly this many cells.</summary>
    public int ColumnCount => _columns;

    /// <summary>Rows written so far (the header is not a row).</summary>
    public long NumberOfRecords => _records;

    /// <summary>Writes the header line. Call it once, before any row.</summary>
    public void WriteHeader()
    {
        ThrowIfNotWritable();
        if (_headerWritten)
        {
            throw new InvalidOperationException("The header line was already written.");
        }

        _headerWritten = true;
        WriteBytes(_headerLine);
    }

    /// <summary>
    /// Writes a text cell from its UTF-8 bytes (valid UTF-8, written as is), quoted when it contains the delimiter, '"',
    /// CR or LF (all ASCII, so no byte of a multi-byte sequence matches one). An empty text is an empty cell.
    /// </summary>
    // The per-row methods of an export (here, the row writers and the stores' readers) are compiled fully optimised at
    // once: under tiered compilation a server's first exports ran them as tier-0 and then PGO-instrumented code for
    // seconds, a 1 M-row export taking 1.3-1.7 s instead of 0.9-1.0 s (docs/performance.md, "Tiered compilation").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteText(ReadOnlySpan<byte> value)
    {
        if (_pos >= _capacity)
        {
            FlushBuffer();
        }

        StartCell();
        var first = value.IndexOfAny(_quoteTriggerBytes);
        if (first < 0)
        {
            WriteBytes(value);
            return;
        }

        // Worst case every byte is a quote: doubled, plus the two around.
        if (((long)value.Length * 2) + 2 > _capacity - _pos)
        {
            if (((long)value.Length * 2) + 2 > _capacity)
            {
                WriteLargeQuoted(value);
                return;
            }

            FlushBuffer();
        }

        var buffer = _buffer.AsSpan();
        var pos = _pos;
        buffer[pos++] = (byte)'"';
        value[..first].CopyTo(buffer[pos..]);
        pos += first;
        var rest = value[first..];
        while (true)
        {
            var q = rest.IndexOf((byte)'"');
            if (q < 0)
            {
                rest.CopyTo(buffer[pos..]);
                pos += rest.Length;
                break;
            }

            // Up to and including the quote, then the quote once more.
            rest[..(q + 1)].CopyTo(buffer[pos..]);
            pos += q + 1;
            buffer[pos++] = (byte)'"';
            rest = rest[(q + 1)..];
        }

        buffer[pos++] = (byte)'"';
        _pos = pos;
    }

    /// <summary>Writes a missing value: the bare word <c>null</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteMissing()
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        StartCell();
        NullWord.CopyTo(_buffer.AsSpan(_pos));
        _pos += NullWord.Length;
    }

    /// <summary>Writes an integer cell in invariant decimal digits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInteger(long value)
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        StartCell();
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_pos), out var written);
        _pos += written;
    }

    /// <summary>Writes an integer cell, or <c>null</c> when there is no value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInteger(long? value)
    {
        if (value.HasValue)
        {
            WriteInteger(value.GetValueOrDefault());
        }
        else
        {
            WriteMissing();
        }
    }

    /// <summary>
    /// Writes an instant given as Unix seconds as Marketo writes dates: <c>yyyy-MM-ddTHH:mm:ssZ</c> in UTC. The instant
    /// must lie in years 1 to 9999.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteDateTime(long unixSeconds)
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        StartCell();
        var ticks = (unixSeconds * TimeSpan.TicksPerSecond) + UnixEpochTicks;
        var day = ticks / TimeSpan.TicksPerDay;
        if (day != _cachedDay)
        {
            CacheDate(new DateTime(ticks, DateTimeKind.Utc), day);
        }

        var seconds = (int)(ticks % TimeSpan.TicksPerDay / TimeSpan.TicksPerSecond);
        var hour = seconds / 3600;
        var minute = seconds / 60 % 60;
        var second = seconds % 60;

        var d = _buffer.AsSpan(_pos, 20);
        MemoryMarshal.Write(d, in _cachedDateBytes);
        MemoryMarshal.Write(d[8..], in _cachedYearTail);
        d[10] = (byte)'T';
        d[11] = (byte)('0' + (hour / 10));
        d[12] = (byte)('0' + (hour % 10));
        d[13] = (byte)':';
        d[14] = (byte)('0' + (minute / 10));
        d[15] = (byte)('0' + (minute % 10));
        d[16] = (byte)':';
        d[17] = (byte)('0' + (second / 10));
        d[18] = (byte)('0' + (second % 10));
        d[19] = (byte)'Z';
        _pos += 20;
    }

    /// <summary>Ends the row with LF. The row must have had exactly <see cref="ColumnCount"/> cells.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EndRow()
    {
        if (_cells != _columns)
        {
            ThrowCellCount();
        }

        if (_pos >= _capacity)
        {
            FlushBuffer();
        }

        _buffer![_pos++] = (byte)'\n';
        _cells = 0;
        _records++;
    }

    /// <summary>Hashes the buffered bytes, writes them to the output and flushes the output.</summary>
    public void Flush()
    {
        ThrowIfNotWritable();
        FlushBuffer();
        _behind?.Drain();
        _output.Flush();
    }

    /// <summary>
    /// Writes what is buffered, flushes the output and returns what the file holds. The header must have been written
    /// and the last row ended. Later calls return the same summary; writes after it throw.
    /// </summary>
    public ExportFileSummary Complete()
    {
        if (_summary is not null)
        {
            return _summary;
        }

        ThrowIfNotWritable();
        if (!_headerWritten)
        {
            throw new InvalidOperationException("An export file starts with its header line: write it before completing.");
        }

        if (_cells != 0)
        {
            throw new InvalidOperationException("The last row was not ended.");
        }

        FlushBuffer();
        if (_behind is not null)
        {
            _behind.Drain();
            _behind.Dispose();
        }

        _output.Flush();
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        _hash.GetHashAndReset(digest);
        _summary = new ExportFileSummary(_records, _flushedBytes, "sha256:" + Convert.ToHexStringLower(digest));
        return _summary;
    }

    /// <summary>Returns the buffer to the pool. Does not flush (an abandoned export leaves what was already written) and does not touch the output.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        if (buffer is null)
        {
            return;
        }

        _behind?.Abandon();
        _buffer = null;
        _pos = 0;
        _hash.Dispose();
        ArrayPool<byte>.Shared.Return(buffer);
    }

    private static byte[] EncodeHeader(IReadOnlyList<string> columnNames, byte delimiter)
    {
        var line = new StringBuilder();
        var triggers = SearchValues.Create([(char)delimiter, '"', '\r', '\n']);
        for (var i = 0; i < columnNames.Count; i++)
        {
            if (i > 0)
            {
                line.Append((char)delimiter);
            }

            var name = columnNames[i] ?? throw new ArgumentException("A column has no header text.", nameof(columnNames));
            if (name.AsSpan().ContainsAny(triggers))
            {
                line.Append('"').Append(name.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            }
            else
            {
                line.Append(name);
            }
        }

        line.Append('\n');
        return Encoding.UTF8.GetBytes(line.ToString());
    }

    /// <summary>
    /// Opens a cell: the first of a row checks the writer may write a row, any other is preceded by the delimiter. The
    /// caller has made room for at least one byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StartCell()
    {
        if (_cells == 0)
        {
            BeginRow();
        }
        else
        {
            _buffer![_pos++] = _delimiter;
        }

        _cells++;
    }

    private void BeginRow()
    {
        ThrowIfNotWritable();
        if (!_headerWritten)
        {
            throw new InvalidOperationException("Write the header line before the first row.");
        }
    }

    private void ThrowCellCount() =>
        throw new InvalidOperationException($"A row has {_columns} cells; this one has {_cells}.");

    private void ThrowIfNotWritable()
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (_summary is not null)
        {
            throw new InvalidOperationException("The export file is complete.");
        }
    }

    /// <summary>Hashes and writes the buffered bytes; the buffer is empty afterwards.</summary>
    private void FlushBuffer()
    {
        if (_pos == 0)
        {
            return;
        }

        if (_behind is not null)
        {
            _buffer = _behind.HandOff(_buffer!, _pos, _capacity);
        }
        else
        {
            var data = _buffer.AsSpan(0, _pos);
            _hash.AppendData(data);
            _output.Write(data);
        }

        _flushedBytes += _pos;
        _pos = 0;
    }

    private void WriteByte(byte value)
    {
        if (_pos >= _capacity)
        {
            FlushBuffer();
        }

        _buffer![_pos++] = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_pos == _capacity)
            {
                FlushBuffer();
            }

            var n = Math.Min(bytes.Length, _capacity - _pos);
            bytes[..n].CopyTo(_buffer.AsSpan(_pos));
            _pos += n;
            bytes = bytes[n..];
        }
    }

    private void CacheDate(DateTime utc, long day)
    {
        Span<byte> text = stackalloc byte[10];
        var (year, month, dayOfMonth) = utc;
        text[0] = (byte)('0' + (year / 1000));
        text[1] = (byte)('0' + (year / 100 % 10));
        text[2] = (byte)('0' + (year / 10 % 10));
        text[3] = (byte)('0' + (year % 10));
        text[4] = (byte)'-';
        text[5] = (byte)('0' + (month / 10));
        text[6] = (byte)('0' + (month % 10));
        text[7] = (byte)'-';
        text[8] = (byte)('0' + (dayOfMonth / 10));
        text[9] = (byte)('0' + (dayOfMonth % 10));
        _cachedDateBytes = MemoryMarshal.Read<ulong>(text);
        _cachedYearTail = MemoryMarshal.Read<ushort>(text[8..]);
        _cachedDay = day;
    }

    /// <summary>A quoted text that may not fit the buffer even empty: written quote-doubled piece by piece.</summary>
    private void WriteLargeQuoted(ReadOnlySpan<byte> value)
    {
        WriteByte((byte)'"');
        while (true)
        {
            var q = value.IndexOf((byte)'"');
            if (q < 0)
            {
                WriteBytes(value);
                break;
            }

            WriteBytes(value[..(q + 1)]);
            WriteByte((byte)'"');
            value = value[(q + 1)..];
        }

        WriteByte((byte)'"');
    }
}
