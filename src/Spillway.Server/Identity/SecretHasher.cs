using System.Security.Cryptography;
using System.Text;

namespace Spillway.Server.Identity;

/// <summary>
/// Client secrets are stored as PBKDF2-SHA256 hashes. The iteration count is modest because secrets
/// are long random strings, not passwords; a stolen hash still cannot be reversed in practice.
/// </summary>
public static class SecretHasher
{
    private const int Iterations = 10_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Hash(string secret)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>
    /// False for a secret that can never be one: PBKDF2 keys HMAC with the secret, and HMAC pads a short key with zero
    /// bytes, so "s" and "s\0" derive the same hash. Refusing NUL (and every other control character) keeps a secret
    /// matching only itself.
    /// </summary>
    public static bool IsAcceptable(string secret) => secret.Length > 0 && !secret.Any(char.IsControl);

    public static bool Verify(string secret, string stored)
    {
        if (!IsAcceptable(secret))
        {
            return false;
        }

        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != "pbkdf2-sha256" || !int.TryParse(parts[1], out var iterations) || iterations is < 1 or > 1_000_000)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A new random secret: 32 characters, 190 bits.</summary>
    public static string NewSecret() => RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 32);

    /// <summary>A new client id in Marketo's shape (a UUID).</summary>
    public static string NewClientId() => Guid.NewGuid().ToString("D");
}
