namespace Spillway.Server.Storage.Embedded;

internal sealed partial class DuckDbActivityStore
{
    /// <summary>
    /// Reads the catalog and the key columns' blocks once, for start and readiness: a truncated or overwritten file fails
    /// here rather than on the first extract.
    /// </summary>
    public Task CheckReadableAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        Scalar("SELECT count(*) + coalesce(max(marketo_guid), 0) + coalesce(max(activity_ts), 0) FROM activity");
        return Task.CompletedTask;
    }
}
