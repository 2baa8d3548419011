using System.Text;
using System.Text.Json;
using Spillway.Client;

namespace Spillway.Client.Tests;

public class ReaderTests
{
    private const string Header = "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes\n";

    private static ExportFileReader Reader(string text, ExportFileReaderOptions? options = null, int chunk = 0) =>
        new(chunk > 0 ? new TrickleStream(Encoding.UTF8.GetBytes(text), chunk) : new MemoryStream(Encoding.UTF8.GetBytes(text)), options);

    private static async Task<List<ExportedActivity>> Records(string text, ExportFileReaderOptions? options = null, int chunk = 0)
    {
        await using var reader = Reader(text, options, chunk);
        var list = new List<ExportedActivity>();
        await foreach (var r in reader.ReadRecordsAsync())
        {
            list.Add(r);
        }

        return list;
    }

    private static async Task<List<string?[]>> Rows(string text, ExportFileReaderOptions? options = null, int chunk = 0)
    {
        await using var reader = Reader(text, options, chunk);
        var list = new List<string?[]>();
        while (await reader.ReadRowAsync() is { } row)
        {
            list.Add(row);
        }

        return list;
    }

    [Fact]
    public async Task DocumentedExample_IsTyped()
    {
        var text = Header +
            "783957693,5414087,2022-02-13T14:06:20Z,104,8497,1670,MembershipTest1,\"{\"\"Reason\"\":\"\"Changed by Smart Campaign, action Change Data Value\"\",\"\"Program Member ID\"\":3240303,\"\"Acquired By\"\":true,\"\"Old Status\"\":\"\"Not in Program\"\"}\"\n" +
            "558681,102419,2017-09-08T16:38:14Z,12,null,102419,null,\"{\"\"Source Type\"\":\"\"List import\"\"}\"\n";
        var records = await Records(text);
        Assert.Equal(2, records.Count);
        var r = records[0];
        Assert.Equal("783957693", r.MarketoGuid);
        Assert.Equal(5414087, r.LeadId);
        Assert.Equal(new DateTimeOffset(2022, 2, 13, 14, 6, 20, TimeSpan.Zero), r.ActivityDate);
        Assert.Equal(104, r.ActivityTypeId);
        Assert.Equal(8497, r.CampaignId);
        Assert.Equal(1670, r.PrimaryAttributeValueId);
        Assert.Equal("MembershipTest1", r.PrimaryAttributeValue);
        Assert.Equal(JsonValueKind.Object, r.Attributes.ValueKind);
        Assert.Equal("Changed by Smart Campaign, action Change Data Value", r.Attributes.GetProperty("Reason").GetString());
        Assert.Equal(3240303, r.Attributes.GetProperty("Program Member ID").GetInt64());
        Assert.True(r.Attributes.GetProperty("Acquired By").GetBoolean());
        Assert.Null(r.ActionResult);

        var n = records[1];
        Assert.Null(n.CampaignId);
        Assert.Null(n.PrimaryAttributeValue);
        Assert.Equal(102419, n.PrimaryAttributeValueId);
    }

    [Theory]
    [InlineData("with,comma")]
    [InlineData("with \"quotes\" inside")]
    [InlineData("line\nfeed")]
    [InlineData("carriage\rreturn")]
    [InlineData("crlf\r\ninside")]
    [InlineData("nul\0byte")]
    [InlineData("中文テキスト한국어 🎉")]
    [InlineData("\"")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData(" leading and trailing ")]
    [InlineData("ends with cr\r")]
    public async Task QuotedValues_RoundTripThroughWriterAndReader(string value)
    {
        foreach (var format in new[] { ExportFileFormat.Csv, ExportFileFormat.Tsv, ExportFileFormat.Ssv })
        {
            var delimiter = ExportFileFormats.Delimiter(format);
            using var buffer = new MemoryStream();
            await using (var writer = new MergedFileWriter(buffer, delimiter, leaveOpen: true))
            {
                await writer.WriteRowAsync(["a", "b", "c"]);
                await writer.WriteRowAsync([value, "x" + delimiter + "y", null]);
                await writer.WriteRowAsync(["tab\tand space", value, "z"]);
            }

            var text = Encoding.UTF8.GetString(buffer.ToArray());
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            foreach (var chunk in new[] { 0, 1, 3 })
            {
                var rows = await Rows(text, new ExportFileReaderOptions { Format = format }, chunk);
                Assert.Equal(2, rows.Count);
                Assert.Equal(new string?[] { value, "x" + delimiter + "y", null }, rows[0]);
                Assert.Equal(new string?[] { "tab\tand space", value, "z" }, rows[1]);
            }
        }
    }

