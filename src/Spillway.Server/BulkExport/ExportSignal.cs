using System.Collections.Concurrent;

namespace Spillway.Server.BulkExport;

/// <summary>
/// In-process nudges for the worker: "a job was enqueued here" and "this job was cancelled here". Never the source
/// of truth: the worker also polls the store, and a cancel from another node is seen at the next lease renewal.
/// </summary>
public sealed class ExportSignal
{
    private readonly SemaphoreSlim _work = new(0, int.MaxValue);
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _running = new();

    public void JobEnqueued()
    {
        if (_work.CurrentCount == 0)
        {
            _work.Release();
        }
    }

    public Task<bool> WaitForWorkAsync(TimeSpan timeout, CancellationToken ct) => _work.WaitAsync(timeout, ct);

    public void JobCancelled(Guid exportId)
    {
        if (_running.TryGetValue(exportId, out var cts))
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It finished meanwhile.
            }
        }
    }

    public void Register(Guid exportId, CancellationTokenSource cts) => _running[exportId] = cts;

    public void Unregister(Guid exportId) => _running.TryRemove(exportId, out _);
}
