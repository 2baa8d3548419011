using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Admin;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// <c>POST /_spillway/admin/snapshot</c> and <see cref="SnapshotArchive.RestoreAsync"/>: a running server's data
/// folder saved while it takes writes, restored into a new folder, and served again with the same activities, jobs,
/// files and credentials.
/// </summary>
public sealed class SnapshotTests
{
    private const int Batch = 250;

    [Fact]
    public async Task A_snapshot_taken_under_writes_restores_a_consistent_store_its_files_and_its_credentials()
    {
        string archive;
        long before;
        string exportId;
        string checksum;
        (string Id, string Secret) credentials;
        await using (var server = await SpillwayTestServer.StartAsync())
        {
            credentials = (server.ClientId, server.ClientSecret);
            await server.SeedAsync(5_000, daysBack: 5);
            using var api = await server.AuthorizedClientAsync();
            var now = server.Clock.GetUtcNow();
            var window = $"\"startAt\":\"{now.AddDays(-6):yyyy-MM-ddTHH:mm:ssZ}\",\"endAt\":\"{now:yyyy-MM-ddTHH:mm:ssZ}\"";
            var (id, job) = await Marketo.CompleteAsync(api, "{\"filter\":{\"createdAt\":{" + window + "}}}");
            exportId = id;
            checksum = job.GetProperty("fileChecksum").GetString()!;

            var store = server.Services.GetRequiredService<IActivityStore>();
            var subscription = (await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None))!;
            before = await store.CountAsync(subscription.Id, CancellationToken.None);

            // Appends of whole batches keep running while the snapshot is taken: the copy holds each batch entirely or not at all.
            using var stop = new CancellationTokenSource();
            var next = await store.MaxMarketoGuidAsync(CancellationToken.None) + 1;
            var writer = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var rows = Enumerable.Range(0, Batch).Select(i => Marketo.Activity(next + i, now.AddHours(-1))).ToArray();
                    next += Batch;
                    await store.AppendAsync(subscription.Id, rows, CancellationToken.None);
                }
            });

            await Task.Delay(100);
            using var response = await server.Admin.PostAsync("/_spillway/admin/snapshot", null);
            await stop.CancelAsync();
            await writer;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/gzip", response.Content.Headers.ContentType?.MediaType);
            archive = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N") + ".tar.gz");
            Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
            await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
            Assert.True(await store.CountAsync(subscription.Id, CancellationToken.None) > before, "no batch was appended while the test ran");
        }

        var restored = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        try
        {
            await using (var input = File.OpenRead(archive))
            {
                await SnapshotArchive.RestoreAsync(input, restored, CancellationToken.None);
            }

            await using var again = await SpillwayTestServer.StartAsync(dataPath: restored);
            var store = again.Services.GetRequiredService<IActivityStore>();
            var subscription = (await again.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None))!;
            var count = await store.CountAsync(subscription.Id, CancellationToken.None);
            Assert.True(count >= before && (count - before) % Batch == 0, $"{count} activities: not {before} plus whole batches of {Batch}");

            // The API user of the first server still gets a token; its Completed job and file are there, byte for byte.
            using var api = await again.AuthorizedClientAsync(credentials.Id, credentials.Secret);
            var status = await Marketo.StatusAsync(api, exportId);
            Assert.Equal("Completed", status.GetProperty("status").GetString());
            var file = await Marketo.GetFileAsync(api, exportId);
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
            Assert.Equal(checksum, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await file.Content.ReadAsByteArrayAsync())));
        }
        finally
        {
            File.Delete(archive);
        }
    }

    [Fact]
    public async Task A_PostgreSQL_store_answers_501_with_what_to_use_instead()
    {
        await using var server = await SpillwayTestServer.StartAsync(store: StoreKind.Postgres);
        using var response = await server.Admin.PostAsync("/_spillway/admin/snapshot", null);
        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("pg_dump", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_admin_key_there_is_no_snapshot()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var response = await server.Http.PostAsync("/_spillway/admin/snapshot", null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("../escape.db")]
    [InlineData("exports/files/../../metadata.db")]
    [InlineData("/etc/passwd")]
    [InlineData("notes.txt")]
    public async Task An_archive_with_a_foreign_entry_is_refused_and_leaves_nothing(string entryName)
    {
        var archive = new MemoryStream();
        await using (var gzip = new GZipStream(archive, CompressionLevel.Fastest, leaveOpen: true))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "metadata.db") { DataStream = new MemoryStream([1, 2, 3]) });
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream([4]) });
        }

        archive.Position = 0;
        var target = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => SnapshotArchive.RestoreAsync(archive, target, CancellationToken.None));
        Assert.StartsWith("This is not a Spillway snapshot", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}*"));
    }

    [Fact]
    public async Task Bytes_that_are_no_archive_are_refused_and_a_folder_with_files_is_never_overwritten()
    {
        var target = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        var garbage = await Assert.ThrowsAsync<InvalidDataException>(() =>
            SnapshotArchive.RestoreAsync(new MemoryStream("not a tarball"u8.ToArray()), target, CancellationToken.None));
        Assert.StartsWith("This is not a Spillway snapshot", garbage.Message, StringComparison.Ordinal);

        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "keep.txt"), "mine");
        try
        {
            var busy = await Assert.ThrowsAsync<IOException>(() =>
                SnapshotArchive.RestoreAsync(new MemoryStream(), target, CancellationToken.None));
            Assert.Contains("not empty", busy.Message, StringComparison.Ordinal);
            Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(target, "keep.txt")));
        }
        finally
        {
            Directory.Delete(target, recursive: true);
        }
    }
}
