using System.Buffers.Binary;
using System.Text;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// A batch of new activities encoded as rows of PostgreSQL's binary COPY format, marketoGUIDs left blank until the batch
/// has its range (<see cref="SetGuids"/>). Encoded before the batch's transaction begins, so the transaction, which
/// holds a GUID range that later batches wait for, sends bytes instead of encoding field by field through Npgsql's
/// importer: measured under <c>external.json</c> load, the importer took the sending thread about as long as PostgreSQL
/// took to store the rows.
/// </summary>
/// <remarks>
/// Row layout (the COPY column order of <see cref="Columns"/>): a 16-bit field count, then per field a 32-bit length
/// (-1 for NULL) and the value in network byte order: integer, bigint, timestamptz as microseconds since
/// 2000-01-01 UTC, text as UTF-8, boolean as one byte.
/// </remarks>
internal sealed class NewActivityCopy
{
    /// <summary>The columns of every row, in order.</summary>
    public const string Columns =
        "subscription_id, marketo_guid, lead_id, activity_date, activity_type_id, campaign_id, primary_attribute_value_id, " +
        "primary_attribute_value, attributes, action_result, text_escaped";

    private const short FieldCount = 11;

    /// <summary>Offset of a row's marketoGUID value from the row's start: field count, subscription id, GUID length.</summary>
    private const int GuidOffset = 2 + 4 + 4 + 4;

    /// <summary>Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).</summary>
    private const long PostgresEpochSeconds = 946_684_800;

    /// <summary>Strict, as Npgsql's own text encoding: a lone surrogate fails the batch rather than being replaced.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The signature, flags and header extension length that open a binary COPY stream.</summary>
    public static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', 0x0a, 0xff, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>The field count -1 that ends a binary COPY stream.</summary>
    public static ReadOnlySpan<byte> Trailer => [0xff, 0xff];

    private byte[] _buffer;
    private int _length;
    private readonly int[] _rowStarts;

    private NewActivityCopy(int rows, int bytes)
    {
        _buffer = new byte[bytes];
        _rowStarts = new int[rows];
    }

    /// <summary>The whole COPY stream: header, the encoded rows, trailer.</summary>
    public ReadOnlyMemory<byte> Stream => _buffer.AsMemory(0, _length);

    /// <summary>How many rows.</summary>
    public int Count => _rowStarts.Length;

    /// <summary>
    /// Encodes a batch: dates to the second, and where a row's text holds a NUL (which PostgreSQL text cannot) its three
    /// text columns escaped and <c>text_escaped</c> set, as every other write of activities does.
    /// </summary>
    public static NewActivityCopy Encode(int subscriptionId, IReadOnlyList<ActivityRecord> activities,
        Func<string?, bool> hasNul, Func<string?, string?> escape)
    {
        var copy = new NewActivityCopy(activities.Count, Math.Max(256, activities.Count * 512));
        Header.CopyTo(copy.Reserve(Header.Length));
        for (var i = 0; i < activities.Count; i++)
        {
            var a = activities[i];
            var escaped = hasNul(a.PrimaryAttributeValue) || hasNul(a.Attributes) || hasNul(a.ActionResult);
            copy._rowStarts[i] = copy._length;
            copy.Int16(FieldCount);
            copy.Int32(4);
            copy.Int32(subscriptionId);
            copy.Int32(8);
            copy.Int64(0); // the GUID, written by SetGuids
            copy.Int32(8);
            copy.Int64(a.LeadId);
            copy.Int32(8);
            copy.Int64((a.ActivityDate.ToUnixTimeSeconds() - PostgresEpochSeconds) * 1_000_000);
            copy.Int32(4);
            copy.Int32(a.ActivityTypeId);
            copy.NullableInt64(a.CampaignId);
            copy.NullableInt64(a.PrimaryAttributeValueId);
            copy.Text(escaped ? escape(a.PrimaryAttributeValue) : a.PrimaryAttributeValue);
            copy.Text(escaped ? escape(a.Attributes) : a.Attributes);
            copy.Text(escaped ? escape(a.ActionResult) : a.ActionResult);
            copy.Int32(1);
            copy.Reserve(1)[0] = escaped ? (byte)1 : (byte)0;
        }

        Trailer.CopyTo(copy.Reserve(Trailer.Length));
        return copy;
    }

    /// <summary>The COPY stream of the batch's keys, rows of (subscription_id, marketo_guid): GUIDs first .. first + n - 1.</summary>
    public static ReadOnlyMemory<byte> Keys(int subscriptionId, long first, int n)
    {
        var copy = new NewActivityCopy(0, Header.Length + (n * (2 + 4 + 4 + 4 + 8)) + Trailer.Length);
        Header.CopyTo(copy.Reserve(Header.Length));
        for (var i = 0; i < n; i++)
        {
            copy.Int16(2);
            copy.Int32(4);
            copy.Int32(subscriptionId);
            copy.Int32(8);
            copy.Int64(first + i);
        }

        Trailer.CopyTo(copy.Reserve(Trailer.Length));
        return copy.Stream;
    }

    /// <summary>Gives row i the marketoGUID <paramref name="first"/> + i.</summary>
    public void SetGuids(long first)
    {
        for (var i = 0; i < _rowStarts.Length; i++)
        {
            BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_rowStarts[i] + GuidOffset, 8), first + i);
        }
    }

    private void Int16(short value) => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), value);

    private void Int32(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    private void Int64(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    private void NullableInt64(long? value)
    {
        if (value is { } v)
        {
            Int32(8);
            Int64(v);
        }
        else
        {
            Int32(-1);
        }
    }

    private void Text(string? value)
    {
        if (value is null)
        {
            Int32(-1);
            return;
        }

        var at = _length;
        var span = Reserve(4 + Utf8.GetMaxByteCount(value.Length));
        var written = Utf8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, written);
        _length = at + 4 + written;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes));
        }

        var span = _buffer.AsSpan(_length, bytes);
        _length += bytes;
        return span;
    }
}
