using System.Text;
using Spillway.Contracts;

namespace Spillway.Client.Tests;

/// <summary>The wire vocabulary of Spillway.Contracts that server, client and CLI share.</summary>
public class VocabularyTests
{
    public static TheoryData<string> Zones => ["system", "fixed"];

    private static TimeZoneInfo Zone(string kind) =>
        kind == "fixed" ? MarketoQuotaDay.FixedUsCentral : TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");

    [Theory]
    [MemberData(nameof(Zones))]
    public void QuotaDay_StartsAtCentralMidnight_AcrossDaylightSaving(string kind)
    {
        var zone = Zone(kind);
        DateTimeOffset Utc(int y, int m, int d, int h) => new(y, m, d, h, 0, 0, TimeSpan.Zero);
        Assert.Equal(Utc(2026, 1, 15, 6), MarketoQuotaDay.StartOf(Utc(2026, 1, 15, 12), zone));
        Assert.Equal(Utc(2026, 3, 8, 6), MarketoQuotaDay.StartOf(Utc(2026, 3, 8, 12), zone)); // CDT starts at 02:00 that day
        Assert.Equal(Utc(2026, 3, 9, 5), MarketoQuotaDay.StartOf(Utc(2026, 3, 9, 12), zone));
        Assert.Equal(Utc(2026, 11, 1, 5), MarketoQuotaDay.StartOf(Utc(2026, 11, 1, 12), zone)); // CST again from 02:00
        Assert.Equal(Utc(2026, 11, 2, 6), MarketoQuotaDay.StartOf(Utc(2026, 11, 2, 12), zone));
        Assert.Equal(Utc(2026, 7, 1, 5), MarketoQuotaDay.StartOf(Utc(2026, 7, 2, 4), zone)); // 23:00 CDT on July 1
        Assert.Equal(new DateOnly(2026, 7, 1), MarketoQuotaDay.DateOf(Utc(2026, 7, 2, 4), zone));
        Assert.Equal(new DateOnly(2026, 7, 2), MarketoQuotaDay.DateOf(Utc(2026, 7, 2, 5), zone));
        Assert.Equal(Utc(2026, 3, 9, 5), MarketoQuotaDay.NextReset(Utc(2026, 3, 8, 12), zone).ToUniversalTime());
        Assert.Equal(TimeSpan.FromHours(-5), MarketoQuotaDay.NextReset(Utc(2026, 3, 8, 12), zone).Offset);
        Assert.Equal(Utc(2026, 11, 2, 6), MarketoQuotaDay.NextReset(Utc(2026, 11, 1, 12), zone).ToUniversalTime());
    }

    [Fact]
    public void QuotaDay_FixedRule_AgreesWithTheTimeZoneDatabase_EveryHourFrom2007To2040()
    {
        var system = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
        for (var at = new DateTimeOffset(2007, 1, 1, 0, 30, 0, TimeSpan.Zero); at.Year < 2041; at = at.AddHours(1))
        {
            if (MarketoQuotaDay.StartOf(at, MarketoQuotaDay.FixedUsCentral) != MarketoQuotaDay.StartOf(at, system)
                || MarketoQuotaDay.NextReset(at, MarketoQuotaDay.FixedUsCentral) != MarketoQuotaDay.NextReset(at, system))
            {
                Assert.Fail($"The fixed US Central rule and the time zone database disagree at {at:O}.");
            }
        }

        Assert.Equal(MarketoQuotaDay.StartOf(DateTimeOffset.UtcNow, system), MarketoQuotaDay.StartOf(DateTimeOffset.UtcNow));
    }

    [Theory]
    [InlineData("Created", "Created")]
    [InlineData("QUEUED", "Queued")]
    [InlineData("processing", "Processing")]
    [InlineData("Completed", "Completed")]
    [InlineData("failed", "Failed")]
    [InlineData("cancelled", "Cancelled")]
    [InlineData("CANCELED", "Cancelled")]
    [InlineData("Canceled", "Cancelled")]
    public void StatusNames_ParseInAnyCase_WithBothSpellingsOfCancelled(string text, string expected)
    {
        Assert.True(ExportJobStatuses.TryParse(text, out var status));
        Assert.Equal(expected, status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" Queued")]
    [InlineData("cancel")]
    [InlineData("Expired")]
    public void StatusNames_RejectOthers(string? text)
    {
        Assert.False(ExportJobStatuses.TryParse(text, out var status));
        Assert.Equal("", status);
    }

    [Fact]
    public void Formats_HaveOneNameAndDelimiterEach()
    {
        Assert.True(ExportFileFormats.TryParse(" tsv ", out var tsv));
        Assert.Equal(ExportFileFormat.Tsv, tsv);
        Assert.False(ExportFileFormats.TryParse("xlsx", out _));
        Assert.False(ExportFileFormats.TryParse(null, out _));
        Assert.Equal(["CSV", "TSV", "SSV"], Enum.GetValues<ExportFileFormat>().Select(ExportFileFormats.ToWireName));
        Assert.Equal([',', '\t', ' '], Enum.GetValues<ExportFileFormat>().Select(ExportFileFormats.Delimiter));
    }