    [Fact]
    public async Task BareNull_IsMissing_QuotedNull_IsText_EmptyIsEmpty()
    {
        var rows = await Rows("a,b,c,d\nnull,\"null\",,nullx\n");
        Assert.Equal(new string?[] { null, "null", "", "nullx" }, Assert.Single(rows));
    }

    [Fact]
    public async Task CrlfLineEndings_NoFinalNewline_AndBlankLines_AreAccepted()
    {
        var rows = await Rows("a,b\r\n1,2\r\n\n3,\"4\"\r\n5,6");
        Assert.Equal(3, rows.Count);
        Assert.Equal(new string?[] { "3", "4" }, rows[1]);
        Assert.Equal(new string?[] { "5", "6" }, rows[2]);
    }

    [Fact]
    public async Task LoneCrOutsideQuotes_IsData()
    {
        var rows = await Rows("a,b\nx\ry,z\n");
        Assert.Equal(new string?[] { "x\ry", "z" }, Assert.Single(rows));
    }

    [Fact]
    public async Task MultiLineCjkAndNul_InAttributes_Parse()
    {
        var attributes = JsonSerializer.Serialize(new Dictionary<string, object> { ["Form Fields"] = "行1\n行2\r\n\0end, \"q\"", ["Score"] = 1.5 });
        var quoted = "\"" + attributes.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var text = Header + $"1,2,2024-01-01T00:00:00Z,2,null,7,表单 \"名\",{quoted}\n".Replace(",表单 \"名\",", ",\"表单 \"\"名\"\"\",", StringComparison.Ordinal);
        foreach (var chunk in new[] { 0, 1, 2 })
        {
            var r = Assert.Single(await Records(text, chunk: chunk));
            Assert.Equal("表单 \"名\"", r.PrimaryAttributeValue);
            Assert.Equal("行1\n行2\r\n\0end, \"q\"", r.Attributes.GetProperty("Form Fields").GetString());
            Assert.Equal(1.5, r.Attributes.GetProperty("Score").GetDouble());
        }
    }

