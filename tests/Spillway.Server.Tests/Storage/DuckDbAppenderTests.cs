using DuckDB.NET.Data;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// What the embedded store's appends rely on in DuckDB itself. An appender's rows, flushed by its own threshold or by
/// closing it, join the connection's open transaction, so they land with its commit and a rollback leaves none of them.
/// Text given as UTF-8 bytes goes into a VARCHAR column whole, NUL included (given as a string, it would end at the NUL).
/// A DuckDB or DuckDB.NET upgrade that changed either would fail here, not as a half-stored batch or cut text.
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

    [Fact]
    public void Text_appended_as_utf8_bytes_keeps_nul_and_every_character()
    {
        Directory.CreateDirectory(_folder);
        using var connection = new DuckDBConnection($"Data Source={Path.Combine(_folder, "t.duckdb")}");
        connection.Open();
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (i INTEGER, s VARCHAR)";
            create.ExecuteNonQuery();
        }

        string?[] texts = ["a\0b", "\0", "tail\0", "東京 👍🏽 \"q\", x", "", null];
        using (var appender = connection.CreateAppender("t"))
        {
            for (var i = 0; i < texts.Length; i++)
            {
                var row = appender.CreateRow().AppendValue((int?)i);
                (texts[i] is { } text ? row.AppendValue(System.Text.Encoding.UTF8.GetBytes(text).AsSpan()) : row.AppendNullValue()).EndRow();
            }
        }

        using var select = connection.CreateCommand();
        select.CommandText = "SELECT s, octet_length(encode(s)) FROM t ORDER BY i";
        using var reader = select.ExecuteReader();
        foreach (var text in texts)
        {
            Assert.True(reader.Read());
            Assert.Equal(text, reader.IsDBNull(0) ? null : reader.GetString(0));
            Assert.Equal(text is null ? (int?)null : System.Text.Encoding.UTF8.GetByteCount(text),
                reader.IsDBNull(1) ? (int?)null : Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
