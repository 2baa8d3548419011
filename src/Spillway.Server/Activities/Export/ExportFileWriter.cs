using System.Buffers;
using System.Collections.Concurrent;
using System.Buffers.Text;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Export;


/// <summary>
/// Writes the export file straight as UTF-8 bytes into one buffer, and hashes each
/// buffer just before it goes to the stream, so size and checksum come out of the same pass.
/// </summary>
/// <remarks>
/// <para>Format: UTF-8 without BOM; header line first; LF after every line, the last included; delimiter ',' (CSV),
/// tab (TSV) or the configured byte (SSV, space by default). A field is quoted only when its UTF-8 bytes contain the
/// active delimiter, '"', CR or LF, and an embedded '"' is doubled (header text included). A missing value is the
/// bare word <c>null</c>; an empty string is an empty field. Text is written as stored otherwise (NUL, CR, non-ASCII);
/// a lone UTF-16 surrogate, which UTF-8 cannot carry, becomes U+FFFD.</para>
/// <para>Memory: the writer holds its buffer (1 MiB, pooled) and the pre-encoded header, nothing else. A string too
/// large for the buffer is encoded in chunks.</para>
/// <para>Use: <see cref="WriteHeader"/> once, then <see cref="WriteRow"/> per row, then <see cref="Complete"/>. The
/// writer does not own <c>output</c>: it neither closes nor disposes it. Not thread-safe.</para>
/// </remarks>
public sealed class ExportFileWriter : IActivityRowSink, IDisposable
{
    /// <summary>The buffer size: 1 MiB.</summary>
    public const int DefaultBufferSize = 1 << 20;

    /// <summary>The smallest buffer the internal constructor accepts (the longest fixed-width value plus a delimiter fits many times).</summary>
    internal const int MinBufferSize = 64;

    // Room for a 20-byte integer (long.MinValue), a 20-byte date, a 4-byte "null" or one delimiter/LF.
    private const int FixedReserve = 24;

    private static readonly byte[] NullWord = "null"u8.ToArray();

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private readonly Stream _output;
    private readonly ExportField[] _fields;
    private readonly byte _delimiter;
    private readonly byte[] _headerLine;
    private readonly SearchValues<byte> _quoteTriggerBytes;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly int _capacity;

    private readonly WriteBehind? _behind;
    private byte[]? _buffer;
    private int _pos;
    private long _flushedBytes;
    private long _records;
    private bool _headerWritten;
    private ExportFileSummary? _summary;

    // The "yyyy-MM-dd" bytes of the last date written, keyed by its day number: rows come in date order.
    private long _cachedDay = -1;
    private ulong _cachedDateBytes;
    private ushort _cachedYearTail;

    /// <summary>Creates a writer for one export file.</summary>
    /// <param name="output">Receives the bytes. Not disposed by the writer.</param>
    /// <param name="format">CSV, TSV or SSV.</param>
    /// <param name="fields">The columns, in file order (no duplicates, at least one).</param>
    /// <param name="headerNames">Header text replacing a column's wire name; every key must be one of <paramref name="fields"/>.</param>
    /// <param name="ssvDelimiter">The SSV delimiter (space, as Marketo's bulk extract page says; a few of its pages say ';').
    /// Must be ASCII and not '"', CR or LF. Ignored for CSV and TSV.</param>
    /// <param name="writeBehind">Hash and write each full buffer on a thread of its own while the next one is formatted
    /// (an export job: formatting, SHA-256 and the writes then use two cores). The output is then written from that
    /// thread; an error writing it surfaces at the next buffer, <see cref="Flush"/> or <see cref="Complete"/>.</param>
    public ExportFileWriter(
        Stream output,
        ExportFormat format,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? headerNames,
        byte ssvDelimiter = (byte)' ',
        bool writeBehind = false)
        : this(output, format, fields, headerNames, ssvDelimiter, DefaultBufferSize, writeBehind)
    {
    }

    /// <summary>Tests use a small buffer to cross buffer boundaries everywhere.</summary>
    internal ExportFileWriter(
        Stream output,
        ExportFormat format,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? headerNames,
        byte ssvDelimiter,
        int bufferSize,
        bool writeBehind = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, MinBufferSize);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The output stream is not writable.", nameof(output));
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

