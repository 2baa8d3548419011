using DuckDB.NET.Data;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// What the embedded store's all-or-nothing appends rely on in DuckDB itself: an appender's rows, flushed by its own
/// threshold or by closing it, join the connection's open transaction, so they land with its commit and a rollback
/// leaves none of them. A DuckDB upgrade that changed this would fail here, not as a half-stored batch.
/// </summary>
public sealed class DuckDbAppenderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "spillway-tests", "appender-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(1_000)]   // flushed when the appender closes
    [InlineData(250_000)] // also flushed by the appender itself, at 204,800 rows
    public void Appended_rows_land_with_the_transaction_and_a_rollback_leaves_none(int rows)
    {
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, "t.duckdb");
        using var writer = new DuckDBConnection($"Data Source={path}");
        writer.Open();
        using (var create = writer.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (x INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        using var reader = new DuckDBConnection($"Data Source={path}");
        reader.Open();
        long Count()
        {
            using var count = reader.CreateCommand();
            count.CommandText = "SELECT count(*) FROM t";
            return Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        void Append()
        {
            using var appender = writer.CreateAppender("t");
            for (var i = 0; i < rows; i++)
            {
                appender.CreateRow().AppendValue((int?)i).EndRow();
            }
        }

        using (var transaction = writer.BeginTransaction())
        {
            Append();
            Assert.Equal(0, Count());
            transaction.Rollback();
        }

        Assert.Equal(0, Count());
        using (var transaction = writer.BeginTransaction())
        {
            Append();
            Assert.Equal(0, Count());
            transaction.Commit();
        }

        Assert.Equal(rows, Count());
    }
}
