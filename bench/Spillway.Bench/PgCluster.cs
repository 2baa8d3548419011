using System.Diagnostics;
using System.Globalization;

/// <summary>
/// The suite's PostgreSQL: a private cluster started with scripts/pg.sh the first time and kept in the bench folder,
/// so its databases (one per data-set size) are reused across runs; later runs start it again with pg_ctl.
/// </summary>
internal sealed class PgCluster
{
    private readonly string _dir;
    private readonly string _bin;
    private readonly int _port;

    private PgCluster(string dir, string bin, int port, bool fresh)
    {
        _dir = dir;
        _bin = bin;
        _port = port;
        Fresh = fresh;
    }

    /// <summary>The cluster was created by this run: no database of an earlier run exists.</summary>
    public bool Fresh { get; }

    public static PgCluster Start(string root, string dir)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")).First(d => File.Exists(Path.Combine(d, "pg_ctl")));
        var fresh = !File.Exists(Path.Combine(dir, "data", "PG_VERSION"));
        if (fresh)
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }

            Run("bash", $"{Path.Combine(root, "scripts", "pg.sh")} start {dir}");
            var port0 = Port(dir);
            // Closer to the baseline's settings than pg.sh's test defaults (shared_buffers 128MB).
            Run("psql", $"-h 127.0.0.1 -p {port0} -U postgres -d postgres -qAt -c \"ALTER SYSTEM SET shared_buffers = '2GB'\" -c \"ALTER SYSTEM SET max_wal_size = '2GB'\" -c \"ALTER SYSTEM SET checkpoint_timeout = '30min'\" -c \"ALTER SYSTEM SET maintenance_work_mem = '1GB'\"");
            Run("runuser", $"-u postgres -- {bin}/pg_ctl -D {dir}/data -l {dir}/server.log -w -t 120 restart");
        }
        else if (!File.Exists(Path.Combine(dir, "data", "postmaster.pid")))
        {
            Run("runuser", $"-u postgres -- {bin}/pg_ctl -D {dir}/data -l {dir}/server.log -w -t 120 start");
        }

        var port = Port(dir);
        Console.WriteLine($"postgres: {(fresh ? "new" : "reused")} cluster in {dir}, port {port}, {Run("psql", $"-h 127.0.0.1 -p {port} -U postgres -d postgres -qAt -c \"SHOW server_version\"")}");
        return new PgCluster(dir, bin, port, fresh);
    }

    private static int Port(string dir) =>
        int.Parse(File.ReadLines(Path.Combine(dir, "data", "postgresql.auto.conf")).Last(l => l.TrimStart().StartsWith("port", StringComparison.Ordinal)).Split('=')[1].Trim().Trim('\''), CultureInfo.InvariantCulture);

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={_port};Username=postgres;Database={database};Maximum Pool Size=50";

    public bool HasDatabase(string name) =>
        Psql("postgres", $"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1";

    public void RecreateDatabase(string name)
    {
        Psql("postgres", $"DROP DATABASE IF EXISTS {name}");
        Psql("postgres", $"CREATE DATABASE {name}");
    }

    public string Psql(string database, string sql) =>
        Run("psql", $"-h 127.0.0.1 -p {_port} -U postgres -d {database} -qAt -c \"{sql}\"");

    /// <summary>PostgreSQL's own CSV export of the same rows, in the same order and format, through psql to a file.</summary>
    public double NativeCopy(string database, string output, DateTimeOffset start, DateTimeOffset end, int[]? types)
    {
        var subscription = Psql(database, "SELECT subscription_id FROM activity_key LIMIT 1");
        var typeFilter = types is null ? "" : $" AND activity_type_id IN ({string.Join(',', types)})";
        var sqlFile = output + ".sql";
        File.WriteAllText(sqlFile, string.Create(CultureInfo.InvariantCulture, $"""
            COPY (SELECT marketo_guid AS "marketoGUID", lead_id AS "leadId",
                         to_char(activity_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "activityDate",
                         activity_type_id AS "activityTypeId", campaign_id AS "campaignId", primary_attribute_value_id AS "primaryAttributeValueId",
                         primary_attribute_value AS "primaryAttributeValue", attributes
                    FROM activity
                   WHERE subscription_id = {subscription}
                     AND activity_date >= '{start:yyyy-MM-ddTHH:mm:ssZ}' AND activity_date <= '{end:yyyy-MM-ddTHH:mm:ssZ}'{typeFilter}
                   ORDER BY activity_date, marketo_guid) TO STDOUT WITH (FORMAT csv, HEADER, NULL 'null');
            """));
        var watch = Stopwatch.StartNew();
        Run("sh", $"-c \"psql -h 127.0.0.1 -p {_port} -U postgres -d {database} -qAt -f {sqlFile} > {output}\"");
        watch.Stop();
        File.Delete(output);
        File.Delete(sqlFile);
        return watch.Elapsed.TotalSeconds;
    }

    public void Stop()
    {
        try
        {
            Run("runuser", $"-u postgres -- {_bin}/pg_ctl -D {_dir}/data -m fast -w stop");
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine("postgres: stop failed: " + e.Message);
        }
    }

    private static string Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited {p.ExitCode}: {stderr}");
        }

        return stdout.Result.Trim();
    }
}
