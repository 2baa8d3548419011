using System.Security.Cryptography;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Chaos;

/// <summary>
/// A full disk under the export folder: the job that hits it fails with a message a client can read (no paths, no
/// engine text), leaves no partial file, gives its processing slot back, and the server goes on serving.
/// </summary>
public abstract class DiskFullTests : StoreTestBase
{
    [Fact]
    public async Task An_export_that_fills_the_disk_fails_cleanly_and_the_next_one_completes()
    {
        using var disk = Tmpfs.Mount(kilobytes: 2048);
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Spillway:ExportPath"] = disk.Path },
            limits: new { maxProcessingJobs = 1 });
        await server.SeedAsync(20_000, daysBack: 2, seed: 11); // about 6 MB of CSV: three times the disk
        using var client = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();

        var big = await Marketo.CreateAsync(client, Marketo.Window(now.AddDays(-3), now));
        await Marketo.EnqueueAsync(client, big);
        var failed = await Marketo.WaitAsync(client, big);

        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        var errorMsg = failed.GetProperty("errorMsg").GetString()!;
        Assert.StartsWith("Export failed: the server ran out of disk space for the file (incident ", errorMsg, StringComparison.Ordinal);
        Assert.DoesNotContain("/", errorMsg, StringComparison.Ordinal);
        Assert.Empty(disk.Files()); // neither the temporary file nor a published one

        // The slot is free (one Processing job allowed) and the server serves: a job that fits completes, whole.
        var (file, small) = await Marketo.ExportAsync(client, Marketo.Window(now.AddHours(-1), now));
        Assert.Equal("Completed", small.GetProperty("status").GetString());
        Assert.True(small.GetProperty("numberOfRecords").GetInt64() > 0);
        Assert.Equal(small.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)));

        // With room again the same window exports in full.
        disk.Resize(kilobytes: 65_536);
        var (whole, job) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-3), now));
        Assert.Equal(20_000, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(job.GetProperty("fileChecksum").GetString(), "sha256:" + Convert.ToHexStringLower(SHA256.HashData(whole)));
    }
}

public sealed class DiskFullTests_Embedded : DiskFullTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class DiskFullTests_Postgres : DiskFullTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
