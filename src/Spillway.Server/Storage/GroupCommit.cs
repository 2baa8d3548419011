namespace Spillway.Server.Storage;

/// <summary>
/// Appends of new activities that arrive while another is being committed wait, and then go in together, as one
/// commit. A commit has a fixed cost (a transaction, a lock, a flush) that for Marketo's batches of at most 300 rows
/// is most of the work, and the appends are serialised anyway because each takes the GUIDs above the last one. Eight
/// clients posting <c>external.json</c> thus pay one commit for up to eight batches instead of eight.
/// </summary>
/// <remarks>
/// The caller that finds no commit running commits every waiting batch (up to <see cref="_maxRows"/> rows, in arrival
/// order), then the next group, until its own is done. Each batch keeps its own consecutive GUIDs, assigned in
/// arrival order. The store's commit delegate sets every batch's outcome: a batch fails only if it was not committed.
/// A caller cancelled while it waits leaves only if no commit has taken its batch yet; otherwise it gets that commit's
/// outcome, so a batch is never stored without its caller being told.
/// </remarks>
internal sealed class GroupCommit(Func<IReadOnlyList<PendingAppend>, Task> commit, int maxRows = GroupCommit.DefaultMaxRows)
{
    /// <summary>The most rows one commit carries (a batch larger than this is committed alone).</summary>
    public const int DefaultMaxRows = 100_000;

    private readonly object _gate = new();
    private readonly List<PendingAppend> _waiting = [];
    private readonly SemaphoreSlim _committing = new(1, 1);
    private readonly int _maxRows = Math.Max(1, maxRows);

    public async Task<long> AppendAsync(int subscriptionId, IReadOnlyList<ActivityRecord> activities, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(activities);
        var mine = new PendingAppend(subscriptionId, activities);
        lock (_gate)
        {
            _waiting.Add(mine);
        }

        try
        {
            await _committing.WaitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (_waiting.Remove(mine))
                {
                    throw;
                }
            }

            return await mine.Outcome; // another caller's commit took it
        }

        try
        {
            while (!mine.Outcome.IsCompleted)
            {
                var group = Take();
                try
                {
                    // Not the caller's token: the commit carries other callers' batches.
                    await commit(group);
                }
                catch (Exception e)
                {
                    foreach (var pending in group)
                    {
                        pending.Fail(e);
                    }
                }

                foreach (var pending in group)
                {
                    pending.Fail(new InvalidOperationException("The store's commit left a batch without an outcome."));
                }
            }
        }
        finally
        {
            _committing.Release();
        }

        return await mine.Outcome;
    }

    private List<PendingAppend> Take()
    {
        lock (_gate)
        {
            var rows = 0L;
            var count = 0;
            while (count < _waiting.Count && (count == 0 || rows + _waiting[count].Activities.Count <= _maxRows))
            {
                rows += _waiting[count].Activities.Count;
                count++;
            }

            var group = _waiting.GetRange(0, count);
            _waiting.RemoveRange(0, count);
            return group;
        }
    }
}

/// <summary>One caller's batch in a <see cref="GroupCommit"/>: what to append, and the first GUID it was given.</summary>
internal sealed class PendingAppend(int subscriptionId, IReadOnlyList<ActivityRecord> activities)
{
    private readonly TaskCompletionSource<long> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int SubscriptionId { get; } = subscriptionId;

    public IReadOnlyList<ActivityRecord> Activities { get; } = activities;

    public Task<long> Outcome => _outcome.Task;

    /// <summary>Committed: the batch's rows have GUIDs <paramref name="firstGuid"/> and up, in input order.</summary>
    public void Committed(long firstGuid) => _outcome.TrySetResult(firstGuid);

    /// <summary>Not committed (no effect once the batch has an outcome).</summary>
    public void Fail(Exception error) => _outcome.TrySetException(error);
}
