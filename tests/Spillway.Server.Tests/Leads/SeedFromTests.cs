using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Hosting;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>A seed folder (<c>serve --seed-from</c>): its lead and activity files load into the demo subscription at the first start of an empty store.</summary>
public abstract class SeedFromTests : StoreTestBase
{
    internal static string SeedFolder(params (string Name, string Text)[] files)
    {
        var folder = Path.Combine(Path.GetTempPath(), "spillway-seed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (var (name, text) in files)
        {
            File.WriteAllText(Path.Combine(folder, name), text.ReplaceLineEndings("\n"), new UTF8Encoding(false));
        }

        return folder;
    }

    internal static readonly (string, string)[] GoodFiles =
    [
        ("b-crm.leads.csv", "id,email,firstName,createdAt\n1,ann@example.com,Ann,2026-01-01T00:00:00Z\n2,bob@example.com,\"Bob, Jr.\",2026-01-02T00:00:00Z\n"),
        ("a-more.leads.ndjson", "{\"id\":3,\"email\":\"cy@example.com\",\"leadScore\":7}\n"),
        ("october.csv", "marketoGUID,leadId,activityDate,activityTypeId,attributes\n1,1,2026-01-10T00:00:00Z,1,{}\n2,2,2026-01-11T00:00:00Z,12,\"{\"\"Source Type\"\":\"\"Web\"\"}\"\n"),
        ("november.ndjson", "{\"marketoGUID\":\"3\",\"leadId\":3,\"activityDate\":\"2026-01-12T00:00:00Z\",\"activityTypeId\":1}\n"),
        ("README.txt", "not a seed file"),
    ];

    [Fact]
    public async Task The_first_start_loads_the_lead_files_then_the_activity_files_into_the_demo_subscription_instead_of_generated_activities()
    {
        var folder = SeedFolder(GoodFiles);
        try
        {
            await using var server = await StartWithRoomAsync(new Dictionary<string, string?>
            {
                ["Spillway:Demo:Enabled"] = "true",
                ["Spillway:Demo:SeedFrom"] = folder,
            });
            var demo = server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SpillwayOptions>>().Value.Demo;
            using var client = await server.AuthorizedClientAsync(demo.ClientId, demo.ClientSecret);
            var leads = (await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/leads.json?filterType=id&filterValues=1,2,3&fields=email,firstName,leadScore,createdAt")))
                .GetProperty("result").EnumerateArray().ToList();
            Assert.Equal(["ann@example.com", "bob@example.com", "cy@example.com"], leads.Select(l => l.GetProperty("email").GetString()));
            Assert.Equal("Bob, Jr.", leads[1].GetProperty("firstName").GetString());
            Assert.Equal(7, leads[2].GetProperty("leadScore").GetInt64());
            Assert.Equal("2026-01-01T00:00:00Z", leads[0].GetProperty("createdAt").GetString());

            var subscription = await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(demo.MunchkinId, CancellationToken.None);
            Assert.Equal(3, await server.Services.GetRequiredService<IActivityStore>().CountAsync(subscription!.Id, CancellationToken.None));

            // The leads came first, so the subscription has a lead database: a custom activity for an unknown lead is refused.
            Assert.True(await server.Services.GetRequiredService<ILeadStore>().HasLeadDatabaseAsync(subscription.Id, CancellationToken.None));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

public sealed class SeedFromTests_Embedded : SeedFromTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class SeedFromTests_Postgres : SeedFromTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}

/// <summary>The start-up rules of a seed folder, on the embedded store: a bad file stops the start, a store that is not empty ignores it.</summary>
public sealed class SeedFromStartTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "spillway-seed-data-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _folders = [];

    public void Dispose()
    {
        foreach (var folder in _folders.Append(_data).Where(Directory.Exists))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private string Folder(params (string, string)[] files)
    {
        var folder = SeedFromTests.SeedFolder(files);
        _folders.Add(folder);
        return folder;
    }

    /// <summary>A start that must fail: it ends before the server listens, with its exit code and what it wrote to stderr.</summary>
    private async Task<(int Code, string Error)> FailedStartAsync(string seedFolder)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var error = new StringWriter();
        var code = await SpillwayHost.RunAsync(["--urls=http://127.0.0.1:0", $"--Spillway:DataPath={_data}", $"--Spillway:Demo:SeedFrom={seedFolder}",
            "--Spillway:Demo:Activities=0", "--Logging:LogLevel:Default=Warning"], error, cancel.Token);
        Assert.False(cancel.IsCancellationRequested, "The start did not fail.");
        return (code, error.ToString());
    }

    /// <summary>The start's set-up (migrations and the first start) with a seed folder, without listening.</summary>
    private async Task StartAsync(string seedFolder)
    {
        await using var app = Spillway.Server.SpillwayApp.Build([$"--Spillway:DataPath={_data}", $"--Spillway:Demo:SeedFrom={seedFolder}",
            "--Spillway:Demo:Activities=0", "--Logging:LogLevel:Default=Warning"]);
        await Spillway.Server.SpillwayApp.InitializeAsync(app);
    }

    private async Task<(int Subscriptions, long Leads)> StoreAsync()
    {
        await using var app = Spillway.Server.SpillwayApp.Build([$"--Spillway:DataPath={_data}", "--Spillway:Demo:Enabled=false"]);
        await Spillway.Server.SpillwayApp.InitializeAsync(app);
        var subscriptions = await app.Services.GetRequiredService<IIdentityStore>().ListSubscriptionsAsync(CancellationToken.None);
        long leads = 0;
        foreach (var subscription in subscriptions)
        {
            leads += await app.Services.GetRequiredService<ILeadStore>().CountAsync(subscription.Id, CancellationToken.None);
        }

        return (subscriptions.Count, leads);
    }

    [Fact]
    public async Task A_bad_seed_file_stops_the_start_with_exit_5_and_one_line_and_nothing_is_loaded_so_the_next_start_seeds()
    {
        var bad = Folder(("a.leads.csv", "id,email\n1,ann@example.com\n"), ("b.leads.csv", "id,email,leadScore\n2,bob@example.com,1\n3,cy@example.com,high\n"));
        var (code, error) = await FailedStartAsync(bad);
        Assert.Equal(ServerExitCodes.BadData, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Spillway cannot start: The seed file 'b.leads.csv' cannot be loaded (line 3: leadScore 'high' is not an integer); fix or remove it and start again. Nothing was loaded.",
            line.TrimEnd('\r'));

        var header = Folder(("x.csv", "when,who\n"));
        (code, error) = await FailedStartAsync(header);
        Assert.Equal(ServerExitCodes.BadData, code);
        Assert.Contains("The seed file 'x.csv' cannot be loaded (Line 1: 'when' is not an export field", error, StringComparison.Ordinal);

        (code, error) = await FailedStartAsync(Folder(("notes.txt", "nothing to load")));
        Assert.Equal(ServerExitCodes.Configuration, code);
        Assert.Contains("holds no lead files", error, StringComparison.Ordinal);
        Assert.Equal((0, 0L), await StoreAsync());

        await StartAsync(Folder(SeedFromTests.GoodFiles));
        Assert.Equal((1, 3L), await StoreAsync());
    }

    [Fact]
    public async Task A_store_that_is_not_empty_ignores_the_seed_folder()
    {
        await using (var app = Spillway.Server.SpillwayApp.Build([$"--Spillway:DataPath={_data}", "--Spillway:Demo:Enabled=false"]))
        {
            await Spillway.Server.SpillwayApp.InitializeAsync(app);
            await app.Services.GetRequiredService<Spillway.Server.Admin.SubscriptionAdmin>().CreateSubscriptionAsync("555-EEE-555", null, CancellationToken.None);
        }

        // Even a folder that would not load is not read: the store already holds data.
        await StartAsync(Folder(("b.leads.csv", "id,email,leadScore\n3,cy@example.com,high\n")));
        Assert.Equal((2, 0L), await StoreAsync()); // the demo subscription, without seed data
    }
}
