using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// The export's read path on PostgreSQL: the window comes as PostgreSQL's binary COPY stream, which this class parses
/// itself, and its text goes to the sink as the UTF-8 bytes that arrived. A data reader would cost a call per value
/// and a string per text value (UTF-8 to UTF-16), which the file writer would then encode back to UTF-8.
/// </summary>
/// <remarks>
/// The binary COPY format (PostgreSQL manual, "COPY", "Binary Format"): an 11-byte signature, int32 flags, int32
/// header extension length and the extension; then per tuple an int16 field count and per field an int32 length (-1:
/// NULL) and that many bytes, all big-endian; then the int16 -1 trailer. int8/int4/bool are their network forms,
/// timestamptz is int64 microseconds since 2000-01-01 UTC, and text is sent in the client encoding (Npgsql's UTF8).
/// </remarks>
internal sealed partial class PostgresActivityStore : IActivityWindowStreamer
{
    /// <summary>
    /// The size of the buffers the fetch thread fills and hands over whole tuples of (~800 rows of demo data): large
    /// enough that the hand-off costs nothing per row, small enough that a cancellation stops the sink within a few
    /// hundred rows.
    /// </summary>
    private const int SegmentSize = 256 * 1024;

    /// <summary>Segments queued ahead of the sink: 2 MB at most, enough to ride out the scheduling of a busy machine.</summary>
    private const int SegmentsAhead = 8;

    private const int WindowFields = 10;

