namespace Spillway.Server.Storage;

/// <summary>Runs a provider's schema migrations before the server answers.</summary>
public interface IStorageInitializer
{
    Task InitializeAsync(CancellationToken ct);
}
