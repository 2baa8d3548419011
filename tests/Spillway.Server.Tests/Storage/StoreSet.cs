using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Storage;

/// <summary>A fresh, isolated set of the three stores for one test, and how to throw it away.</summary>
public sealed class StoreSet(IIdentityStore identity, IExportJobStore jobs, IActivityStore activities, Func<ValueTask>? dispose = null)
    : IAsyncDisposable
{
    public IIdentityStore Identity { get; } = identity;
    public IExportJobStore Jobs { get; } = jobs;
    public IActivityStore Activities { get; } = activities;

    public ValueTask DisposeAsync() => dispose?.Invoke() ?? ValueTask.CompletedTask;
}
