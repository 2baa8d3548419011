namespace Spillway.Server.Storage;

/// <summary>
/// A point-in-time copy of a store's databases into a new data folder, taken while the server runs. Each database
/// of the copy is consistent in itself (one read transaction each: metadata first, then activities); export files are
/// the caller's to copy.
/// </summary>
public interface IStoreSnapshot
{
    /// <summary>Why this store cannot be snapshotted; null when it can.</summary>
    string? Unsupported { get; }

    /// <summary>Writes the copy into <paramref name="targetFolder"/>, which must exist and be empty.</summary>
    Task SaveAsync(string targetFolder, CancellationToken ct);
}

/// <summary>The snapshot of a store that has none of its own (a database server is backed up by its own tools).</summary>
public sealed class NoStoreSnapshot(string reason) : IStoreSnapshot
{
    public string? Unsupported => reason;

    public Task SaveAsync(string targetFolder, CancellationToken ct) => throw new NotSupportedException(reason);
}
