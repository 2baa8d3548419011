using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DuckDB.NET.Data;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Hosting;

/// <summary>
/// A server that cannot start says so in one line on stderr (what happened, what to do) and exits with 2 (configuration)
/// or 4 (environment); the stack trace only with --verbose. Each test starts the real server process.
/// </summary>
public sealed class StartupFailureTests : IDisposable
{
    private const string Prefix = "Spillway cannot start: ";
    private readonly string _root = Directory.CreateTempSubdirectory("spillway-start-").FullName;

    [Fact]
    public async Task A_data_folder_that_is_a_file_is_refused()
    {
        var file = Path.Combine(_root, "data");
        await File.WriteAllTextAsync(file, "not a folder");

        var (code, line) = await StartAsync(file);

        Assert.Equal(4, code);
        Assert.StartsWith($"{Prefix}The data folder '{file}' cannot be used", line, StringComparison.Ordinal);
        Assert.Contains("--Spillway:DataPath", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_folder_under_a_file_is_refused()
    {
        var file = Path.Combine(_root, "file");
        await File.WriteAllTextAsync(file, "x");
        var folder = Path.Combine(file, "data");

        var (code, line) = await StartAsync(folder);

        Assert.Equal(4, code);
        Assert.StartsWith($"{Prefix}The data folder '{folder}' cannot be used", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_folder_on_a_read_only_mount_is_refused()
    {
        // Permissions do not stop root (the tests run as root in CI), a read-only mount does.
        var mount = Path.Combine(_root, "ro");
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", mount);
        try
        {
            var (code, line) = await StartAsync(mount);

            Assert.Equal(4, code);
            Assert.StartsWith($"{Prefix}The data folder '{mount}' cannot be used (", line, StringComparison.Ordinal);
            Assert.Contains("Read-only file system", line, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Run("umount", mount);
        }
    }

    [Fact]
    public async Task A_garbage_metadata_db_is_refused()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(data, "metadata.db"), Enumerable.Repeat((byte)0x5A, 64 * 1024).ToArray());

        var (code, line) = await StartAsync(data);

        Assert.Equal(4, code);
        Assert.StartsWith($"{Prefix}The store file '{Path.Combine(data, "metadata.db")}' cannot be read (", line, StringComparison.Ordinal);
        Assert.EndsWith("restore it from a backup or move it away to start empty.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_half_truncated_activities_duckdb_is_refused()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, "data")).FullName;
        var duck = Path.Combine(data, "activities.duckdb");
        using (var connection = new DuckDBConnection($"Data Source={duck}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE activity (subscription_id INTEGER NOT NULL, marketo_guid BIGINT NOT NULL, lead_id BIGINT NOT NULL,
                    activity_ts BIGINT NOT NULL, activity_type_id INTEGER NOT NULL, campaign_id BIGINT, primary_attribute_value_id BIGINT,
                    primary_attribute_value VARCHAR, attributes VARCHAR NOT NULL, action_result VARCHAR);
                INSERT INTO activity SELECT 1, i, i % 1000, 1700000000 + i, 1, NULL, NULL, 'v' || i, '{"a":' || i || '}', NULL
                    FROM range(1, 2000001) t(i);
                CHECKPOINT;
                """;
            command.ExecuteNonQuery();
        }

        await using (var file = new FileStream(duck, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        var (code, line) = await StartAsync(data);

        Assert.StartsWith($"{Prefix}The store file '{duck}' cannot be read (", line, StringComparison.Ordinal);
        Assert.Equal(4, code);
    }

    [Fact]
    public async Task A_port_in_use_is_refused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var (code, line) = await StartAsync(Path.Combine(_root, "data"), $"--urls=http://127.0.0.1:{port}");

        Assert.Equal(4, code);
        Assert.StartsWith(Prefix, line, StringComparison.Ordinal);
        Assert.Contains("address already in use", line, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("Stop the other program on that port, or choose another with --urls.", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_folder_in_use_by_another_server_is_refused()
    {
        var data = Path.Combine(_root, "data");
        await using var first = await ServerProcess.StartAsync(new Dictionary<string, string?> { ["Spillway:DataPath"] = data });

        var (code, line) = await StartAsync(data);

        Assert.Equal(4, code);
        Assert.Equal($"{Prefix}The data folder '{data}' is in use by another Spillway process; stop it, or choose another folder with --Spillway:DataPath.", line);
        Assert.False(first.HasExited);
    }

    [Theory]
    [InlineData("--Spillway:Provider=Nope", "Spillway:Provider must be one of Embedded, Postgres (got 'Nope').")]
    [InlineData("--Spillway:Worker:ChunkHours=lots", "'Spillway:Worker:ChunkHours'")]
    public async Task A_bad_configuration_value_exits_with_2(string argument, string expected)
    {
        var (code, line) = await StartAsync(Path.Combine(_root, "data"), argument);

        Assert.Equal(2, code);
        Assert.StartsWith(Prefix, line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_postgresql_is_refused()
    {
        var port = ServerProcess.FreePort();

        var (code, line) = await StartAsync(Path.Combine(_root, "data"), "--Spillway:Provider=Postgres",
            $"--Spillway:ConnectionString=Host=127.0.0.1;Port={port};Username=u;Password=secret-word;Database=d;Timeout=3");

        Assert.Equal(4, code);
        Assert.StartsWith($"{Prefix}PostgreSQL cannot be reached (", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_postgresql_user_is_refused()
    {
        // The test cluster trusts every local connection, so a wrong password passes there; an unknown role does not.
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(TestDatabases.PostgresConnectionString) { Username = "nobody_here", Password = "x" };

        var (code, line) = await StartAsync(Path.Combine(_root, "data"), "--Spillway:Provider=Postgres", $"--Spillway:ConnectionString={builder}");

        Assert.Equal(4, code);
        Assert.Equal($"{Prefix}PostgreSQL refused the user name or password; check Spillway:ConnectionString.", line);
    }

    [Fact]
    public async Task Verbose_adds_the_stack_trace()
    {
        var file = Path.Combine(_root, "data");
        await File.WriteAllTextAsync(file, "not a folder");

        var (code, error, _) = await ServerProcess.RunToExitAsync(["--urls=http://127.0.0.1:0", $"--Spillway:DataPath={file}", "--verbose"]);

        Assert.Equal(4, code);
        Assert.StartsWith($"{Prefix}The data folder", error, StringComparison.Ordinal);
        Assert.Contains("   at ", error, StringComparison.Ordinal);
    }

    /// <summary>Starts a server that must fail; returns its exit code and its one line, checking nothing else was printed.</summary>
    private static async Task<(int Code, string Line)> StartAsync(string dataPath, params string[] extra)
    {
        var arguments = new List<string> { $"--Spillway:DataPath={dataPath}" };
        if (!extra.Any(a => a.StartsWith("--urls=", StringComparison.Ordinal)))
        {
            arguments.Add($"--urls=http://127.0.0.1:{ServerProcess.FreePort()}");
        }

        arguments.AddRange(extra);
        var (code, error, output) = await ServerProcess.RunToExitAsync(arguments);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"Expected one line on stderr, got:\n{error}");
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        return (code, lines[0].TrimEnd('\r'));
    }

    private static void Run(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
