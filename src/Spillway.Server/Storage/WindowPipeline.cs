using System.Collections.Concurrent;

namespace Spillway.Server.Storage;

/// <summary>
/// The two threads of a store's window stream: one fetches from the engine, the other hands what was fetched to the
/// sink, with a bounded queue between them, so the engine's work overlaps the formatting, hashing and writing. Both are
/// dedicated threads: they block for the whole export, and on a two-core machine's thread pool that would stall every
/// request until the pool grows. The first error wins (the other thread then only sees the cancellation it caused),
/// and nothing fetched is left unreleased.
/// </summary>
internal static class WindowPipeline
{
    /// <param name="capacity">Items queued ahead of the consumer at most.</param>
    /// <param name="produce">Fetches and adds items (with the token given) until the window ends; runs on the fetch thread.</param>
    /// <param name="consume">Handles one item; runs on the other thread, one item at a time, in order.</param>
    /// <param name="release">Frees an item's resources; called for every item after it was consumed, and for every item
    /// left in the queue after a failure or a cancellation.</param>
    /// <param name="ct">Cancels the stream: the task then ends as cancelled once both threads stopped.</param>
    public static Task RunAsync<T>(int capacity, Action<BlockingCollection<T>, CancellationToken> produce, Action<T, CancellationToken> consume,
        Action<T> release, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var queue = new BlockingCollection<T>(capacity);
        Exception? firstError = null;
        void Fail(Exception ex)
        {
            Interlocked.CompareExchange(ref firstError, ex, null);
            stop.Cancel();
        }

        var fetch = new Thread(() =>
        {
            try
            {
                produce(queue, stop.Token);
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
            finally
            {
                queue.CompleteAdding();
            }
        })
        { IsBackground = true, Name = "Spillway export fetch" };

        var format = new Thread(() =>
        {
            try
            {
                foreach (var item in queue.GetConsumingEnumerable(stop.Token))
                {
                    try
                    {
                        stop.Token.ThrowIfCancellationRequested();
                        consume(item, stop.Token);
                    }
                    finally
                    {
                        release(item);
                    }
                }
            }
            catch (Exception ex)
            {
                Fail(ex);
            }

            fetch.Join();
            while (queue.TryTake(out var left))
            {
                release(left);
            }

            queue.Dispose();
            stop.Dispose();
            if (ct.IsCancellationRequested)
            {
                done.TrySetCanceled(ct);
            }
            else if (firstError is { } error)
            {
                done.TrySetException(error);
            }
            else
            {
                done.TrySetResult();
            }
        })
        { IsBackground = true, Name = "Spillway export format" };

        fetch.Start();
        format.Start();
        return done.Task;
    }
}
