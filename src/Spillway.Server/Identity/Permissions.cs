namespace Spillway.Server.Identity;

/// <summary>The Access API role permissions of Marketo that this server checks.</summary>
public static class Permissions
{
    public const string ReadOnlyActivity = "Read-Only Activity";
    public const string ReadWriteActivity = "Read-Write Activity";
    public const string ReadOnlyActivityMetadata = "Read-Only Activity Metadata";
    public const string ReadWriteActivityMetadata = "Read-Write Activity Metadata";
    public const string ReadOnlyLead = "Read-Only Lead";
    public const string ReadWriteLead = "Read-Write Lead";
    public const string ReadOnlyAssets = "Read-Only Assets";
    public const string ReadWriteAssets = "Read-Write Assets";
    public const string ReadOnlyCampaign = "Read-Only Campaign";
    public const string ReadWriteCampaign = "Read-Write Campaign";

    public static IReadOnlyList<string> Known { get; } =
        [ReadOnlyActivity, ReadWriteActivity, ReadOnlyActivityMetadata, ReadWriteActivityMetadata, ReadOnlyLead, ReadWriteLead,
            ReadOnlyAssets, ReadWriteAssets, ReadOnlyCampaign, ReadWriteCampaign];

    /// <summary>Canonical spelling of a known permission (case-insensitive), or null.</summary>
    public static string? Normalize(string permission) =>
        Known.FirstOrDefault(k => string.Equals(k, permission.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>Read-Write implies Read-Only, as in Marketo's roles.</summary>
    public static bool Grants(IReadOnlyList<string> held, string required)
    {
        foreach (var p in held)
        {
            if (string.Equals(p, required, StringComparison.Ordinal))
            {
                return true;
            }

            if (required.StartsWith("Read-Only ", StringComparison.Ordinal)
                && string.Equals(p, "Read-Write " + required["Read-Only ".Length..], StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
