using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// How <see cref="GroupCommit"/> groups batches, with a commit delegate that records its groups and numbers rows as a
/// store would. Both stores' commits are covered by the compliance suite.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly List<int[]> _groups = [];
    private readonly TaskCompletionSource _firstStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _releaseFirst = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _next = 1;

    private static List<ActivityRecord> Rows(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new ActivityRecord(0, 1, DateTimeOffset.UnixEpoch.AddSeconds(i), 1, null, null, null, "{}", null))];

    /// <summary>Records the group (its subscription ids), holds the first commit until released, numbers the rows.</summary>
    private async Task CommitAsync(IReadOnlyList<PendingAppend> group)
    {
        bool first;
        lock (_groups)
        {
            _groups.Add([.. group.Select(p => p.SubscriptionId)]);
            first = _groups.Count == 1;
        }

        if (first)
        {
            _firstStarted.SetResult();
            await _releaseFirst.Task;
        }

        if (group.Any(p => p.SubscriptionId < 0))
        {
            throw new InvalidOperationException("the store failed");
        }

        foreach (var pending in group)
        {
            pending.Committed(_next);
            _next += pending.Activities.Count;
        }
    }

    [Fact]
    public async Task Batches_that_arrive_during_a_commit_go_in_together_in_arrival_order()
    {
        var commits = new GroupCommit(CommitAsync, maxRows: 1000);
        var first = commits.AppendAsync(1, Rows(10), None);
        await _firstStarted.Task;
        var waiting = Enumerable.Range(2, 5).Select(s => commits.AppendAsync(s, Rows(s), None)).ToArray();
        _releaseFirst.SetResult();

        Assert.Equal(1, await first);
        var firsts = await Task.WhenAll(waiting);
        Assert.Equal([11L, 13, 16, 20, 25], firsts);
        Assert.Equal([[1], [2, 3, 4, 5, 6]], _groups);
    }

    [Fact]
    public async Task A_group_holds_at_most_max_rows_but_a_larger_batch_still_goes_alone()
    {
        var commits = new GroupCommit(CommitAsync, maxRows: 100);
        var first = commits.AppendAsync(1, Rows(1), None);
        await _firstStarted.Task;
        var waiting = new[] { (2, 60), (3, 40), (4, 1), (5, 250), (6, 30) }.Select(b => commits.AppendAsync(b.Item1, Rows(b.Item2), None)).ToArray();
        _releaseFirst.SetResult();

        await first;
        var firsts = await Task.WhenAll(waiting);
        Assert.Equal([2L, 62, 102, 103, 353], firsts);
        Assert.Equal([[1], [2, 3], [4], [5], [6]], _groups);
    }

    [Fact]
    public async Task A_failed_commit_fails_only_its_own_group()
    {
        var commits = new GroupCommit(CommitAsync, maxRows: 10);
        var first = commits.AppendAsync(1, Rows(1), None);
        await _firstStarted.Task;
        var failing = new[] { commits.AppendAsync(2, Rows(5), None), commits.AppendAsync(-3, Rows(5), None) };
        var after = commits.AppendAsync(4, Rows(5), None);
        _releaseFirst.SetResult();

        Assert.Equal(1, await first);
        foreach (var call in failing)
        {
            Assert.Equal("the store failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => call)).Message);
        }

        Assert.Equal(2, await after);
        Assert.Equal([[1], [2, -3], [4]], _groups);
    }

    [Fact]
    public async Task A_caller_cancelled_while_it_waits_leaves_and_its_batch_is_not_committed()
    {
        var commits = new GroupCommit(CommitAsync, maxRows: 1000);
        var first = commits.AppendAsync(1, Rows(1), None);
        await _firstStarted.Task;
        using var cancel = new CancellationTokenSource();
        var cancelled = commits.AppendAsync(2, Rows(5), cancel.Token);
        var kept = commits.AppendAsync(3, Rows(5), None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        _releaseFirst.SetResult();

        await first;
        Assert.Equal(2, await kept);
        Assert.Equal([[1], [3]], _groups);
    }
}
