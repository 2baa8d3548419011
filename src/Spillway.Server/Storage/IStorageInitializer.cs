namespace Spillway.Server.Storage;

/// <summary>Runs a provider's schema migrations before the server answers.</summary>
public interface IStorageInitializer
{
    /// <summary>
    /// Brings the schema up to date and returns the store's identity: 32 lower-case hex digits made once when the store
    /// was created. Every node of one store reads the same identity and every other store has its own, so export files
    /// kept under it are never taken for another store's (a sweeper removes only what its own store no longer owns).
    /// </summary>
    Task<string> InitializeAsync(CancellationToken ct);
}
