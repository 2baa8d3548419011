using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Spillway.Server.Storage.Embedded;

internal sealed partial class SqliteLeadStore
{
    private const int BatchRows = 1024;
    private const int BatchesAhead = 4;

    /// <summary>
    /// Steps the extract's statement through SQLite's own API on one thread, copying each row's cells as SQLite holds
    /// them (text as its UTF-8 bytes) into batches, and hands the batches to the sink on a second thread. Through the
    /// ADO.NET reader every text cell became a .NET string only to be encoded back to UTF-8, booleans and dates went
    /// through boxed values, and SQLite's work and the formatting ran one after the other on one thread. The statement
    /// runs on a read-only connection of its own opened without SQLite's per-connection mutex (only the fetch thread
    /// uses it), so reading a cell is a plain call instead of a mutex lock and unlock around it.
    /// </summary>
    protected override Task ReadLeadsAsync(string sql, IReadOnlyList<KeyValuePair<string, object>> parameters, LeadColumn[] columns,
        ILeadRowSink sink, CancellationToken ct)
    {
        var free = new ConcurrentQueue<CellBatch>();
        return WindowPipeline.RunAsync<CellBatch>(
            BatchesAhead,
            (queue, token) => Fetch(db.Path, sql, parameters, columns, queue, free, token),
            (batch, _) =>
            {
                var row = new BatchRow(batch);
                for (var r = 0; r < batch.Rows; r++)
                {
                    row.First = r * batch.Columns;
                    sink.WriteRow(row);
                }
            },
            batch => free.Enqueue(batch),
            ct);
    }

