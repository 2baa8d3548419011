using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Activities.Import;
using Spillway.Server.Admin;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Export files load back with the importer: byte-identical re-exports, idempotent and resumable imports.</summary>
public abstract class ImportRoundTripTests : StoreTestBase
{
    private const string AllFields = ""","fields":["marketoGUID","leadId","activityDate","activityTypeId","campaignId","primaryAttributeValueId","primaryAttributeValue","attributes","actionResult"]""";

    /// <summary>A second subscription with its own API user, and a client for it.</summary>
    private static async Task<(Subscription Subscription, HttpClient Client)> FreshSubscriptionAsync(SpillwayTestServer server, string munchkinId)
    {
        var admin = server.Services.GetRequiredService<SubscriptionAdmin>();
        var subscription = (await admin.CreateSubscriptionAsync(munchkinId, null, CancellationToken.None)).Value!;
        var user = await admin.AddApiUserAsync(munchkinId, "copy@example.com", ["Read-Only Activity"], null, null, CancellationToken.None);
        return (subscription, await server.AuthorizedClientAsync(user.Value.Credential.ClientId, user.Value.Credential.ClientSecret));
    }

    private static async Task<ImportSummary> ImportAsync(SpillwayTestServer server, int subscriptionId, byte[] file, ActivityFileFormat format,
        int batchSize = ActivityImporter.DefaultBatchSize, List<ImportIssue>? issues = null)
    {
        var importer = new ActivityImporter(server.Services.GetRequiredService<IActivityStore>());
        return await importer.ImportAsync(subscriptionId, new MemoryStream(file), format, i => issues?.Add(i), null, CancellationToken.None, batchSize);
    }

    [Fact]
    public async Task Ninety_days_exported_window_by_window_import_into_a_fresh_subscription_and_export_byte_identical()
    {
        await using var server = await StartAsync();
        var seeded = await server.SeedAsync(20_000, daysBack: 90, seed: 7);
        using var source = await server.AuthorizedClientAsync();
        var end = server.Clock.GetUtcNow();
        end = new DateTimeOffset(end.UtcTicks - (end.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var start = end - TimeSpan.FromDays(90) - TimeSpan.FromSeconds(1);

        // Every window of at most 31 days (inclusive bounds, so each window ends a second before the next starts).
        var windows = new List<(DateTimeOffset Start, DateTimeOffset End)>();
        for (var from = start; from <= end; from += TimeSpan.FromDays(31))
        {
            var to = from + TimeSpan.FromDays(31) - TimeSpan.FromSeconds(1);
            windows.Add((from, to < end ? to : end));
        }

        Assert.Equal(3, windows.Count);
        var bodies = windows.Select(w => Marketo.Window(w.Start, w.End, "", AllFields)).ToList();
        bodies.Add(Marketo.Window(windows[0].Start, windows[0].End, "", ""","format":"TSV" """));
        bodies.Add(Marketo.Window(windows[1].Start, windows[1].End, "", ""","format":"SSV" """));
        var formats = new[] { ActivityFileFormat.Csv, ActivityFileFormat.Csv, ActivityFileFormat.Csv, ActivityFileFormat.Tsv, ActivityFileFormat.Ssv };

        var originals = new List<byte[]>();
        long rows = 0;
        foreach (var body in bodies)
        {
            var (file, job) = await Marketo.ExportAsync(source, body);
            originals.Add(file);
            rows += originals.Count <= 3 ? job.GetProperty("numberOfRecords").GetInt64() : 0;
        }

        Assert.Equal(seeded, rows);
        Assert.Contains("\r", Encoding.UTF8.GetString(originals[0]) + Encoding.UTF8.GetString(originals[1]) + Encoding.UTF8.GetString(originals[2]),
            StringComparison.Ordinal); // the seed's hard text is in there

        var (copy, client) = await FreshSubscriptionAsync(server, "222-BBB-222");
        using (client)
        {
            long added = 0;
            for (var i = 0; i < originals.Count; i++)
            {
                var issues = new List<ImportIssue>();
                var summary = await ImportAsync(server, copy.Id, originals[i], formats[i], batchSize: 3_000, issues);
                Assert.Empty(issues);
                added += summary.Added;
            }

            Assert.Equal(seeded, added); // the TSV and SSV files held nothing new

            for (var i = 0; i < bodies.Count; i++)
            {
                var (again, _) = await Marketo.ExportAsync(client, bodies[i]);
                Assert.True(originals[i].AsSpan().SequenceEqual(again), $"export {i} differs after the round trip");
            }
        }
    }

    [Fact]
    public async Task Importing_twice_adds_nothing_and_an_interrupted_import_completes_when_run_again()
    {
        await using var server = await StartAsync();
        await server.SeedAsync(5_000, daysBack: 10, seed: 3);
        using var source = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();
        var (file, _) = await Marketo.ExportAsync(source, Marketo.Window(now.AddDays(-11), now, "", AllFields));
        var (copy, client) = await FreshSubscriptionAsync(server, "333-CCC-333");
        using (client)
        {
            // An import stopped part-way: only the first 40 % of the file got in (cut inside a line).
            var cut = file.AsSpan(0, file.Length * 2 / 5).ToArray();
            var partial = await ImportAsync(server, copy.Id, cut, ActivityFileFormat.Csv, batchSize: 500);
            Assert.InRange(partial.Added, 1_000, 2_500);

            var resumed = await ImportAsync(server, copy.Id, file, ActivityFileFormat.Csv, batchSize: 500);
            Assert.Equal(5_000, resumed.Read);
            Assert.Equal(5_000 - partial.Added, resumed.Added);
            Assert.Equal(partial.Added, resumed.AlreadyPresent);

            var twice = await ImportAsync(server, copy.Id, file, ActivityFileFormat.Csv);
            Assert.Equal(0, twice.Added);
            Assert.Equal(5_000, await server.Services.GetRequiredService<IActivityStore>().CountAsync(copy.Id, CancellationToken.None));

            var (again, _) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-11), now, "", AllFields));
            Assert.True(file.AsSpan().SequenceEqual(again));
        }
    }
}

public sealed class ImportRoundTripTests_Embedded : ImportRoundTripTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ImportRoundTripTests_Postgres : ImportRoundTripTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