    [Theory]
    [InlineData(ExportFileFormat.Tsv, '\t')]
    [InlineData(ExportFileFormat.Ssv, ' ')]
    public async Task TsvAndSsv_AreRead(ExportFileFormat format, char d)
    {
        var header = string.Join(d, "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId", "primaryAttributeValue", "attributes") + "\n";
        var row = string.Join(d, "11", "22", "2024-05-06T07:08:09Z", "1", "null", "5", "\"My Page, Home\"", "\"{\"\"Webpage URL\"\":\"\"/a b\"\"}\"") + "\n";
        var r = Assert.Single(await Records(header + row, new ExportFileReaderOptions { Format = format }));
        Assert.Equal("My Page, Home", r.PrimaryAttributeValue);
        Assert.Equal("/a b", r.Attributes.GetProperty("Webpage URL").GetString());
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero), r.ActivityDate);
    }

    [Fact]
    public async Task RenamedHeaders_AndReorderedFields_MapByName()
    {
        var renames = new Dictionary<string, string>
        {
            ["primaryAttributeValueId"] = "Attribute ID",
            ["primaryAttributeValue"] = "Attribute Value",
            ["attributes"] = "Secondary Attributes",
        };
        var text = "leadId,marketoGUID,Attribute Value,Attribute ID,activityTypeId,activityDate,actionResult,Secondary Attributes\n" +
                   "5,g1,Home,9,1,2024-01-02T03:04:05Z,succeeded,null\n";
        await using var reader = Reader(text, new ExportFileReaderOptions { ColumnHeaderNames = renames });
        var records = new List<ExportedActivity>();
        await foreach (var r in reader.ReadRecordsAsync())
        {
            records.Add(r);
        }

        var record = Assert.Single(records);
        Assert.Equal("Attribute ID", reader.Headers![3]);
        Assert.Equal("primaryAttributeValueId", reader.Fields![3]);
        Assert.Equal("g1", record.MarketoGuid);
        Assert.Equal(5, record.LeadId);
        Assert.Equal(9, record.PrimaryAttributeValueId);
        Assert.Equal("Home", record.PrimaryAttributeValue);
        Assert.Equal("succeeded", record.ActionResult);
        Assert.Null(record.CampaignId); // no such column
        Assert.Equal(JsonValueKind.Object, record.Attributes.ValueKind);
        Assert.Empty(record.Attributes.EnumerateObject());
    }

    [Fact]
    public async Task HeaderOnlyFile_HasNoRecords()
    {
        Assert.Empty(await Records(Header));
    }

    [Fact]
    public async Task LongField_SpansManyBuffers()
    {
        var big = new string('é', 100_000) + "\"" + new string('x', 50_000);
        var text = "a,b\n\"" + big.Replace("\"", "\"\"", StringComparison.Ordinal) + "\",1\n";
        var row = Assert.Single(await Rows(text));
        Assert.Equal(big, row[0]);
    }

    [Fact]
    public async Task MalformedInput_FailsLoudly()
    {
        await Assert.ThrowsAsync<InvalidDataException>(() => Rows("a,b\n1,2,3\n"));
        await Assert.ThrowsAsync<InvalidDataException>(() => Rows("a,b\n\"open,2\n"));
        await Assert.ThrowsAsync<InvalidDataException>(() => Rows(""));
        await Assert.ThrowsAsync<InvalidDataException>(() => Records("leadId,activityDate\n1,2024-01-01T00:00:00Z\n"));
        await Assert.ThrowsAsync<InvalidDataException>(() => Records(Header + "g,notanumber,2024-01-01T00:00:00Z,1,null,null,null,{}\n"));
        await Assert.ThrowsAsync<InvalidDataException>(() => Records(Header + "g,1,yesterday,1,null,null,null,{}\n"));
        await Assert.ThrowsAsync<InvalidDataException>(() => Records(Header + "g,1,2024-01-01T00:00:00Z,1,null,null,null,{not json\n"));
        await using var reader = Reader("a,b\n\"" + new string('x', 100) + "\",1\n", new ExportFileReaderOptions { MaxFieldLength = 50 });
        await Assert.ThrowsAsync<InvalidDataException>(async () => await reader.ReadRowAsync());
    }

    [Fact]
    public async Task StrayQuoteInsideQuotedField_IsKeptAsText()
    {
        var row = Assert.Single(await Rows("a,b\n\"first\"Name1\",2\n"));
        Assert.Equal(new string?[] { "first\"Name1", "2" }, row);
    }

    [Fact]
    public async Task ByteOrderMark_IsSkipped()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("a,b\n1,2\n")).ToArray();
        await using var reader = new ExportFileReader(new MemoryStream(bytes));
        Assert.Equal(["a", "b"], await reader.ReadHeaderAsync());
    }

    [Fact]
    public void FormatNames_Parse()
    {
        Assert.Equal(ExportFileFormat.Ssv, ExportFileFormats.Parse("ssv"));
        Assert.Equal(ExportFileFormat.Csv, ExportFileFormats.Parse(null));
        Assert.Equal("TSV", ExportFileFormats.ToWireName(ExportFileFormat.Tsv));
        Assert.Throws<FormatException>(() => ExportFileFormats.Parse("xlsx"));
    }
}

/// <summary>A stream that hands out at most a few bytes per read, to split UTF-8 sequences and quotes across reads.</summary>
internal sealed class TrickleStream(byte[] data, int chunk) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => data.Length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, chunk), data.Length - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
