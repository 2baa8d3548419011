using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;
using Spillway.Server.BulkExport;
using Spillway.Server.Leads.Export;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;
using Spillway.Server.Storage.Postgres;

/// <summary>
/// The Bulk Lead Extract of N leads x 30 fields (3 row columns, 22 standard fields, 5 custom fields of every kind),
/// all created in one 31-day window, against the engine's own CSV export of the same rows and columns in id order:
/// PostgreSQL's <c>COPY (SELECT ...) TO STDOUT WITH CSV</c> through psql to a file, and for the embedded store (SQLite)
/// the sqlite3 shell's CSV mode to a file (SQLite has no COPY; its shell's <c>.mode csv</c> is its own export).
/// Spillway's side is the lead extract's file path in process: <see cref="LeadExtract.WriteFileAsync"/> (the store's
/// stream, the row writer, SHA-256, a real file flushed to disk), without the HTTP calls around a job.
/// With <c>--filter list</c> the extract reads the members of one static list that holds every lead (<c>staticListId</c>),
/// and the engine's export the same rows through the same membership subquery.
/// Usage: leads [--rows 1000000] [--runs 3] [--store embedded|postgres|both] [--filter createdAt|list]
/// </summary>
internal static class LeadsBench
{
    private const int Subscription = 1;
    private const int ListId = 1;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset End = Start.AddDays(31).AddSeconds(-1);

    /// <summary>The 30 requested fields, in file order.</summary>
    private static readonly string[] Fields =
    [
        "id", "createdAt", "updatedAt", "email", "firstName", "lastName", "company", "title", "phone", "city", "state", "country", "postalCode",
        "address", "website", "industry", "leadSource", "leadStatus", "department", "numberOfEmployees", "annualRevenue", "leadScore",
        "unsubscribed", "doNotCall", "dateOfBirth", "tier", "shoeSize", "spend", "vip", "lastLogin",
    ];

    private static readonly (string Name, string Type)[] Custom =
        [("tier", "string"), ("shoeSize", "integer"), ("spend", "currency"), ("vip", "boolean"), ("lastLogin", "datetime")];