        _fields = ValidateFields(fields, headerNames);
        _quoteTriggerBytes = SearchValues.Create([_delimiter, (byte)'"', (byte)'\r', (byte)'\n']);
        _headerLine = EncodeHeader(_fields, headerNames, _delimiter);
        _output = output;
        _capacity = bufferSize;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        _behind = writeBehind ? new WriteBehind(output, _hash) : null;
    }

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
    /// Writes one row, the configured fields in order, then LF. The text arrives as the UTF-8 bytes the store keeps and
    /// must be valid UTF-8; it is written as is.
    /// </summary>
    public void WriteRow(in Utf8ActivityRow row)
    {
        BeginRow();
        var fields = _fields;
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                WriteByte(_delimiter);
            }

            var field = fields[i];
            switch (field)
            {
                case ExportField.PrimaryAttributeValue:
                    WriteText(row.PrimaryAttributeValue, row.HasPrimaryAttributeValue);
                    break;
                case ExportField.Attributes:
                    WriteText(row.Attributes, present: true);
                    break;
                case ExportField.ActionResult:
                    WriteText(row.ActionResult, row.HasActionResult);
                    break;
                default:
                    WriteNumeric(field, row.MarketoGuid, row.LeadId, row.ActivityDateUnixSeconds * TimeSpan.TicksPerSecond + UnixEpochTicks,
                        row.ActivityTypeId, row.CampaignId, row.PrimaryAttributeValueId);
                    break;
            }
        }

        EndRow();
    }

    private void BeginRow()
    {
        ThrowIfNotWritable();
        if (!_headerWritten)
        {
            throw new InvalidOperationException("Write the header line before the first row.");
        }
    }

    private void EndRow()
    {
        WriteByte((byte)'\n');
        _records++;
    }

    private void WriteNumeric(ExportField field, long marketoGuid, long leadId, long activityDateUtcTicks, int activityTypeId, long? campaignId, long? primaryAttributeValueId)
    {
        switch (field)
        {
            case ExportField.MarketoGuid:
                WriteInteger(marketoGuid);
                break;
            case ExportField.LeadId:
                WriteInteger(leadId);
                break;
            case ExportField.ActivityDate:
                WriteDate(activityDateUtcTicks);
                break;
            case ExportField.ActivityTypeId:
                WriteInteger(activityTypeId);
                break;
            case ExportField.CampaignId:
                WriteNullableInteger(campaignId);
                break;
            case ExportField.PrimaryAttributeValueId:
                WriteNullableInteger(primaryAttributeValueId);
                break;
        }
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
    /// Writes what is buffered, flushes the output and returns what the file holds. The header must have been written.
    /// Later calls return the same summary; writes after it throw.
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

    private static ExportField[] ValidateFields(IReadOnlyList<ExportField> fields, IReadOnlyDictionary<ExportField, string>? headerNames)
    {
        if (fields.Count == 0)
        {
            throw new ArgumentException("An export has at least one column.", nameof(fields));
        }

        var result = new ExportField[fields.Count];
        var seen = 0;
        for (var i = 0; i < result.Length; i++)
        {
            var field = fields[i];
            if (!Enum.IsDefined(field))
            {
                throw new ArgumentOutOfRangeException(nameof(fields), field, "Unknown export field.");
            }

            var bit = 1 << (int)field;
            if ((seen & bit) != 0)
            {
                throw new ArgumentException($"The column '{ExportFields.WireName(field)}' is listed twice.", nameof(fields));
            }

            seen |= bit;
            result[i] = field;
        }

        if (headerNames is not null)
        {
            foreach (var (field, name) in headerNames)
            {
                if (!Enum.IsDefined(field) || (seen & (1 << (int)field)) == 0)
                {
                    throw new ArgumentException($"The header name for '{field}' is for a column that is not exported.", nameof(headerNames));
                }

                ArgumentNullException.ThrowIfNull(name, nameof(headerNames));
            }
        }

        return result;
    }

    private static byte[] EncodeHeader(ExportField[] fields, IReadOnlyDictionary<ExportField, string>? headerNames, byte delimiter)
    {
        var line = new StringBuilder();
        var triggers = SearchValues.Create([(char)delimiter, '"', '\r', '\n']);
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                line.Append((char)delimiter);
            }

            string? name = null;
            if (headerNames is null || !headerNames.TryGetValue(fields[i], out name))
            {
                name = ExportFields.WireName(fields[i]);
            }

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

    private void WriteInteger(long value)
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_pos), out var written);
        _pos += written;
    }

    private void WriteNullableInteger(long? value)
    {
        if (value.HasValue)
        {
            WriteInteger(value.GetValueOrDefault());
        }
        else
        {
            WriteNull();
        }
    }

    private void WriteNull()
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        NullWord.CopyTo(_buffer.AsSpan(_pos));
        _pos += NullWord.Length;
    }

    /// <summary>Writes <c>yyyy-MM-ddTHH:mm:ssZ</c> of the instant in UTC; sub-second digits are dropped (truncated).</summary>
    private void WriteDate(long utcTicks)
    {
        if (_capacity - _pos < FixedReserve)
        {
            FlushBuffer();
        }

        var ticks = utcTicks;
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

    /// <summary>
    /// Writes UTF-8 text: <c>null</c> when missing, otherwise the bytes, quoted when they contain the delimiter, '"', CR
    /// or LF (all ASCII, so no byte of a multi-byte sequence matches one).
    /// </summary>
    private void WriteText(ReadOnlySpan<byte> value, bool present)
    {
        if (!present)
        {
            WriteNull();
            return;
        }

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
                WriteLargeText(value);
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

    /// <summary>UTF-8 text that may not fit the buffer even empty: quoted, and written quote-doubled piece by piece.</summary>
    private void WriteLargeText(ReadOnlySpan<byte> value)
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

    /// <summary>
    /// Hashes and writes full buffers in order on a thread of its own, a few buffers behind the formatter (bounded, so
    /// memory stays a few MB). The hash is only touched by that thread until <see cref="Drain"/> returns.
    /// </summary>
    private sealed class WriteBehind
    {
        private const int BuffersBehind = 3;

        private readonly BlockingCollection<(byte[] Buffer, int Length)> _full = new(BuffersBehind);
        private readonly ConcurrentQueue<byte[]> _empty = new();
        private readonly Stream _output;
        private readonly IncrementalHash _hash;
        private readonly Thread _thread;
        private readonly object _idle = new(); // Monitor.Wait/Pulse need an object, not a Lock
        private int _pending; // handed off, not yet written; guarded by _idle
        private volatile bool _abandoned;
        private ExceptionDispatchInfo? _error;
        private int _stopped;

        public WriteBehind(Stream output, IncrementalHash hash)
        {
            _output = output;
            _hash = hash;
            _thread = new Thread(Run) { IsBackground = true, Name = "Spillway export write" };
            _thread.Start();
        }

        /// <summary>Queues a full buffer and returns an empty one to fill next.</summary>
        public byte[] HandOff(byte[] buffer, int length, int capacity)
        {
            _error?.Throw();
            lock (_idle)
            {
                _pending++;
            }

            _full.Add((buffer, length));
            return _empty.TryDequeue(out var next) ? next : ArrayPool<byte>.Shared.Rent(capacity);
        }

        /// <summary>Waits until every buffer handed off is hashed and written; rethrows a write error.</summary>
        public void Drain()
        {
            lock (_idle)
            {
                while (_pending > 0)
                {
                    Monitor.Wait(_idle);
                }
            }

            _error?.Throw();
        }

        /// <summary>Stops the thread after what is queued (written unless abandoned) and returns the buffers to the pool.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _stopped, 1) != 0)
            {
                return;
            }

            _full.CompleteAdding();
            _thread.Join();
            _full.Dispose();
            while (_empty.TryDequeue(out var buffer))
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        /// <summary>An abandoned export: what is still queued is dropped, not written.</summary>
        public void Abandon()
        {
            _abandoned = true;
            Dispose();
        }

        private void Run()
        {
            foreach (var (buffer, length) in _full.GetConsumingEnumerable())
            {
                try
                {
                    if (_error is null && !_abandoned)
                    {
                        var data = buffer.AsSpan(0, length);
                        _hash.AppendData(data);
                        _output.Write(data);
                    }
                }
                catch (Exception ex)
                {
                    _error = ExceptionDispatchInfo.Capture(ex);
                }
                finally
                {
                    _empty.Enqueue(buffer);
                    lock (_idle)
                    {
                        _pending--;
                        Monitor.PulseAll(_idle);
                    }
                }
            }
        }
    }
}
