using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spillway.Server.Hosting;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary><c>Spillway:InMemory</c> (<c>spillway serve --in-memory</c>): the store on a tmpfs, gone when the server stops.</summary>
public sealed class InMemoryTests
{
    [Fact]
    public async Task An_in_memory_server_serves_from_a_tmpfs_folder_writes_nothing_to_its_data_path_and_leaves_nothing_behind()
    {
        var given = Path.Combine(Path.GetTempPath(), "spillway-tests", Guid.NewGuid().ToString("N"));
        string folder;
        await using (var server = await SpillwayTestServer.StartAsync(new Dictionary<string, string?> { ["Spillway:InMemory"] = "true" }, dataPath: given))
        {
            folder = server.Services.GetRequiredService<IOptions<SpillwayOptions>>().Value.DataPath;
            Assert.NotEqual(given, folder);
            if (Directory.Exists("/dev/shm"))
            {
                Assert.StartsWith("/dev/shm/", folder, StringComparison.Ordinal);
            }

            await server.SeedAsync(1_000, daysBack: 2);
            using var api = await server.AuthorizedClientAsync();
            var now = server.Clock.GetUtcNow();
            var (file, job) = await Marketo.ExportAsync(api, Marketo.Window(now.AddDays(-3), now));
            // A header and 1,000 records; a record's quoted text may hold line breaks of its own (the seeded hard text).
            Assert.Equal(1_000, job.GetProperty("numberOfRecords").GetInt64());
            var quoted = false;
            var records = 0;
            foreach (var b in file)
            {
                quoted ^= b == (byte)'"';
                records += !quoted && b == (byte)'\n' ? 1 : 0;
            }

            Assert.Equal(1_001, records);
            Assert.True(File.Exists(Path.Combine(folder, "metadata.db")));
            Assert.True(File.Exists(Path.Combine(folder, "activities.duckdb")));
            Assert.NotEmpty(Directory.GetFiles(ExportFolders.Files(Path.Combine(folder, "exports"))));
            Assert.False(Directory.Exists(given) && Directory.EnumerateFileSystemEntries(given).Any(), "the configured data path was written to");
            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
            Assert.Equal("Completed", job.GetProperty("status").GetString());
        }

        Assert.False(Directory.Exists(folder), $"{folder} is still there after the server stopped");
    }
}
