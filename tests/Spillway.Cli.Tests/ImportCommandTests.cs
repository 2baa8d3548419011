using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Cli.Commands;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Cli.Tests;

/// <summary>
/// <c>spillway import</c> and <c>import leads</c> on a data folder, their exit codes, and <c>serve --seed-from</c>'s own
/// checks. In the one CLI test class, because the commands write to the process's Console.
/// </summary>
public sealed partial class CliTests
{
    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text.ReplaceLineEndings("\n"));
        return path;
    }

    [Fact]
    public void Every_exit_code_means_one_thing()
    {
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.Equal([0, 1, 2, 3, 4, 5, 130], codes.Order());
    }

    [Fact]
    public async Task Import_with_bad_lines_exits_5_not_the_quota_code_and_a_clean_import_exits_0()
    {
        var data = Path.Combine(_dir, "data");
        const string Header = "marketoGUID,leadId,activityDate,activityTypeId\n";
        var good = Write("good.csv", Header + "1,1,2026-01-10T00:00:00Z,1\n2,2,2026-01-10T00:00:00Z,1\n");
        var bad = Write("bad.csv", Header + "3,1,2026-01-10T00:00:00Z,1\n4,abc,2026-01-10T00:00:00Z,1\n");
        var unreadable = Write("hdr.csv", "when,who\n");

        var (code, _, err) = await RunAsync("import", "999-ZZZ-999", good, "--data", data, "--create");
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Equal(ExitCodes.BadData, (await RunAsync("import", "999-ZZZ-999", bad, "--data", data)).Code);
        Assert.Equal(ExitCodes.BadData, (await RunAsync("import", "999-ZZZ-999", unreadable, good, "--data", data)).Code);
        Assert.NotEqual(ExitCodes.Quota, ExitCodes.BadData);

        // Usage problems are found before the store is opened.
        (code, _, err) = await RunAsync("import", "999-ZZZ-999", good, "--format", "xls", "--data", data);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("spillway: Unknown format 'xls': use csv, tsv, ssv or ndjson.", err.Trim());
        Assert.Equal(ExitCodes.Usage, (await RunAsync("import", "999-ZZZ-999", Path.Combine(_dir, "missing.csv"), "--data", data)).Code);
    }

    [Fact]
    public async Task Import_leads_loads_by_id_is_idempotent_and_exits_5_on_a_bad_record()
    {
        var data = Path.Combine(_dir, "data");
        var leads = Write("crm.leads.csv", "id,email,firstName,createdAt\n1,ann@example.com,Ann,2026-01-01T00:00:00Z\n2,bob@example.com,Bob,null\n");
        var json = Write("more.ndjson", "{\"id\":3,\"email\":\"cy@example.com\"}\n");
        var bad = Write("bad.leads.csv", "id,leadScore\n4,7\n5,high\n");

        var (code, _, err) = await RunAsync("import", "leads", "999-ZZZ-999", leads, json, "--data", data, "--create");
        Assert.True(code == ExitCodes.Ok, err);
        (code, _, err) = await RunAsync("import", "leads", "999-ZZZ-999", leads, json, "--data", data);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Equal(ExitCodes.BadData, (await RunAsync("import", "leads", "999-ZZZ-999", bad, "--data", data)).Code);

        // The leads are in the store: the same ids as activities' leads would be, and the good line of the bad file loaded.
        await using var app = await OpenAsync(data);
        var subscription = await app.Services.GetRequiredService<Spillway.Server.Storage.IIdentityStore>().FindSubscriptionAsync("999-ZZZ-999", CancellationToken.None);
        var store = app.Services.GetRequiredService<Spillway.Server.Storage.ILeadStore>();
        Assert.Equal(4, await store.CountAsync(subscription!.Id, CancellationToken.None));
        var ann = Assert.Single(await store.GetByIdsAsync(subscription.Id, [1], CancellationToken.None));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), ann.CreatedAt);
    }

    [Fact]
    public async Task Import_with_url_loads_through_a_running_server_with_the_same_counts_and_exit_codes()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        string[] admin = ["--url", server.BaseAddress.ToString(), "--admin-key", SpillwayTestServer.AdminKey];
        const string Header = "marketoGUID,leadId,activityDate,activityTypeId\n";
        var good = Write("good.csv", Header + "1,1,2026-01-10T00:00:00Z,1\n2,2,2026-01-10T00:00:00Z,1\n");
        var bad = Write("bad.csv", Header + "3,1,2026-01-10T00:00:00Z,1\n4,abc,2026-01-10T00:00:00Z,1\n");
        var leads = Write("crm.leads.ndjson", "{\"id\":7,\"email\":\"ann@example.com\"}\n{\"id\":8,\"leadScore\":\"high\"}\n");

        // The server holds its data folder: the import goes through its admin API, and a missing subscription is created.
        var (code, output, err) = await RunAsync(["import", "555-NEW-555", good, .. admin]);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("2 read, 2 added, 0 already present", output + err, StringComparison.Ordinal);
        (code, output, err) = await RunAsync(["import", "555-NEW-555", good, .. admin]);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("2 read, 0 added, 2 already present", output + err, StringComparison.Ordinal);

        (code, output, err) = await RunAsync(["import", "555-NEW-555", bad, .. admin]);
        Assert.Equal(ExitCodes.BadData, code);
        Assert.Contains("bad.csv:3:", output + err, StringComparison.Ordinal);

        (code, output, err) = await RunAsync(["import", "leads", "555-NEW-555", leads, .. admin]);
        Assert.Equal(ExitCodes.BadData, code);
        Assert.Contains("1 added", output + err, StringComparison.Ordinal);
        var subscription = await server.Services.GetRequiredService<Spillway.Server.Storage.IIdentityStore>().FindSubscriptionAsync("555-NEW-555", CancellationToken.None);
        Assert.Equal(3, await server.Services.GetRequiredService<Spillway.Server.Storage.IActivityStore>().CountAsync(subscription!.Id, CancellationToken.None));
        Assert.Single(await server.Services.GetRequiredService<Spillway.Server.Storage.ILeadStore>().GetByIdsAsync(subscription.Id, [7, 8], CancellationToken.None));

        var refused = await RunAsync("import", "555-NEW-555", good, "--url", server.BaseAddress.ToString(), "--admin-key", "wrong");
        Assert.Equal(ExitCodes.Usage, refused.Code);
        Assert.Contains("refused the admin key", refused.Err, StringComparison.Ordinal);
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> OpenAsync(string data)
    {
        var app = Spillway.Server.SpillwayApp.Build([$"--Spillway:DataPath={data}", "--Spillway:Demo:Enabled=false", "--Logging:LogLevel:Default=Warning"]);
        await Spillway.Server.SpillwayApp.InitializeAsync(app);
        return app;
    }

    [Fact]
    public async Task Serve_seed_from_refuses_no_demo_and_a_missing_folder_before_starting()
    {
        var (code, _, err) = await RunAsync("serve", "--seed-from", _dir, "--no-demo", "--data", _dir);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--no-demo", err, StringComparison.Ordinal);
        (code, _, err) = await RunAsync("serve", "--seed-from", Path.Combine(_dir, "nope"), "--data", _dir);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("does not exist", err, StringComparison.Ordinal);
    }
}
