using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;

namespace Spillway.Server.BulkExport;

public sealed partial class ExportFileWriter
{
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
