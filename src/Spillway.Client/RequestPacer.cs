namespace Spillway.Client;

/// <summary>
/// Keeps the client under Marketo's limits: at most N call starts in any sliding window and at most
/// M calls in flight. A call holds its slot until the returned lease is disposed.
/// </summary>
internal sealed class RequestPacer : IDisposable
{
    private readonly int _maxCalls;
    private readonly TimeSpan _window;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _concurrency;
    private readonly int _maxConcurrent;
    private readonly Queue<long> _starts = new();
    private readonly Lock _gate = new();

    public RequestPacer(int maxCalls, TimeSpan window, int maxConcurrent, TimeProvider time)
    {
        _maxCalls = maxCalls;
        _window = window;
        _time = time;
        _maxConcurrent = maxConcurrent;
        _concurrency = new SemaphoreSlim(maxConcurrent, maxConcurrent);
    }

    /// <summary>Calls in flight now (for tests and diagnostics).</summary>
    public int InFlight => _maxConcurrent - _concurrency.CurrentCount;

    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                TimeSpan wait;
                lock (_gate)
                {
                    var now = _time.GetTimestamp();
                    while (_starts.Count > 0 && _time.GetElapsedTime(_starts.Peek(), now) >= _window)
                    {
                        _starts.Dequeue();
                    }

                    if (_starts.Count < _maxCalls)
                    {
                        _starts.Enqueue(now);
                        return new Lease(_concurrency);
                    }

                    wait = _window - _time.GetElapsedTime(_starts.Peek(), now);
                }

                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, _time, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        catch
        {
            _concurrency.Release();
            throw;
        }
    }

    public void Dispose() => _concurrency.Dispose();

    private sealed class Lease(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
