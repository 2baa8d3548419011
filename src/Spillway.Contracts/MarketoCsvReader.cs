using System.Buffers.Text;
using System.Text;

namespace Spillway.Contracts;

/// <summary>
/// Reads an export file (CSV, TSV or SSV) one record at a time over its UTF-8 bytes, with memory bounded by the
/// longest record. The rules, against the file's delimiter (RFC 4180 as Marketo writes it):
/// <list type="bullet">
/// <item>A record ends with LF or CRLF; a CR elsewhere outside quotes is data, and a CR at the very end is a cut-off CRLF.</item>
/// <item>A field that starts with a quote is quoted: it may hold the delimiter, doubled quotes, CR, LF and any text.
/// A quote inside it that is followed by neither a quote, the delimiter nor a line end is text (Marketo writes such
/// quotes unescaped).</item>
/// <item>A quote inside an unquoted field is text.</item>
/// <item>The unquoted word <c>null</c> is a missing value (<see cref="IsNull"/>); quoted, it is the text.</item>
/// <item>A UTF-8 byte order mark at the start is skipped.</item>
/// </list>
/// What a blank line, a short record or a file that ends inside quotes means is the caller's to decide:
/// see <see cref="IsBlankLine"/> and <see cref="EndsInsideQuotes"/>.
/// </summary>
public sealed class MarketoCsvReader : IDisposable, IAsyncDisposable
{
    /// <summary>The longest field accepted by default, in bytes.</summary>
    public const int DefaultMaxFieldBytes = 64 * 1024 * 1024;

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        QuotedCr,
    }

    private readonly Stream _stream;
    private readonly byte _delimiter;
    private readonly int _maxFieldBytes;
    private readonly bool _leaveOpen;
    private readonly byte[] _input = new byte[1 << 17];
    private int _inputPos;
    private int _inputLen;
    private bool _started;
    private bool _eof;
    private State _state;
    private bool _recordHasBytes;
    private byte[] _row = new byte[4096];
    private int _rowLen;
    private int[] _starts = new int[16];
    private int[] _lengths = new int[16];
    private bool[] _quoted = new bool[16];
    private bool _fieldQuoted;
    private long _line = 1;

    /// <summary>Creates a reader.</summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="delimiter">The delimiter, an ASCII character other than a quote, CR or LF.</param>
    /// <param name="maxFieldBytes">The longest field accepted; a longer one is an error rather than unbounded memory.</param>
    /// <param name="leaveOpen">Leave the stream open when the reader is disposed.</param>
    public MarketoCsvReader(Stream stream, char delimiter = ',', int maxFieldBytes = DefaultMaxFieldBytes, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (delimiter is '"' or '\r' or '\n' || !char.IsAscii(delimiter))
        {
            throw new ArgumentException("The delimiter must be an ASCII character other than a quote or a line break.", nameof(delimiter));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFieldBytes);
        _stream = stream;
        _delimiter = (byte)delimiter;
        _maxFieldBytes = maxFieldBytes;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The number of fields of the current record.</summary>
    public int FieldCount { get; private set; }

    /// <summary>The 1-based line the current record starts on (a quoted field may span lines).</summary>
    public long RecordLine { get; private set; }

    /// <summary>Whether the current record is an empty line: one unquoted empty field.</summary>
    public bool IsBlankLine => FieldCount == 1 && _lengths[0] == 0 && !_quoted[0];

    /// <summary>Whether the stream ended inside a quoted field of the current record (its last field ran to the end).</summary>
    public bool EndsInsideQuotes { get; private set; }

    /// <summary>
    /// Whether the current record was ended by the end of the stream rather than by a line break. Export files end
    /// every record, the last included, with a line break, so a last record without one may be a file cut short.
    /// </summary>
    public bool EndsWithoutLineBreak { get; private set; }

    /// <summary>The bytes of a field, quotes removed and doubled quotes undoubled; valid until the next read.</summary>
    /// <param name="index">The field's index.</param>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> GetBytes(int index) => _row.AsSpan(_starts[Check(index)], _lengths[index]);

    /// <summary>Whether a field was quoted.</summary>
    /// <param name="index">The field's index.</param>
    /// <returns>Whether it started with a quote.</returns>
    public bool IsQuoted(int index) => _quoted[Check(index)];

    /// <summary>Whether a field is the unquoted word <c>null</c>: a missing value.</summary>
    /// <param name="index">The field's index.</param>
    /// <returns>Whether the value is missing.</returns>
    public bool IsNull(int index) => !IsQuoted(index) && GetBytes(index).SequenceEqual("null"u8);

    /// <summary>A field as text (invalid UTF-8 becomes U+FFFD); the word <c>null</c> stays text.</summary>
    /// <param name="index">The field's index.</param>
    /// <returns>The text.</returns>
    public string GetString(int index) => Encoding.UTF8.GetString(GetBytes(index));

    /// <summary>A field as text, or null for a missing value (see <see cref="IsNull"/>).</summary>
    /// <param name="index">The field's index.</param>
    /// <returns>The text or null.</returns>
    public string? GetStringOrNull(int index) => IsNull(index) ? null : GetString(index);

    /// <summary>Parses a field as a whole 64-bit integer (an optional sign and digits, nothing else).</summary>
    /// <param name="index">The field's index.</param>
    /// <param name="value">The integer.</param>
    /// <returns>Whether the field is one.</returns>
    public bool TryGetInt64(int index, out long value)
    {
        var bytes = GetBytes(index);
        return Utf8Parser.TryParse(bytes, out value, out var consumed) && consumed == bytes.Length && consumed > 0;
    }

    /// <summary>Parses a field as a date-time in one of the forms <see cref="MarketoDateTime.TryParse"/> accepts.</summary>
    /// <param name="index">The field's index.</param>
    /// <param name="value">The instant, truncated to the second.</param>
    /// <returns>Whether the field is one.</returns>
    public bool TryGetDateTime(int index, out DateTimeOffset value)
    {
        var b = GetBytes(index);
        // The export's own form, yyyy-MM-ddTHH:mm:ssZ, without decoding text.
        if (b.Length == 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == 'Z'
            && Digits(b[..4], out var year) && Digits(b.Slice(5, 2), out var month) && Digits(b.Slice(8, 2), out var day)
            && Digits(b.Slice(11, 2), out var hour) && Digits(b.Slice(14, 2), out var minute) && Digits(b.Slice(17, 2), out var second)
            && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(Math.Max(1, year), month) && hour < 24 && minute < 60 && second < 60)
        {
            value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero);
            return true;
        }

        return MarketoDateTime.TryParse(Encoding.UTF8.GetString(b), out value);
    }

    /// <summary>Reads the next record.</summary>
    /// <returns>False at the end of the stream.</returns>
    /// <exception cref="InvalidDataException">A field is longer than the limit.</exception>
    public bool Read()
    {
        StartRecord();
        while (true)
        {
            if (Advance())
            {
                return true;
            }

            if (!Fill())
            {
                return Finish();
            }
        }
    }

    /// <summary>Reads the next record.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>False at the end of the stream.</returns>
    /// <exception cref="InvalidDataException">A field is longer than the limit.</exception>
    public async ValueTask<bool> ReadAsync(CancellationToken cancellationToken = default)
    {
        StartRecord();
        while (true)
        {
            if (Advance())
            {
                return true;
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return Finish();
            }
        }
    }

    /// <summary>Disposes the stream unless the reader was told to leave it open.</summary>
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    /// <summary>Disposes the stream unless the reader was told to leave it open.</summary>
    /// <returns>A task that completes when the stream is disposed.</returns>
    public ValueTask DisposeAsync() => _leaveOpen ? ValueTask.CompletedTask : _stream.DisposeAsync();

    private int Check(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, FieldCount);
        return index;
    }

    private static bool Digits(ReadOnlySpan<byte> b, out int value)
    {
        value = 0;
        foreach (var c in b)
        {
            if (c is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return value > 0 || b.Length < 4;
    }

    private void StartRecord()
    {
        _rowLen = 0;
        FieldCount = 0;
        EndsInsideQuotes = false;
        EndsWithoutLineBreak = false;
        RecordLine = _line;
        _recordHasBytes = false;
        _state = State.FieldStart;
        StartField();
    }

    /// <summary>Consumes buffered input; true when a record is complete, false when the buffer ran out first.</summary>
    private bool Advance()
    {
        while (_inputPos < _inputLen)
        {
            _recordHasBytes = true;
            var rest = _input.AsSpan(_inputPos, _inputLen - _inputPos);
            switch (_state)
            {
                case State.FieldStart:
                    if (rest[0] == (byte)'"')
                    {
                        _inputPos++;
                        _fieldQuoted = true;
                        _state = State.Quoted;
                    }
                    else
                    {
                        _state = State.Unquoted;
                    }

                    break;
                case State.Unquoted:
                    {
                        var stop = rest.IndexOfAny(_delimiter, (byte)'\n');
                        if (stop < 0)
                        {
                            Put(rest);
                            _inputPos = _inputLen;
                            break;
                        }

                        Put(rest[..stop]);
                        _inputPos += stop + 1;
                        if (rest[stop] == _delimiter)
                        {
                            NextField();
                            break;
                        }

                        _line++;
                        DropFinalCr();
                        EndField();
                        return true;
                    }

                case State.Quoted:
                    {
                        var quote = rest.IndexOf((byte)'"');
                        var text = quote < 0 ? rest : rest[..quote];
                        _line += text.Count((byte)'\n');
                        Put(text);
                        _inputPos += quote < 0 ? rest.Length : quote + 1;
                        if (quote >= 0)
                        {
                            _state = State.QuoteInQuoted;
                        }

                        break;
                    }

                case State.QuoteInQuoted:
                    var b = rest[0];
                    _inputPos++;
                    if (b == (byte)'"')
                    {
                        Put("\""u8);
                        _state = State.Quoted;
                    }
                    else if (b == _delimiter)
                    {
                        NextField();
                    }
                    else if (b == (byte)'\n')
                    {
                        _line++;
                        EndField();
                        return true;
                    }
                    else if (b == (byte)'\r')
                    {
                        _state = State.QuotedCr;
                    }
                    else
                    {
                        // A stray quote: text, and the field stays quoted; look at this byte again.
                        Put("\""u8);
                        _inputPos--;
                        _state = State.Quoted;
                    }

                    break;
                case State.QuotedCr:
                    if (rest[0] == (byte)'\n')
                    {
                        _inputPos++;
                        _line++;
                        EndField();
                        return true;
                    }

                    Put("\"\r"u8);
                    _state = State.Quoted;
                    break;
            }
        }

        return false;
    }

    /// <summary>The end of the stream: completes a record that lacks its final line end.</summary>
    private bool Finish()
    {
        if (!_recordHasBytes)
        {
            return false;
        }

        EndsWithoutLineBreak = true;
        if (_state == State.Quoted)
        {
            EndsInsideQuotes = true;
        }
        else if (_state == State.Unquoted)
        {
            DropFinalCr();
        }

        EndField();
        return true;
    }

    private void DropFinalCr()
    {
        if (_rowLen > _starts[FieldCount] && _row[_rowLen - 1] == (byte)'\r')
        {
            _rowLen--;
        }
    }

    private void NextField()
    {
        EndField();
        StartField();
        _state = State.FieldStart;
    }

    private void StartField()
    {
        if (FieldCount == _starts.Length)
        {
            Array.Resize(ref _starts, FieldCount * 2);
            Array.Resize(ref _lengths, FieldCount * 2);
            Array.Resize(ref _quoted, FieldCount * 2);
        }

        _starts[FieldCount] = _rowLen;
        _fieldQuoted = false;
    }

    private void EndField()
    {
        _lengths[FieldCount] = _rowLen - _starts[FieldCount];
        _quoted[FieldCount] = _fieldQuoted;
        FieldCount++;
    }

    private void Put(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if ((long)_rowLen - _starts[FieldCount] + bytes.Length > _maxFieldBytes)
        {
            throw new InvalidDataException($"A field of the record on line {RecordLine} is longer than {_maxFieldBytes} bytes.");
        }

        if (_rowLen + bytes.Length > _row.Length)
        {
            Array.Resize(ref _row, (int)Math.Min(Array.MaxLength, Math.Max((long)_row.Length * 2, (long)_rowLen + bytes.Length)));
        }

        bytes.CopyTo(_row.AsSpan(_rowLen));
        _rowLen += bytes.Length;
    }

    private bool Fill()
    {
        if (_eof)
        {
            return false;
        }

        _inputPos = 0;
        _inputLen = _started ? _stream.Read(_input) : _stream.ReadAtLeast(_input, 3, throwOnEndOfStream: false);
        return Filled();
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_eof)
        {
            return false;
        }

        _inputPos = 0;
        _inputLen = _started
            ? await _stream.ReadAsync(_input, cancellationToken).ConfigureAwait(false)
            : await _stream.ReadAtLeastAsync(_input, 3, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return Filled();
    }

    private bool Filled()
    {
        if (!_started)
        {
            _started = true;
            if (_input.AsSpan(0, _inputLen).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                _inputPos = 3;
            }
        }

        _eof = _inputLen == 0;
        return !_eof;
    }
}
