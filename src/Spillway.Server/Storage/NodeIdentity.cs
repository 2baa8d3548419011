namespace Spillway.Server.Storage;

/// <summary>
/// Who this node is, and whether it is alone (its store belongs to this process only) or one of a cluster (a shared
/// database). The storage provider decides: only it knows whether another process can reach the same store.
/// </summary>
public sealed record NodeIdentity(string NodeId, bool Solo);