    public static async Task<int> RunAsync(string[] args)
    {
        var rows = long.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var runs = int.Parse(Option(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        var store = Option(args, "--store") ?? "both";
        var list = (Option(args, "--filter") ?? "createdAt") switch
        {
            "createdAt" => false,
            "list" => true,
            var other => throw new ArgumentException($"--filter is createdAt or list, not {other}."),
        };
        var root = FindRoot();
        var bench = Path.Combine(root, ".bench", $"leads-{rows}");
        Directory.CreateDirectory(bench);
        Console.WriteLine($"leads: {rows:N0} leads x {Fields.Length} fields ({Custom.Length} custom), {(list ? $"static list {ListId} holding every lead" : $"window {Start:u} .. {End:u}")}, {runs} runs; " +
                          $".NET {Environment.Version}, {Environment.ProcessorCount} cores; load {SuiteBench.LoadAverage()}");
        if (store is "embedded" or "both")
        {
            await EmbeddedAsync(bench, rows, runs, list);
        }

        if (store is "postgres" or "both")
        {
            await PostgresAsync(root, bench, rows, runs, list);
        }

        return 0;
    }

    private static async Task EmbeddedAsync(string bench, long rows, int runs, bool list)
    {
        var path = Path.Combine(bench, "metadata.db");
        var db = new SqliteDatabase(path);
        var leads = new SqliteLeadStore(db);
        if (!File.Exists(path + ".ready"))
        {
            File.Delete(path);
            await db.MigrateAsync(CancellationToken.None);
            var watch = Stopwatch.StartNew();
            await DefineAsync(leads);
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandTimeout = 0;
            command.CommandText = SqliteInsert(rows);
            await command.ExecuteNonQueryAsync();
            Console.WriteLine($"embedded: loaded {rows:N0} leads in {watch.Elapsed.TotalSeconds:F1} s");
            await File.WriteAllTextAsync(path + ".ready", "");
        }

        if (list)
        {
            // Idempotent: the list and its membership are added once to the cached data.
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandTimeout = 0;
            command.CommandText = $"INSERT OR IGNORE INTO static_list VALUES ({Subscription}, {ListId}, 'Everyone', NULL, NULL, NULL, 0, 0); " +
                                  $"INSERT OR IGNORE INTO list_member SELECT subscription_id, {ListId}, id, created_at FROM lead WHERE subscription_id = {Subscription};";
            await command.ExecuteNonQueryAsync();
        }

        var output = Path.Combine(bench, "embedded.csv");
        var native = Path.Combine(bench, "embedded-native.csv");
        var select = SqliteSelect(list);
        await CompareAsync("embedded", runs, leads, new SqliteListStore(db), output, list, () =>
        {
            var sql = native + ".sql";
            File.WriteAllText(sql, $".headers on\n.mode csv\n.nullvalue null\n.once {native}\n{select};\n");
            var seconds = Time("sh", $"-c \"sqlite3 -readonly {path} < {sql}\"");
            File.Delete(sql);
            return (seconds, native);
        });
        SqliteConnection.ClearAllPools();
    }

    private static async Task PostgresAsync(string root, string bench, long rows, int runs, bool list)
    {
        var cluster = PgCluster.Start(root, Path.Combine(root, ".bench", "pg"));
        try
        {
            var database = $"leads_{rows}";
            await using var dataSource = NpgsqlDataSource.Create(cluster.ConnectionString(database));
            var leads = new PostgresLeadStore(dataSource);
            if (!cluster.HasDatabase(database) || cluster.Psql(database, "SELECT count(*) FROM lead") != rows.ToString(CultureInfo.InvariantCulture))
            {
                cluster.RecreateDatabase(database);
                await new PostgresMigrator(dataSource).MigrateAsync(CancellationToken.None);
                var watch = Stopwatch.StartNew();
                await DefineAsync(leads);
                await using var command = dataSource.CreateCommand(PostgresInsert(rows));
                command.CommandTimeout = 0;
                await command.ExecuteNonQueryAsync();
                cluster.Psql(database, "VACUUM ANALYZE lead");
                Console.WriteLine($"postgres: loaded {rows:N0} leads in {watch.Elapsed.TotalSeconds:F1} s");
            }

            if (list)
            {
                cluster.Psql(database, $"INSERT INTO static_list VALUES ({Subscription}, {ListId}, 'Everyone', NULL, NULL, NULL, now(), now()) ON CONFLICT DO NOTHING; " +
                                       $"INSERT INTO list_member SELECT subscription_id, {ListId}, id, created_at FROM lead WHERE subscription_id = {Subscription} ON CONFLICT DO NOTHING;");
                cluster.Psql(database, "VACUUM ANALYZE list_member");
            }

            var output = Path.Combine(bench, "postgres.csv");
            var native = Path.Combine(bench, "postgres-native.csv");
            await CompareAsync("postgres", runs, leads, new PostgresListStore(dataSource), output, list, () =>
            {
                var sql = native + ".sql";
                File.WriteAllText(sql, $"COPY ({PostgresSelect(list)}) TO STDOUT WITH (FORMAT csv, HEADER, NULL 'null');\n");
                var connection = new NpgsqlConnectionStringBuilder(cluster.ConnectionString(database));
                var seconds = Time("sh", $"-c \"psql -h 127.0.0.1 -p {connection.Port} -U postgres -d {database} -qAt -f {sql} > {native}\"");
                File.Delete(sql);
                return (seconds, native);
            });
        }
        finally
        {
            cluster.Stop();
        }
    }

    /// <summary>Runs both sides alternately, <paramref name="runs"/> times, and prints each run and the medians with their spread.</summary>
    private static async Task CompareAsync(string kind, int runs, SqlLeadStore leads, IListStore lists, string output, bool list, Func<(double Seconds, string Path)> native)
    {
        var extract = new LeadExtract(leads, lists, leads, Microsoft.Extensions.Options.Options.Create(new Spillway.Server.Hosting.SpillwayOptions()));
        var spec = list
            ? new LeadExtractSpec(LeadExtractFilterKind.StaticList, default, default, Fields, null, ExportFormat.Csv) { ListId = ListId }
            : new LeadExtractSpec(LeadExtractFilterKind.CreatedAt, Start, End, Fields, null, ExportFormat.Csv);
        var job = new ExportJobRecord
        {
            ExportId = Guid.NewGuid(),
            SubscriptionId = Subscription,
            ApiUserId = 1,
            Format = ExportFormat.Csv,
            Status = ExportJobStatus.Processing,
            SpecJson = spec.ToJson(),
            CreatedAt = DateTimeOffset.UtcNow,
            Kind = "leads",
        };
        var ours = new List<double>();
        var theirs = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            ExportFileSummary summary;
            await using (var file = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                summary = await extract.WriteFileAsync(job, file, CancellationToken.None);
                file.Flush(flushToDisk: true);
            }

            var seconds = watch.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var (nativeSeconds, nativePath) = native();
            ours.Add(seconds);
            theirs.Add(nativeSeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {kind} run {run + 1}: extract {summary.NumberOfRecords:N0} rows, {summary.FileSize / 1048576.0:F0} MB in {seconds:F2} s (CPU {cpu:F2} s, " +
                $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB, GC heap {GC.GetGCMemoryInfo().HeapSizeBytes >> 20} MB); " +
                $"engine export {new FileInfo(nativePath).Length / 1048576.0:F0} MB in {nativeSeconds:F2} s; ratio {seconds / nativeSeconds:F2}; load {SuiteBench.LoadAverage()}"));
            File.Delete(nativePath);
        }

        File.Delete(output);
        ours.Sort();
        theirs.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {kind} | {ours[ours.Count / 2]:F2} s ({ours[0]:F2}-{ours[^1]:F2}) | {theirs[theirs.Count / 2]:F2} s ({theirs[0]:F2}-{theirs[^1]:F2}) | " +
            $"{ours[ours.Count / 2] / theirs[theirs.Count / 2]:F2} |"));
    }

    private static async Task DefineAsync(ILeadFieldStore fields)
    {
        foreach (var (name, type) in Custom)
        {
            await fields.AddCustomFieldAsync(Subscription, name, name, type, DateTimeOffset.UtcNow, CancellationToken.None);
        }
    }

    /// <summary>
    /// Leads 1..N spread evenly over the window, every value derived from the id: text with commas and quotes now and
    /// then (so quoting is exercised), about one value in five null, numbers, booleans, dates and date-times.
    /// </summary>
    private static string SqliteInsert(long rows) => string.Create(CultureInfo.InvariantCulture, $"""
        INSERT INTO lead_sequence (subscription_id, last_id) VALUES ({Subscription}, {rows});
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
        INSERT INTO lead (subscription_id, id, created_at, updated_at, fields_updated_at, email, first_name, last_name, company, title, phone, city,
                          state, country, postal_code, address, website, industry, lead_source, lead_status, department, number_of_employees,
                          annual_revenue, lead_score, unsubscribed, do_not_call, date_of_birth, custom)
        SELECT {Subscription}, i, t, t, t, 'lead' || i || '@example.com', 'First' || (i % 997), 'Last' || (i % 4999),
               CASE WHEN i % 7 = 0 THEN 'Acme, "Intl"' ELSE 'Company ' || (i % 1000) END, CASE WHEN i % 5 = 0 THEN NULL ELSE 'Title ' || (i % 50) END,
               '+1 555 ' || (1000000 + i % 9000000), 'City ' || (i % 300), 'ST', 'USA', printf('%05d', i % 99999),
               CASE WHEN i % 5 = 1 THEN NULL ELSE i || ' Main Street, Suite ' || (i % 90) END, 'https://example.com/' || (i % 1000), 'Software',
               'Website', 'Open', CASE WHEN i % 5 = 2 THEN NULL ELSE 'Marketing' END, i % 5000, (i % 1000000) / 4.0, i % 100, i % 2, i % 3 = 0,
               date('1970-01-01', '+' || (i % 18000) || ' days'),
               json_object('tier', CASE i % 3 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver, "plus"' ELSE 'bronze' END, 'shoeSize', 35 + i % 12,
                           'spend', (i % 100000) / 8.0, 'vip', json(CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END),
                           'lastLogin', strftime('%Y-%m-%dT%H:%M:%SZ', t / 1000 + 3600, 'unixepoch'))
          FROM (SELECT i, {Start.ToUnixTimeMilliseconds()} + i * {(End - Start).Ticks / TimeSpan.TicksPerMillisecond / rows} AS t FROM n);
        """);

    private static string PostgresInsert(long rows) => string.Create(CultureInfo.InvariantCulture, $"""
        INSERT INTO lead_sequence (subscription_id, last_id) VALUES ({Subscription}, {rows});
        INSERT INTO lead (subscription_id, id, created_at, updated_at, fields_updated_at, email, first_name, last_name, company, title, phone, city,
                          state, country, postal_code, address, website, industry, lead_source, lead_status, department, number_of_employees,
                          annual_revenue, lead_score, unsubscribed, do_not_call, date_of_birth, custom)
        SELECT {Subscription}, i, t, t, t, 'lead' || i || '@example.com', 'First' || (i % 997), 'Last' || (i % 4999),
               CASE WHEN i % 7 = 0 THEN 'Acme, "Intl"' ELSE 'Company ' || (i % 1000) END, CASE WHEN i % 5 = 0 THEN NULL ELSE 'Title ' || (i % 50) END,
               '+1 555 ' || (1000000 + i % 9000000), 'City ' || (i % 300), 'ST', 'USA', lpad((i % 99999)::text, 5, '0'),
               CASE WHEN i % 5 = 1 THEN NULL ELSE i || ' Main Street, Suite ' || (i % 90) END, 'https://example.com/' || (i % 1000), 'Software',
               'Website', 'Open', CASE WHEN i % 5 = 2 THEN NULL ELSE 'Marketing' END, i % 5000, (i % 1000000) / 4.0, i % 100, i % 2 = 1, i % 3 = 0,
               date '1970-01-01' + (i % 18000)::int,
               jsonb_build_object('tier', CASE i % 3 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver, "plus"' ELSE 'bronze' END, 'shoeSize', 35 + i % 12,
                                  'spend', (i % 100000) / 8.0, 'vip', i % 2 = 0,
                                  'lastLogin', to_char((t + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
          FROM (SELECT i, timestamptz '{Start:yyyy-MM-ddTHH:mm:ssZ}' + i * interval '{(End - Start).TotalSeconds / rows} seconds' AS t
                  FROM generate_series(1::bigint, {rows}) AS i) AS g;
        """);

    /// <summary>The same columns in the same order and text forms where the engine has them (times as ISO text, custom values read out of the object).</summary>
    /// <summary>The store's own membership filter, written the same way for the engine's export.</summary>
    private static readonly string ListFilter = $"id IN (SELECT lead_id FROM list_member WHERE subscription_id = {Subscription} AND list_id = {ListId})";

    private static string SqliteSelect(bool list) => string.Create(CultureInfo.InvariantCulture, $"""
        SELECT id, strftime('%Y-%m-%dT%H:%M:%SZ', created_at / 1000, 'unixepoch') AS createdAt, strftime('%Y-%m-%dT%H:%M:%SZ', updated_at / 1000, 'unixepoch') AS updatedAt,
               email, first_name, last_name, company, title, phone, city, state, country, postal_code, address, website, industry, lead_source, lead_status,
               department, number_of_employees, annual_revenue, lead_score, unsubscribed, do_not_call, date_of_birth,
               json_extract(custom, '$.tier'), json_extract(custom, '$.shoeSize'), json_extract(custom, '$.spend'), json_extract(custom, '$.vip'),
               json_extract(custom, '$.lastLogin')
          FROM lead WHERE subscription_id = {Subscription} AND {(list ? ListFilter : $"created_at >= {Start.ToUnixTimeMilliseconds()} AND created_at <= {End.ToUnixTimeMilliseconds()}")} ORDER BY id
        """).ReplaceLineEndings(" ");

    private static string PostgresSelect(bool list) => string.Create(CultureInfo.InvariantCulture, $"""
        SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "createdAt", to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "updatedAt",
               email, first_name, last_name, company, title, phone, city, state, country, postal_code, address, website, industry, lead_source, lead_status,
               department, number_of_employees, annual_revenue, lead_score, unsubscribed, do_not_call, date_of_birth,
               custom ->> 'tier', custom ->> 'shoeSize', custom ->> 'spend', custom ->> 'vip', custom ->> 'lastLogin'
          FROM lead WHERE subscription_id = {Subscription} AND {(list ? ListFilter : $"created_at >= '{Start:yyyy-MM-ddTHH:mm:ssZ}' AND created_at <= '{End:yyyy-MM-ddTHH:mm:ssZ}'")} ORDER BY id
        """).ReplaceLineEndings(" ");

    private static double Time(string file, string arguments)
    {
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}: {error}");
        }

        return watch.Elapsed.TotalSeconds;
    }

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Spillway.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
