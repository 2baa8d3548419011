namespace Spillway.Server.Hosting;

/// <summary>
/// Recognises "the disk is full" in whatever form it reaches us: an <see cref="IOException"/> from our own file writes
/// (ENOSPC on Linux and macOS, ERROR_DISK_FULL or ERROR_HANDLE_DISK_FULL on Windows), or an engine's error that wraps
/// it (DuckDB and SQLite say "No space left on device" or "database or disk is full"; PostgreSQL's SQLSTATE 53100).
/// A full disk is the one engine failure a client can act on (wait, or ask for less), so it gets its own message.
/// </summary>
public static class DiskFull
{
    private const int Enospc = 28;
    private const int ErrorDiskFull = unchecked((int)0x80070070);
    private const int ErrorHandleDiskFull = unchecked((int)0x80070027);

    public static bool Is(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is IOException { HResult: Enospc or ErrorDiskFull or ErrorHandleDiskFull })
            {
                return true;
            }

            if (e is Npgsql.PostgresException { SqlState: "53100" })
            {
                return true;
            }

            if (e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
                || e.Message.Contains("database or disk is full", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