    [Fact]
    public void ExportFields_DefaultIsEveryFieldButActionResult_InOrder()
    {
        Assert.Equal(9, ActivityExportFields.All.Count);
        Assert.Equal(ActivityExportFields.All.Take(8), ActivityExportFields.Default);
        Assert.Equal("actionResult", ActivityExportFields.All[^1]);
        Assert.Equal(["marketoGUID", "leadId", "activityDate", "activityTypeId"], ActivityExportFields.Required);
        Assert.True(ActivityExportFields.IsField("marketoGUID"));
        Assert.False(ActivityExportFields.IsField("marketoGuid"));
        Assert.False(ActivityExportFields.IsField(" leadId"));
        Assert.Equal(7, ActivityExportFields.IndexOf("attributes"));
    }

    [Theory]
    [InlineData("plain", ',', "plain")]
    [InlineData("null", ',', "\"null\"")]
    [InlineData("nullx", ',', "nullx")]
    [InlineData("a,b", ',', "\"a,b\"")]
    [InlineData("a,b", '\t', "a,b")]
    [InlineData("a b", ' ', "\"a b\"")]
    [InlineData("say \"hi\"", ',', "\"say \"\"hi\"\"\"")]
    [InlineData("cr\ronly", ',', "\"cr\ronly\"")]
    [InlineData("", ',', "")]
    public void Quoting_IsMinimal_AndTheSameForTextAndUtf8(string value, char delimiter, string expected)
    {
        var line = new StringBuilder();
        MarketoCsv.AppendField(line, value, delimiter);
        Assert.Equal(expected, line.ToString());
        Assert.Equal(expected != value, MarketoCsv.NeedsQuotes(value, delimiter));
        Assert.Equal(expected != value, MarketoCsv.NeedsQuotes(Encoding.UTF8.GetBytes(value), (byte)delimiter));
    }

    [Fact]
    public void Quoting_WritesAMissingValueAsTheBareWord()
    {
        var line = new StringBuilder();
        MarketoCsv.AppendField(line, null, ',');
        Assert.Equal("null", line.ToString());
    }

    private static List<(long Line, string?[] Values, bool Blank, bool Open)> Records(string text, char delimiter = ',', int chunk = 0, bool async = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using var reader = new MarketoCsvReader(chunk > 0 ? new TrickleStream(bytes, chunk) : new MemoryStream(bytes), delimiter);
        var list = new List<(long, string?[], bool, bool)>();
        while (async ? reader.ReadAsync().AsTask().GetAwaiter().GetResult() : reader.Read())
        {
            var values = Enumerable.Range(0, reader.FieldCount).Select(reader.GetStringOrNull).ToArray();
            list.Add((reader.RecordLine, values, reader.IsBlankLine, reader.EndsInsideQuotes));
        }

        return list;
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(0, true)]
    public void Reader_NumbersLines_AndLeavesBlankLinesAndOpenQuotesToTheCaller(int chunk, bool async)
    {
        var text = "\uFEFFa,b\r\n\"two\nlines\",x\n\n\"q\"\"\",null\r\n\"tail\r\",\"open\nend";
        var records = Records(text, chunk: chunk, async: async);
        Assert.Equal([1L, 2, 4, 5, 6], records.Select(r => r.Line));
        Assert.Equal(new string?[] { "a", "b" }, records[0].Values);
        Assert.Equal(new string?[] { "two\nlines", "x" }, records[1].Values);
        Assert.True(records[2].Blank);
        Assert.Equal(new string?[] { "q\"", null }, records[3].Values);
        Assert.Equal(new string?[] { "tail\r", "open\nend" }, records[4].Values);
        Assert.True(records[4].Open);
        Assert.False(records[3].Open);
    }

    [Fact]
    public void Reader_KeepsAStrayQuoteAsText_AndDropsACutOffCrlf()
    {
        var records = Records("\"first\"Name\",\"x\"\ry\",a\"b\nlast\r");
        Assert.Equal(new string?[] { "first\"Name", "x\"\ry", "a\"b" }, records[0].Values);
        Assert.Equal(new string?[] { "last" }, records[1].Values);
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public void Reader_TypesIntegersAndDates_OverBytes()
    {
        var bytes = Encoding.UTF8.GetBytes("12,-3,+4,1x,2026-03-01T01:02:03Z,2026-03-01T01:02:03+01:00,2026-02-30T00:00:00Z\n");
        using var reader = new MarketoCsvReader(new MemoryStream(bytes));
        Assert.True(reader.Read());
        Assert.True(reader.TryGetInt64(0, out var a) && a == 12);
        Assert.True(reader.TryGetInt64(1, out var b) && b == -3);
        Assert.False(reader.TryGetInt64(3, out _));
        Assert.True(reader.TryGetDateTime(4, out var d) && d == new DateTimeOffset(2026, 3, 1, 1, 2, 3, TimeSpan.Zero));
        Assert.True(reader.TryGetDateTime(5, out var e) && e == new DateTimeOffset(2026, 3, 1, 0, 2, 3, TimeSpan.Zero));
        Assert.False(reader.TryGetDateTime(6, out _));
        Assert.False(reader.Read());
    }

    [Fact]
    public void Reader_RefusesAFieldOverTheLimit_AndABadDelimiter()
    {
        using var reader = new MarketoCsvReader(new MemoryStream(Encoding.UTF8.GetBytes("\"" + new string('x', 20) + "\"\n")), maxFieldBytes: 10);
        Assert.Throws<InvalidDataException>(() => reader.Read());
        Assert.Throws<ArgumentException>(() => new MarketoCsvReader(Stream.Null, '"'));
        Assert.Throws<ArgumentException>(() => new MarketoCsvReader(Stream.Null, 'é'));
    }
}