    /// <summary>"PGCOPY\n\377\r\n\0": the binary COPY signature.</summary>
    private static ReadOnlySpan<byte> CopySignature => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];

    /// <summary>Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC), in seconds.</summary>
    private const long PostgresEpochUnixSeconds = 946_684_800;

    /// <summary>
    /// Reads the COPY on one thread and parses and hands rows to the sink on another (<see cref="WindowPipeline"/>), so
    /// that the socket reads and Npgsql's per-message work overlap the formatting, hashing and writing. An asynchronous
    /// fetch (ReadAsync on the pool, a channel to the sink's thread) was measured against this and made no difference
    /// beyond the noise (context switches and CPU of the COPY read into a counting sink, 3 runs each).
    /// </summary>
    public Task StreamWindowAsync(ActivityQuery query, IActivityRowSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(sink);
        var sql = WindowCopySql(query);
        var free = new ConcurrentQueue<byte[]>();
        var parser = new CopyTupleParser();
        return WindowPipeline.RunAsync<Segment>(
            SegmentsAhead,
            (queue, token) => FetchCopy(sql, queue, free, token),
            (segment, _) => parser.WriteRows(segment.Bytes.AsSpan(segment.Offset, segment.Length), sink),
            segment =>
            {
                if (segment.Bytes.Length == SegmentSize)
                {
                    free.Enqueue(segment.Bytes);
                }
            },
            ct);
    }

    /// <summary>
    /// The window as one COPY statement. COPY takes no parameters, so the values are written into the text: all are
    /// numbers and an invariant-culture instant, nothing a caller's text can reach. Literal bounds also let the planner
    /// prune the monthly partitions when it plans.
    /// </summary>
    internal static string WindowCopySql(ActivityQuery query)
    {
        var sql = new StringBuilder();
        sql.Append(CultureInfo.InvariantCulture,
            $"""
            COPY (SELECT {ActivityColumns} FROM activity
            WHERE subscription_id = {query.SubscriptionId}
              AND activity_date >= '{ToSecond(query.StartAt).UtcDateTime:yyyy-MM-dd HH:mm:ss}+00'
              AND activity_date <= '{ToSecond(query.EndAt).UtcDateTime:yyyy-MM-dd HH:mm:ss}+00'
            """);
        if (query.ActivityTypeIds is { Count: > 0 } types)
        {
            sql.Append(CultureInfo.InvariantCulture, $" AND activity_type_id = ANY('{{{string.Join(',', types)}}}'::integer[])");
        }

        if (query.PrimaryAttributeValueIds is { } assets)
        {
            // An empty list (asset names that matched nothing) selects nothing, as in the embedded store.
            sql.Append(CultureInfo.InvariantCulture, $" AND primary_attribute_value_id = ANY('{{{string.Join(',', assets)}}}'::bigint[])");
        }

        sql.Append(" ORDER BY activity_date, marketo_guid) TO STDOUT (FORMAT binary)");
        return sql.ToString();
    }

    /// <summary>
    /// Runs the COPY and queues its tuples in segments that each hold whole tuples only, so the parser never sees a
    /// value cut in two. A tuple larger than a segment (a value of megabytes) gets a larger buffer of its own.
    /// </summary>
    private void FetchCopy(string sql, BlockingCollection<Segment> queue, ConcurrentQueue<byte[]> free, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var connection = dataSource.OpenConnection();
        // Binary COPY sends text in the client encoding; the parser hands those bytes on as UTF-8.
        if (connection.PostgresParameters.TryGetValue("client_encoding", out var encoding) &&
            !string.Equals(encoding, "UTF8", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotSupportedException($"The export needs client_encoding UTF8; the connection has {encoding}.");
        }

        using var transaction = connection.BeginTransaction();
        using (var settings = new NpgsqlCommand(WindowPlanSettings, connection, transaction))
        {
            settings.ExecuteNonQuery();
        }

        var copy = connection.BeginRawBinaryCopy(sql);
        var cancel = new CopyCanceller(copy);
        var finished = false;
        try
        {
            // Stops the COPY on the server (a cancel request) rather than reading the rest of the window off the socket.
            using (ct.UnsafeRegister(static c => ((CopyCanceller)c!).Cancel(), cancel))
            {
                ReadTuples(copy, queue, free, ct);
            }

            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // A failure of our own (not the token's) still must not drain the window.
                cancel.Cancel();
            }

            try
            {
                // Reads up to ReadyForQuery, so the pooled connection goes back clean; after a cancel that is the
                // server's error for the cancelled statement. A connection Npgsql cannot bring back is broken and
                // never returns to the pool.
                copy.Dispose();
            }
            catch (Exception e) when (!finished && e is NpgsqlException or ObjectDisposedException or IOException)
            {
                // expected after our own cancel; the cause is reported by the caller
            }
        }

        transaction.Commit();
    }

    /// <summary>
    /// The window's plan, for this read only: the primary key (subscription, activity_date, marketo_guid) already holds
    /// a subscription's rows in the file's order, partition after partition, so the read is an ordered range scan with
    /// no sort. Once other subscriptions fill the same months the planner prefers scanning whole partitions and sorting
    /// the window (on disk, beyond work_mem) in parallel workers: measured on a 30 M store, 2.5 s for the query against
    /// 1.2 s for the index scans. JIT compilation costs a few hundred milliseconds and buys nothing for a streamed read.
    /// </summary>
    private const string WindowPlanSettings = "SET LOCAL enable_sort = off; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0";

    private static void ReadTuples(NpgsqlRawCopyStream copy, BlockingCollection<Segment> queue, ConcurrentQueue<byte[]> free, CancellationToken ct)
    {
        var buffer = TakeBuffer(free, SegmentSize);
        var filled = ReadAtLeast(copy, buffer, 0, 19);
        if (filled < 19 || !buffer.AsSpan(0, CopySignature.Length).SequenceEqual(CopySignature))
        {
            throw new InvalidDataException("The COPY stream does not start with PostgreSQL's binary COPY signature.");
        }

        var extension = BinaryPrimitives.ReadInt32BigEndian(buffer.AsSpan(15));
        var start = 19 + extension;
        filled = ReadAtLeast(copy, buffer, filled, start);
        var trailer = false;
        while (!trailer)
        {
            // Fill the buffer (each read returns at most one CopyData message: a tuple, or the part Npgsql has buffered).
            var eof = false;
            while (filled < buffer.Length)
            {
                var n = copy.Read(buffer, filled, buffer.Length - filled);
                if (n == 0)
                {
                    eof = true;
                    break;
                }

                filled += n;
            }

            var end = start + CompleteTuples(buffer.AsSpan(start, filled - start), out trailer);
            if (end == start && !trailer)
            {
                if (eof)
                {
                    throw new InvalidDataException("The COPY stream ended without its trailer.");
                }

                // Not one whole tuple fits: a larger buffer for it.
                var larger = new byte[checked(buffer.Length * 2)];
                buffer.AsSpan(start, filled - start).CopyTo(larger);
                Recycle(free, buffer);
                (buffer, filled, start) = (larger, filled - start, 0);
                continue;
            }

            if (end > start)
            {
                queue.Add(new Segment(buffer, start, end - start), ct);
            }

            if (trailer)
            {
                break;
            }

            if (eof)
            {
                throw new InvalidDataException("The COPY stream ended without its trailer.");
            }

            // The unfinished tuple at the end moves to the front of the next buffer.
            var tail = filled - end;
            var next = TakeBuffer(free, Math.Max(SegmentSize, tail * 2));
            buffer.AsSpan(end, tail).CopyTo(next);
            (buffer, filled, start) = (next, tail, 0);
        }

        // After the trailer: CopyDone, CommandComplete and ReadyForQuery, which the stream consumes on its last read.
        if (copy.Read(new byte[64], 0, 64) > 0)
        {
            throw new InvalidDataException("The COPY stream has data after its trailer.");
        }
    }

    private static int ReadAtLeast(NpgsqlRawCopyStream copy, byte[] buffer, int filled, int needed)
    {
        if (needed > buffer.Length)
        {
            throw new InvalidDataException("The binary COPY header extension is too large.");
        }

        while (filled < needed)
        {
            var n = copy.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        return filled;
    }

    private static byte[] TakeBuffer(ConcurrentQueue<byte[]> free, int size) =>
        size <= SegmentSize && free.TryDequeue(out var buffer) ? buffer : new byte[Math.Max(size, SegmentSize)];

    private static void Recycle(ConcurrentQueue<byte[]> free, byte[] buffer)
    {
        if (buffer.Length == SegmentSize)
        {
            free.Enqueue(buffer);
        }
    }

    /// <summary>
    /// The length of the whole tuples at the start of <paramref name="data"/>; <paramref name="trailer"/> when they are
    /// followed by the trailer (the end of the data).
    /// </summary>
    internal static int CompleteTuples(ReadOnlySpan<byte> data, out bool trailer)
    {
        trailer = false;
        var pos = 0;
        while (data.Length - pos >= 2)
        {
            var fields = BinaryPrimitives.ReadInt16BigEndian(data[pos..]);
            if (fields == -1)
            {
                trailer = true;
                return pos;
            }

            if (fields != WindowFields)
            {
                throw new InvalidDataException($"A COPY tuple has {fields} fields; the window has {WindowFields}.");
            }

            var p = pos + 2;
            for (var i = 0; i < WindowFields; i++)
            {
                if (data.Length - p < 4)
                {
                    return pos;
                }

                var length = BinaryPrimitives.ReadInt32BigEndian(data[p..]);
                p += 4;
                if (length > 0)
                {
                    if (data.Length - p < length)
                    {
                        return pos;
                    }

                    p += length;
                }
                else if (length < -1)
                {
                    throw new InvalidDataException($"A COPY field has length {length}.");
                }
            }

            pos = p;
        }

        return pos;
    }

    /// <summary>Whole tuples in a buffer, from <see cref="FetchCopy"/>.</summary>
    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Segment(byte[] Bytes, int Offset, int Length);

    /// <summary>Sends the COPY's cancel request at most once: a second one could reach the connection's next statement.</summary>
    private sealed class CopyCanceller(NpgsqlRawCopyStream copy)
    {
        private int _sent;

        public void Cancel()
        {
            if (Interlocked.Exchange(ref _sent, 1) != 0)
            {
                return;
            }

            try
            {
                copy.Cancel();
            }
            catch (Exception e) when (e is NpgsqlException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                // the COPY ended meanwhile; nothing to stop
            }
        }
    }

    /// <summary>
    /// Turns whole tuples of the window's columns (<see cref="ActivityColumns"/>) into rows for the sink. Text of a row
    /// stored escaped (text_escaped) is unescaped into scratch buffers, byte for byte what <see cref="Unescape"/> does on
    /// strings: the escape characters '\\' and '0' are ASCII, and no byte of a multi-byte UTF-8 sequence is.
    /// </summary>
    private sealed class CopyTupleParser
    {
        private byte[] _asset = [];
        private byte[] _attributes = [];
        private byte[] _result = [];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WriteRows(ReadOnlySpan<byte> data, IActivityRowSink sink)
        {
            var p = 0;
            while (p < data.Length)
            {
                p += 2; // the field count, checked by CompleteTuples
                var guid = Int64(data, ref p);
                var lead = Int64(data, ref p);
                var date = Int64(data, ref p);
                var type = Int32(data, ref p);
                var campaign = NullableInt64(data, ref p);
                var assetId = NullableInt64(data, ref p);
                var hasAsset = Text(data, ref p, out var asset);
                if (!Text(data, ref p, out var attributes))
                {
                    throw new InvalidDataException("A stored activity has no attributes.");
                }

                var hasResult = Text(data, ref p, out var result);
                if (Length(data, ref p, 1) != 1)
                {
                    throw new InvalidDataException("text_escaped is missing.");
                }

                if (data[p++] != 0)
                {
                    asset = Unescape(asset, ref _asset);
                    attributes = Unescape(attributes, ref _attributes);
                    result = Unescape(result, ref _result);
                }

                var row = new Utf8ActivityRow
                {
                    MarketoGuid = guid,
                    LeadId = lead,
                    // Dates are stored to the second; flooring keeps a pre-2000 instant on its own second, as DateTimeOffset does.
                    ActivityDateUnixSeconds = Math.DivRem(date, 1_000_000, out var micros) - (micros < 0 ? 1 : 0) + PostgresEpochUnixSeconds,
                    ActivityTypeId = type,
                    CampaignId = campaign,
                    PrimaryAttributeValueId = assetId,
                    HasPrimaryAttributeValue = hasAsset,
                    PrimaryAttributeValue = asset,
                    Attributes = attributes,
                    HasActionResult = hasResult,
                    ActionResult = result,
                };
                sink.WriteRow(in row);
            }
        }

        private static int Length(ReadOnlySpan<byte> data, ref int p, int expected)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(data[p..]);
            p += 4;
            if (length != expected && length != -1)
            {
                throw new InvalidDataException($"A COPY field has {length} bytes where {expected} were expected.");
            }

            return length;
        }

        private static long Int64(ReadOnlySpan<byte> data, ref int p)
        {
            if (Length(data, ref p, 8) != 8)
            {
                throw new InvalidDataException("A required number is NULL.");
            }

            var value = BinaryPrimitives.ReadInt64BigEndian(data[p..]);
            p += 8;
            return value;
        }

        private static int Int32(ReadOnlySpan<byte> data, ref int p)
        {
            if (Length(data, ref p, 4) != 4)
            {
                throw new InvalidDataException("A required number is NULL.");
            }

            var value = BinaryPrimitives.ReadInt32BigEndian(data[p..]);
            p += 4;
            return value;
        }

        private static long? NullableInt64(ReadOnlySpan<byte> data, ref int p)
        {
            if (Length(data, ref p, 8) == -1)
            {
                return null;
            }

            var value = BinaryPrimitives.ReadInt64BigEndian(data[p..]);
            p += 8;
            return value;
        }

        private static bool Text(ReadOnlySpan<byte> data, ref int p, out ReadOnlySpan<byte> value)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(data[p..]);
            p += 4;
            if (length < 0)
            {
                value = default;
                return false;
            }

            value = data.Slice(p, length);
            p += length;
            return true;
        }

        /// <summary>"\\x" becomes x, except "\\0", which becomes NUL; a lone trailing '\\' stays.</summary>
        private static ReadOnlySpan<byte> Unescape(ReadOnlySpan<byte> value, ref byte[] scratch)
        {
            var first = value.IndexOf((byte)'\\');
            if (first < 0)
            {
                return value;
            }

            if (scratch.Length < value.Length)
            {
                scratch = new byte[Math.Max(value.Length, scratch.Length * 2)];
            }

            value[..first].CopyTo(scratch);
            var n = first;
            for (var i = first; i < value.Length; i++)
            {
                var b = value[i];
                if (b == (byte)'\\' && i + 1 < value.Length)
                {
                    b = value[++i];
                    scratch[n++] = b == (byte)'0' ? (byte)0 : b;
                }
                else
                {
                    scratch[n++] = b;
                }
            }

            return scratch.AsSpan(0, n);
        }
    }
}
