namespace Spillway.Server.Hosting;

/// <summary>
/// "Now" as one subscription sees it. Every time that belongs to a subscription (its jobs' timestamps, its quota day,
/// its retention, its paging and list windows) is read here with the subscription named, never from ambient state,
/// so a background job and a request of the same subscription agree.
/// </summary>
public interface ISubscriptionClock
{
    DateTimeOffset NowOf(int subscriptionId);
}

/// <summary>Every subscription on the server clock.</summary>
public sealed class ServerSubscriptionClock(TimeProvider clock) : ISubscriptionClock
{
    public DateTimeOffset NowOf(int subscriptionId) => clock.GetUtcNow();
}
