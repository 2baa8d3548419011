using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>A fresh, isolated set of the three stores for one test, and how to throw it away.</summary>
public sealed class StoreSet(IIdentityStore identity, IExportJobStore jobs, IActivityStore activities, Func<ValueTask>? dispose = null,
    IActivityPageReader? pages = null, IActivityWriter? writer = null, IActivityTypeStore? types = null, IJobControlStore? control = null,
    IActivityWindowStreamer? streamer = null)
    : IAsyncDisposable
{
    public IActivityPageReader Pages => pages ?? throw new InvalidOperationException("no page reader");
    public IActivityWriter Writer => writer ?? throw new InvalidOperationException("no activity writer");
    public IActivityTypeStore Types => types ?? throw new InvalidOperationException("no activity type store");
    public IJobControlStore Control => control ?? throw new InvalidOperationException("no job control store");
    public IActivityWindowStreamer Streamer => streamer ?? throw new InvalidOperationException("no window streamer");

    public IIdentityStore Identity { get; } = identity;
    public IExportJobStore Jobs { get; } = jobs;
    public IActivityStore Activities { get; } = activities;

    public ValueTask DisposeAsync() => dispose?.Invoke() ?? ValueTask.CompletedTask;
}
