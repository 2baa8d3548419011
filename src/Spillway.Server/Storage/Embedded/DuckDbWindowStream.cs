using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// The export's read path on DuckDB: the window's rows go from DuckDB's own column vectors to the sink, text as the
/// UTF-8 bytes DuckDB holds. Going through ADO.NET instead would cost a call per value and three strings per row (UTF-8
/// to UTF-16), which the file writer would then encode back to UTF-8: that was most of an export's CPU.
/// </summary>
internal sealed partial class DuckDbActivityStore : IActivityWindowStreamer
{
    /// <summary>Result chunks (2,048 rows each) fetched ahead of the sink: enough to keep both cores busy, little memory.</summary>
    private const int ChunksAhead = 8;

    /// <summary>Runs the window's day queries on one thread and hands their chunks to the sink on another (<see cref="WindowPipeline"/>).</summary>
    public Task StreamWindowAsync(ActivityQuery query, IActivityRowSink sink, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(sink);
        return WindowPipeline.RunAsync<WindowPiece>(
            ChunksAhead,
            (queue, token) => Fetch(query, queue, token),
            (piece, token) =>
            {
                if (piece.Chunk is { } chunk)
                {
                    WriteChunk(chunk, sink, token);
                }
            },
            piece => piece.Dispose(),
            ct);
    }

    private void Fetch(ActivityQuery query, BlockingCollection<WindowPiece> queue, CancellationToken ct)
    {
        using var connection = Open();
        var queries = WindowQueries(connection, query);
        var native = connection.NativeConnection;
        // A cancelled export interrupts the running query instead of waiting for a day's sort to finish.
        using var interrupt = ct.Register(() => NativeMethods.Startup.DuckDBInterrupt(native));
        foreach (var sql in queries)
        {
            ct.ThrowIfCancellationRequested();
            // Streaming: DuckDB hands out the sorted rows as they are scanned instead of materialising the day's result
            // first, which kept a second copy of each day in memory.
            if (NativeMethods.PreparedStatements.DuckDBPrepare(native, sql, out var statement) != DuckDBState.Success)
            {
                var message = NativeMethods.PreparedStatements.DuckDBPrepareError(statement);
                statement.Dispose();
                throw new InvalidOperationException($"DuckDB could not prepare the window query: {message}");
            }

            if (NativeMethods.PreparedStatements.DuckDBExecutePreparedStreaming(statement, out var result) != DuckDBState.Success)
            {
                var message = NativeMethods.Query.DuckDBResultError(ref result);
                NativeMethods.Query.DuckDBDestroyResult(ref result);
                statement.Dispose();
                ct.ThrowIfCancellationRequested();
                throw new InvalidOperationException($"DuckDB could not read the window: {message}");
            }

            // The result outlives its chunks: a chunk's strings may point into the result's memory, so the result is
            // queued behind its last chunk and freed only after the sink has seen that chunk.
            var owner = new ResultOwner(statement, result);
            try
            {
                while (true)
                {
                    var chunk = NativeMethods.Query.DuckDBFetchChunk(result);
                    if (chunk.IsInvalid || NativeMethods.DataChunks.DuckDBDataChunkGetSize(chunk) == 0)
                    {
                        chunk.Dispose();
                        break;
                    }

                    Add(queue, new WindowPiece(chunk, null), ct);
                }
            }
            catch
            {
                owner.Dispose();
                throw;
            }

            Add(queue, new WindowPiece(null, owner), ct);
        }
    }

    private static void Add(BlockingCollection<WindowPiece> queue, WindowPiece piece, CancellationToken ct)
    {
        try
        {
            queue.Add(piece, ct);
        }
        catch
        {
            piece.Dispose();
            throw;
        }
    }

    /// <summary>Reads the columns of <see cref="RecordColumns"/> straight from the chunk's vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WriteChunk(DuckDBDataChunk chunk, IActivityRowSink sink, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var rows = (int)NativeMethods.DataChunks.DuckDBDataChunkGetSize(chunk);
        var guid = Column<long>(chunk, 0);
        var lead = Column<long>(chunk, 1);
        var date = Column<long>(chunk, 2);
        var type = Column<int>(chunk, 3);
        var campaign = Column<long>(chunk, 4);
        var assetId = Column<long>(chunk, 5);
        var asset = Column<DuckDBString>(chunk, 6);
        var attributes = Column<DuckDBString>(chunk, 7);
        var result = Column<DuckDBString>(chunk, 8);
        for (var i = 0; i < rows; i++)
        {
            var row = new Utf8ActivityRow
            {
                MarketoGuid = guid.Data[i],
                LeadId = lead.Data[i],
                ActivityDateUnixSeconds = date.Data[i],
                ActivityTypeId = type.Data[i],
                CampaignId = campaign.IsValid(i) ? campaign.Data[i] : null,
                PrimaryAttributeValueId = assetId.IsValid(i) ? assetId.Data[i] : null,
                HasPrimaryAttributeValue = asset.IsValid(i),
                PrimaryAttributeValue = asset.IsValid(i) ? Utf8(&asset.Data[i]) : default,
                Attributes = Utf8(&attributes.Data[i]),
                HasActionResult = result.IsValid(i),
                ActionResult = result.IsValid(i) ? Utf8(&result.Data[i]) : default,
            };
            sink.WriteRow(in row);
        }
    }

    private static unsafe VectorOf<T> Column<T>(DuckDBDataChunk chunk, int column)
        where T : unmanaged
    {
        var vector = NativeMethods.DataChunks.DuckDBDataChunkGetVector(chunk, column);
        return new VectorOf<T>((T*)NativeMethods.Vectors.DuckDBVectorGetData(vector), NativeMethods.Vectors.DuckDBVectorGetValidity(vector));
    }

    /// <summary>
    /// A duckdb_string_t: 4 bytes of length, then the bytes themselves when they fit in 12, otherwise a 4-byte prefix and
    /// a pointer to them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe ReadOnlySpan<byte> Utf8(DuckDBString* value)
    {
        var bytes = (byte*)value;
        var length = *(int*)bytes;
        return length <= 12
            ? new ReadOnlySpan<byte>(bytes + 4, length)
            : new ReadOnlySpan<byte>(*(byte**)(bytes + 8), length);
    }

    /// <summary>A column vector's values and validity mask (null mask pointer: every value is present).</summary>
    private readonly unsafe struct VectorOf<T>(T* data, ulong* validity)
        where T : unmanaged
    {
        public T* Data { get; } = data;

        public bool IsValid(int row) => validity == null || (validity[row >> 6] & (1UL << (row & 63))) != 0;
    }

    /// <summary>A day query's statement and streaming result, freed once, together.</summary>
    private sealed class ResultOwner(DuckDBPreparedStatement statement, DuckDBResult result) : IDisposable
    {
        private DuckDBResult _result = result;
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                NativeMethods.Query.DuckDBDestroyResult(ref _result);
                statement.Dispose();
            }
        }
    }

    /// <summary>A chunk for the sink, or the marker that frees a result after its last chunk.</summary>
    [StructLayout(LayoutKind.Auto)]
    private readonly record struct WindowPiece(DuckDBDataChunk? Chunk, ResultOwner? Result) : IDisposable
    {
        public void Dispose()
        {
            Chunk?.Dispose();
            Result?.Dispose();
        }
    }
}
