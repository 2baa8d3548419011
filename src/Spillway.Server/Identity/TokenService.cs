using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Limits;
using Spillway.Server.Storage;

namespace Spillway.Server.Identity;

public enum TokenState
{
    Valid,
    Invalid,
    Expired,
}

/// <summary>
/// Issues and checks access tokens. Tokens live in the store so that every node accepts them;
/// a short cache keeps the store off the hot path of status polls.
/// </summary>
public sealed class TokenService(IIdentityStore store, SubscriptionDirectory subscriptions, TimeProvider clock, IOptions<SpillwayOptions> options)
{
    private static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (AccessToken Token, DateTimeOffset CachedAt)> _cache = new(StringComparer.Ordinal);

    /// <summary>The caller's token, or null for bad client credentials (HTTP 401).</summary>
    public async Task<(AccessToken Token, ApiUser User)?> IssueAsync(string clientId, string clientSecret, CancellationToken ct)
    {
        if (clientId.Length is 0 or > 200 || clientSecret.Length is 0 or > 500 || clientId.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var credential = await store.FindCredentialAsync(clientId, ct);
        if (credential is null || !SecretHasher.Verify(clientSecret, credential.SecretHash))
        {
            return null;
        }

        var user = await store.GetApiUserAsync(credential.ApiUserId, ct);
        var subscription = user is null ? null : await subscriptions.GetAsync(user.SubscriptionId, ct);
        if (user is null || subscription is null)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var lifetime = TimeSpan.FromSeconds(Math.Max(1, subscriptions.LimitsOf(subscription).TokenLifetimeSeconds));
        var candidate = new AccessToken($"{Guid.NewGuid():D}:{options.Value.TokenPod}", clientId, user.Id, user.SubscriptionId, now, now + lifetime);
        var token = await store.GetOrIssueTokenAsync(candidate, now, ct);
        return (token, user);
    }

    public async ValueTask<(TokenState State, AccessToken? Token)> CheckAsync(string? token, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 200 || token.Any(c => c is < '!' or > '~'))
        {
            // Tokens are printable ASCII; anything else (a NUL, say) is unknown without asking the store.
            return (TokenState.Invalid, null);
        }

        var cacheNow = TimeProvider.System.GetUtcNow();
        AccessToken? found;
        if (_cache.TryGetValue(token, out var hit) && cacheNow - hit.CachedAt < CacheTtl)
        {
            found = hit.Token;
        }
        else
        {
            found = await store.FindTokenAsync(token, ct);
            if (found is null)
            {
                _cache.TryRemove(token, out _);
                return (TokenState.Invalid, null);
            }

            if (_cache.Count > 100_000)
            {
                _cache.Clear();
            }

            _cache[token] = (found, cacheNow);
        }

        return found.ExpiresAt <= clock.GetUtcNow() ? (TokenState.Expired, found) : (TokenState.Valid, found);
    }

    /// <summary>Forgets cached tokens (after a secret rotation on this node).</summary>
    public void ClearCache() => _cache.Clear();
}