    private static void Fetch(string path, string sql, IReadOnlyList<KeyValuePair<string, object>> parameters, LeadColumn[] columns, BlockingCollection<CellBatch> queue,
        ConcurrentQueue<CellBatch> free, CancellationToken ct)
    {
        var opened = raw.sqlite3_open_v2(path, out var db, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX, null);
        using (db)
        {
            Check(db, opened);
            Check(db, raw.sqlite3_busy_timeout(db, 30_000));
            Check(db, raw.sqlite3_prepare_v2(db, sql, out var statement));
            using (statement)
            {
                foreach (var (name, value) in parameters)
                {
                    var index = raw.sqlite3_bind_parameter_index(statement, "@" + name);
                    if (index == 0)
                    {
                        throw new InvalidOperationException($"The lead extract's statement has no parameter @{name}.");
                    }

                    BindValue(db, statement, index, value);
                }

                Step(db, statement, columns, queue, free, ct);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Step(sqlite3 db, sqlite3_stmt statement, LeadColumn[] columns, BlockingCollection<CellBatch> queue,
        ConcurrentQueue<CellBatch> free, CancellationToken ct)
    {
        var kinds = columns.Select(c => c.Kind).ToArray();
        var handle = statement.DangerousGetHandle();
        var done = false;
        while (!done)
        {
            var batch = free.TryDequeue(out var reused) ? reused : new CellBatch(kinds.Length);
            batch.Clear();
            while (batch.Rows < BatchRows)
            {
                var rc = raw.sqlite3_step(statement);
                if (rc == raw.SQLITE_DONE)
                {
                    done = true;
                    break;
                }

                if (rc != raw.SQLITE_ROW)
                {
                    free.Enqueue(batch);
                    Check(db, rc);
                }

                batch.AddRow(handle, kinds);
            }

            if (batch.Rows > 0)
            {
                queue.Add(batch, ct);
            }
            else
            {
                free.Enqueue(batch);
            }
        }
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>
    /// Rows copied out of the statement, cell by cell: <see cref="Numbers"/> holds an integer, a boolean as 0/1, Unix
    /// milliseconds or a double's bits; a text or date cell is <see cref="Lengths"/> bytes of <see cref="Text"/> from
    /// <see cref="Starts"/>; a length of -1 is a null.
    /// </summary>
    private sealed class CellBatch(int columns)
    {
        public readonly int Columns = columns;
        public readonly long[] Numbers = new long[columns * BatchRows];
        public readonly int[] Starts = new int[columns * BatchRows];
        public readonly int[] Lengths = new int[columns * BatchRows];
        public byte[] Text = new byte[256 * 1024];
        public int Rows;
        private int _textLength;

        public void Clear()
        {
            Rows = 0;
            _textLength = 0;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe void AddRow(IntPtr statement, LeadValueKind[] kinds)
        {
            var cell = Rows * Columns;
            for (var c = 0; c < kinds.Length; c++, cell++)
            {
                if (Native.ColumnType(statement, c) == raw.SQLITE_NULL)
                {
                    Lengths[cell] = -1;
                    continue;
                }

                Lengths[cell] = 0;
                switch (kinds[c])
                {
                    case LeadValueKind.Text or LeadValueKind.Date:
                        // The pointer first, then the length, as SQLite documents for a value that may need converting.
                        var pointer = Native.ColumnBlob(statement, c);
                        var text = new ReadOnlySpan<byte>((void*)pointer, Native.ColumnBytes(statement, c));
                        if (_textLength + text.Length > Text.Length)
                        {
                            Array.Resize(ref Text, Math.Max(Text.Length * 2, _textLength + text.Length));
                        }

                        text.CopyTo(Text.AsSpan(_textLength));
                        Starts[cell] = _textLength;
                        Lengths[cell] = text.Length;
                        _textLength += text.Length;
                        break;
                    case LeadValueKind.Float:
                        Numbers[cell] = BitConverter.DoubleToInt64Bits(Native.ColumnDouble(statement, c));
                        break;
                    default:
                        // Integers, booleans (0/1) and date-times (Unix milliseconds) are all integers in this store.
                        Numbers[cell] = Native.ColumnInt64(statement, c);
                        break;
                }
            }

            Rows++;
        }
    }

    /// <summary>One row of a batch, the cells from <see cref="First"/> on.</summary>
    private sealed class BatchRow(CellBatch batch) : ILeadRow
    {
        public int First;

        public bool IsNull(int column) => batch.Lengths[First + column] < 0;

        public ReadOnlySpan<byte> GetText(int column) => batch.Text.AsSpan(batch.Starts[First + column], batch.Lengths[First + column]);

        public long GetInteger(int column) => batch.Numbers[First + column];

        public double GetFloat(int column) => BitConverter.Int64BitsToDouble(batch.Numbers[First + column]);

        public bool GetBoolean(int column) => batch.Numbers[First + column] != 0;

        public DateOnly GetDate(int column)
        {
            var text = GetText(column);
            Span<char> chars = stackalloc char[16];
            if (text.Length > chars.Length)
            {
                throw new FormatException("A lead's date is not yyyy-MM-dd.");
            }

            for (var i = 0; i < text.Length; i++)
            {
                chars[i] = (char)text[i];
            }

            return DateOnly.ParseExact(chars[..text.Length], "yyyy-MM-dd", CultureInfo.InvariantCulture);
        }

        public DateTimeOffset GetDateTime(int column) => DateTimeOffset.FromUnixTimeMilliseconds(batch.Numbers[First + column]);
    }

    /// <summary>
    /// SQLite's column reads, called directly: through SQLitePCLRaw each call also takes and releases the statement's
    /// SafeHandle, which cost as much as the read. They read memory SQLite already holds, never block and never call
    /// back, so they skip the GC transition.
    /// </summary>
    private static partial class Native
    {
        private const string Library = "e_sqlite3";

        [LibraryImport(Library, EntryPoint = "sqlite3_column_type")]
        [SuppressGCTransition]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        public static partial int ColumnType(IntPtr statement, int column);

        [LibraryImport(Library, EntryPoint = "sqlite3_column_int64")]
        [SuppressGCTransition]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        public static partial long ColumnInt64(IntPtr statement, int column);

        [LibraryImport(Library, EntryPoint = "sqlite3_column_double")]
        [SuppressGCTransition]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        public static partial double ColumnDouble(IntPtr statement, int column);

        [LibraryImport(Library, EntryPoint = "sqlite3_column_blob")]
        [SuppressGCTransition]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        public static partial IntPtr ColumnBlob(IntPtr statement, int column);

        [LibraryImport(Library, EntryPoint = "sqlite3_column_bytes")]
        [SuppressGCTransition]
        [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
        public static partial int ColumnBytes(IntPtr statement, int column);
    }
}
