using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.BulkExport;

public class ExportFieldsTests
{
    private static readonly string[] WireNames =
    [
        "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId",
        "primaryAttributeValueId", "primaryAttributeValue", "attributes", "actionResult",
    ];

    [Fact]
    public void DefaultIsTheEightDocumentedColumnsInOrderWithoutActionResult()
    {
        Assert.Equal(WireNames[..8], ExportFields.Default.Select(ExportFields.WireName));
        Assert.DoesNotContain(ExportField.ActionResult, ExportFields.Default);
    }

    [Fact]
    public void EveryWireNameParsesAndRoundTrips()
    {
        Assert.Equal(WireNames.Length, Enum.GetValues<ExportField>().Length);
        foreach (var name in WireNames)
        {
            Assert.True(ExportFields.TryParse(name, out var field), name);
            Assert.Equal(name, ExportFields.WireName(field));
        }
    }

    [Theory]
    [InlineData("marketoGuid")]
    [InlineData("MarketoGUID")]
    [InlineData("LeadId")]
    [InlineData("ACTIONRESULT")]
    [InlineData(" leadId")]
    [InlineData("leadId ")]
    [InlineData("")]
    [InlineData("MarketoGuid")]
    public void MatchingIsExactAndCaseSensitive(string name) => Assert.False(ExportFields.TryParse(name, out _));

    [Fact]
    public void WireNameRejectsAnUnknownValue() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ExportFields.WireName((ExportField)42));
}

public class ExportFileWriterTests
{
    private const string DefaultHeader =
        "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes\n";

    private static readonly DateTimeOffset Date = new(2022, 2, 13, 14, 6, 20, TimeSpan.Zero);

    private static readonly ExportField[] AllFields = Enum.GetValues<ExportField>();

    // ---- exact bytes -------------------------------------------------------------------------------------------

    [Fact]
    public void CsvMatchesTheDocumentedExample()
    {
        // The example from Marketo's bulk activity extract page.
        const string attributes =
            """{"Reason":"Changed by Smart Campaign MembershipTestCampaignStepChoice.MembershipTestCampaignStepChoiceSetUp action Change Data Value","Program Member ID":3240303,"Acquired By":true,"Old Status":"Not in Program","New Status ID":21,"Success":false,"New Status":"On List","Old Status ID":20}""";
        var row = new ActivityRecord(783957693, 5414087, Date, 104, 8497, 1670, "MembershipTest1", attributes, "succeeded");

        var (bytes, summary) = Write(ExportFormat.Csv, ExportFields.Default, null, [row]);

        const string expected = DefaultHeader +
            "783957693,5414087,2022-02-13T14:06:20Z,104,8497,1670,MembershipTest1,\"{\"\"Reason\"\":\"\"Changed by Smart Campaign MembershipTestCampaignStepChoice.MembershipTestCampaignStepChoiceSetUp action Change Data Value\"\",\"\"Program Member ID\"\":3240303,\"\"Acquired By\"\":true,\"\"Old Status\"\":\"\"Not in Program\"\",\"\"New Status ID\"\":21,\"\"Success\"\":false,\"\"New Status\"\":\"\"On List\"\",\"\"Old Status ID\"\":20}\"\n";
        Assert.Equal(expected, Utf8(bytes));
        Assert.Equal(1, summary.NumberOfRecords);
    }

    [Fact]
    public void NewLeadFixtureRowWithNulls()
    {
        // A real 2017 export row: campaignId and primaryAttributeValue are null.
        var row = new ActivityRecord(558681, 102419, new DateTimeOffset(2017, 9, 8, 16, 38, 14, TimeSpan.Zero), 12, null, 102419, null,
            """{"Source Type":"List import","List Name":"Bill Import Test","Created Date":"2017-09-08"}""", null);

        var (bytes, _) = Write(ExportFormat.Csv, ExportFields.Default, null, [row]);

        Assert.Equal(DefaultHeader +
            "558681,102419,2017-09-08T16:38:14Z,12,null,102419,null,\"{\"\"Source Type\"\":\"\"List import\"\",\"\"List Name\"\":\"\"Bill Import Test\"\",\"\"Created Date\"\":\"\"2017-09-08\"\"}\"\n",
            Utf8(bytes));
    }

    [Theory]
    [InlineData(ExportFormat.Csv, ",")]
    [InlineData(ExportFormat.Tsv, "\t")]
    [InlineData(ExportFormat.Ssv, " ")]
    public void EachFormatUsesItsDelimiterInHeaderAndRows(ExportFormat format, string d)
    {
        var row = new ActivityRecord(1, 2, Date, 3, null, 4, "v", "{}", "skipped");

        var (bytes, _) = Write(format, AllFields, null, [row]);

        var header = string.Join(d, AllFields.Select(ExportFields.WireName));
        Assert.Equal($"{header}\n1{d}2{d}2022-02-13T14:06:20Z{d}3{d}null{d}4{d}v{d}{{}}{d}skipped\n", Utf8(bytes));
    }

    [Fact]
    public void SsvDelimiterIsConfigurable()
    {
        var row = new ActivityRecord(1, 2, Date, 3, null, null, "a;b c", "{}", null);

        var (bytes, _) = Write(ExportFormat.Ssv, [ExportField.LeadId, ExportField.PrimaryAttributeValue], null, [row], (byte)';');

        Assert.Equal("leadId;primaryAttributeValue\n2;\"a;b c\"\n", Utf8(bytes));
    }

    [Fact]
    public void TheSsvDelimiterIsIgnoredForCsvAndTsv()
    {
        var row = new ActivityRecord(1, 2, Date, 3, null, null, "a;b", "{}", null);

        var (csv, _) = Write(ExportFormat.Csv, [ExportField.LeadId, ExportField.PrimaryAttributeValue], null, [row], (byte)';');

        Assert.Equal("leadId,primaryAttributeValue\n2,a;b\n", Utf8(csv));
    }

    // ---- quoting ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(ExportFormat.Csv, "Hello World", "Hello World")]
    [InlineData(ExportFormat.Tsv, "Hello World", "Hello World")]
    [InlineData(ExportFormat.Ssv, "Hello World", "\"Hello World\"")]
    [InlineData(ExportFormat.Csv, "a,b", "\"a,b\"")]
    [InlineData(ExportFormat.Tsv, "a,b", "a,b")]
    [InlineData(ExportFormat.Ssv, "a,b", "a,b")]
    [InlineData(ExportFormat.Csv, "a\tb", "a\tb")]
    [InlineData(ExportFormat.Tsv, "a\tb", "\"a\tb\"")]
    [InlineData(ExportFormat.Ssv, "a\tb", "a\tb")]
    [InlineData(ExportFormat.Csv, "say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData(ExportFormat.Tsv, "\"", "\"\"\"\"")]
    [InlineData(ExportFormat.Ssv, "\"\"", "\"\"\"\"\"\"")]
    [InlineData(ExportFormat.Csv, "line1\nline2", "\"line1\nline2\"")]
    [InlineData(ExportFormat.Csv, "cr\ronly", "\"cr\ronly\"")]
    [InlineData(ExportFormat.Tsv, "crlf\r\n", "\"crlf\r\n\"")]
    [InlineData(ExportFormat.Csv, "nul\0inside", "nul\0inside")]
    [InlineData(ExportFormat.Csv, "日本語テキスト", "日本語テキスト")]
    [InlineData(ExportFormat.Csv, "emoji 🚀🎉", "emoji 🚀🎉")]
    [InlineData(ExportFormat.Ssv, "emoji 🚀🎉", "\"emoji 🚀🎉\"")]
    [InlineData(ExportFormat.Csv, "Ünïcødé, \"quoted\" 😀", "\"Ünïcødé, \"\"quoted\"\" 😀\"")]
    [InlineData(ExportFormat.Csv, "", "")]
    [InlineData(ExportFormat.Csv, "null", "null")]
    public void QuotesOnlyWhenNeededForTheActiveDelimiter(ExportFormat format, string value, string expected)
    {
        var row = new ActivityRecord(1, 2, Date, 3, null, null, value, "{}", null);

        var (bytes, _) = Write(format, [ExportField.PrimaryAttributeValue], null, [row]);

        Assert.Equal("primaryAttributeValue\n" + expected + "\n", Utf8(bytes));
    }

    [Fact]
    public void AttributesAreWrittenAsStoredWithQuotesDoubled()
    {
        var row = new ActivityRecord(1, 2, Date, 3, null, null, null, """{"a":"x,y","b":{"c":"\"q\""}}""", null);

        var (bytes, _) = Write(ExportFormat.Tsv, [ExportField.Attributes], null, [row]);

        Assert.Equal("attributes\n\"{\"\"a\"\":\"\"x,y\"\",\"\"b\"\":{\"\"c\"\":\"\"\\\"\"q\\\"\"\"\"}}\"\n", Utf8(bytes));
    }

    [Fact]
    public void EmptyAttributesObjectIsNotQuoted()
    {
        var (bytes, _) = Write(ExportFormat.Csv, [ExportField.Attributes], null, [new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", null)]);

        Assert.Equal("attributes\n{}\n", Utf8(bytes));
    }

    [Fact]
    public void MissingValuesAreTheBareWordNullAndEmptyStringsAreEmptyFields()
    {
        var rows = new[]
        {
            new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", null),
            new ActivityRecord(1, 2, Date, 3, 0, 0, "", "", ""),
        };
        var fields = new[]
        {
            ExportField.CampaignId, ExportField.PrimaryAttributeValueId, ExportField.PrimaryAttributeValue,
            ExportField.ActionResult, ExportField.Attributes,
        };

        var (bytes, _) = Write(ExportFormat.Csv, fields, null, rows);

        Assert.Equal("campaignId,primaryAttributeValueId,primaryAttributeValue,actionResult,attributes\nnull,null,null,null,{}\n0,0,,,\n", Utf8(bytes));
    }

    // ---- header -------------------------------------------------------------------------------------------------

    [Fact]
    public void HeaderNamesReplaceWireNamesAndAreQuotedWhenNeeded()
    {
        var names = new Dictionary<ExportField, string>
        {
            [ExportField.LeadId] = "Lead ID",
            [ExportField.CampaignId] = "Campaign, \"main\"",
            [ExportField.ActionResult] = "Résultat 🚀",
        };
        var fields = new[] { ExportField.LeadId, ExportField.CampaignId, ExportField.ActivityTypeId, ExportField.ActionResult };

        Assert.Equal("Lead ID,\"Campaign, \"\"main\"\"\",activityTypeId,Résultat 🚀\n", Utf8(Write(ExportFormat.Csv, fields, names, []).Bytes));
        Assert.Equal("Lead ID\t\"Campaign, \"\"main\"\"\"\tactivityTypeId\tRésultat 🚀\n", Utf8(Write(ExportFormat.Tsv, fields, names, []).Bytes));
        Assert.Equal("\"Lead ID\" \"Campaign, \"\"main\"\"\" activityTypeId \"Résultat 🚀\"\n", Utf8(Write(ExportFormat.Ssv, fields, names, []).Bytes));
    }

    [Fact]
    public void HeaderNameWithLineBreakRoundTrips()
    {
        var names = new Dictionary<ExportField, string> { [ExportField.LeadId] = "lead\r\nid", [ExportField.MarketoGuid] = "" };
        var row = new ActivityRecord(7, 8, Date, 3, null, null, null, "{}", null);

        var (bytes, _) = Write(ExportFormat.Csv, [ExportField.MarketoGuid, ExportField.LeadId], names, [row]);

        Assert.Equal(",\"lead\r\nid\"\n7,8\n", Utf8(bytes));
        Assert.Equal([["", "lead\r\nid"], ["7", "8"]], Rfc4180.Parse(bytes, (byte)','));
    }

    [Fact]
    public void EmptyExportIsTheHeaderLineOnly()
    {
        var (bytes, summary) = Write(ExportFormat.Csv, ExportFields.Default, null, []);

        Assert.Equal(DefaultHeader, Utf8(bytes));
        Assert.Equal(0, summary.NumberOfRecords);
        Assert.Equal(bytes.Length, summary.FileSize);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.FileChecksum);
    }

    // ---- values -------------------------------------------------------------------------------------------------

    [Fact]
    public void ActivityDateIsUtcToTheSecond()
    {
        var rows = new[]
        {
            new ActivityRecord(1, 1, new DateTimeOffset(2026, 1, 1, 1, 30, 5, TimeSpan.FromHours(2)), 1, null, null, null, "{}", null),
            new ActivityRecord(2, 1, new DateTimeOffset(2025, 12, 31, 23, 30, 5, TimeSpan.FromHours(-5)).AddTicks(9_999_999), 1, null, null, null, "{}", null),
            new ActivityRecord(3, 1, new DateTimeOffset(2025, 12, 31, 23, 59, 59, TimeSpan.Zero), 1, null, null, null, "{}", null),
            new ActivityRecord(4, 1, new DateTimeOffset(2026, 1, 1, 1, 30, 5, TimeSpan.FromHours(2)), 1, null, null, null, "{}", null),
            new ActivityRecord(5, 1, DateTimeOffset.MinValue, 1, null, null, null, "{}", null),
            new ActivityRecord(6, 1, new DateTimeOffset(987, 6, 5, 4, 3, 2, TimeSpan.Zero), 1, null, null, null, "{}", null),
            new ActivityRecord(7, 1, DateTimeOffset.MaxValue, 1, null, null, null, "{}", null),
        };

        var (bytes, _) = Write(ExportFormat.Csv, [ExportField.MarketoGuid, ExportField.ActivityDate], null, rows);

        Assert.Equal(
            "marketoGUID,activityDate\n" +
            "1,2025-12-31T23:30:05Z\n" +
            "2,2026-01-01T04:30:05Z\n" +
            "3,2025-12-31T23:59:59Z\n" +
            "4,2025-12-31T23:30:05Z\n" +
            "5,0001-01-01T00:00:00Z\n" +
            "6,0987-06-05T04:03:02Z\n" +
            "7,9999-12-31T23:59:59Z\n",
            Utf8(bytes));
    }

    [Fact]
    public void IntegersCoverTheirWholeRange()
    {
        var rows = new[]
        {
            new ActivityRecord(long.MaxValue, long.MinValue, Date, int.MinValue, long.MinValue, -1, null, "{}", null),
            new ActivityRecord(0, 9, Date, int.MaxValue, 10, long.MaxValue, null, "{}", null),
        };
        var fields = new[] { ExportField.MarketoGuid, ExportField.LeadId, ExportField.ActivityTypeId, ExportField.CampaignId, ExportField.PrimaryAttributeValueId };

        var (bytes, _) = Write(ExportFormat.Csv, fields, null, rows);

        Assert.Equal(
            "marketoGUID,leadId,activityTypeId,campaignId,primaryAttributeValueId\n" +
            "9223372036854775807,-9223372036854775808,-2147483648,-9223372036854775808,-1\n" +
            "0,9,2147483647,10,9223372036854775807\n",
            Utf8(bytes));
    }

    [Fact]
    public void CustomFieldOrderWithActionResult()
    {
        var fields = new[] { ExportField.ActionResult, ExportField.Attributes, ExportField.LeadId, ExportField.MarketoGuid, ExportField.ActivityDate };
        var rows = new[]
        {
            new ActivityRecord(10, 20, Date, 1, null, null, null, """{"k":1}""", "failed"),
            new ActivityRecord(11, 21, Date, 1, null, null, null, "{}", null),
        };

        var (bytes, _) = Write(ExportFormat.Csv, fields, new Dictionary<ExportField, string> { [ExportField.ActionResult] = "result" }, rows);

        Assert.Equal(
            "result,attributes,leadId,marketoGUID,activityDate\n" +
            "failed,\"{\"\"k\"\":1}\",20,10,2022-02-13T14:06:20Z\n" +
            "null,{},21,11,2022-02-13T14:06:20Z\n",
            Utf8(bytes));
    }

    [Theory]
    [InlineData(ExportFormat.Csv)]
    [InlineData(ExportFormat.Tsv)]
    [InlineData(ExportFormat.Ssv)]
    public void AwkwardTextRoundTripsThroughAnRfc4180Reader(ExportFormat format)
    {
        string[] values =
        [
            "CR\ronly", "LF\nonly", "CRLF\r\nline", "\r\n", "NUL\0byte", "\0", "中文字符 한국어", "emoji 👍🏽 family 👨‍👩‍👧",
            "\"quoted\" start", "end\"", "comma, tab\t space", "", "{\"a\":\"b\"}", "\uFEFFbom-looking",
        ];
        var rows = values.Select((v, i) => new ActivityRecord(i, i, Date, 1, null, null, v, v.Length == 0 ? "{}" : v, v)).ToArray();
        var fields = new[] { ExportField.MarketoGuid, ExportField.PrimaryAttributeValue, ExportField.Attributes, ExportField.ActionResult };
        var delimiter = Delimiter(format);

        var (bytes, summary) = Write(format, fields, null, rows);

        var records = Rfc4180.Parse(bytes, delimiter);
        Assert.Equal(values.Length + 1, records.Count);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal([i.ToString(CultureInfo.InvariantCulture), values[i], values[i].Length == 0 ? "{}" : values[i], values[i]], records[i + 1]);
        }

        Assert.Equal(Reference(format, fields, null, rows, delimiter), bytes);
        Assert.Equal(values.Length, summary.NumberOfRecords);
    }

    [Fact]
    public void NoBomAndLfAfterTheLastLine()
    {
        var (bytes, _) = Write(ExportFormat.Csv, ExportFields.Default, null, [new ActivityRecord(1, 2, Date, 3, null, null, "\uFEFF", "{}", null)]);

        Assert.Equal((byte)'m', bytes[0]);
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.DoesNotContain((byte)'\r', bytes);
    }

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters()
    {
        // The writer takes UTF-8, which cannot carry a lone surrogate: it is replaced where the string becomes UTF-8.
        var (bytes, _) = Write(ExportFormat.Csv, [ExportField.ActionResult], null, [new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", "a\uD800b\uDC00")]);

        Assert.Equal("actionResult\na\uFFFDb\uFFFD\n", Utf8(bytes));
    }

    // ---- size, checksum, buffer ---------------------------------------------------------------------------------

    [Fact]
    public void SummaryMatchesTheBytesProduced()
    {
        var rows = RandomRows(new Random(7), 500);

        var (bytes, summary) = Write(ExportFormat.Csv, AllFields, null, rows);

        Assert.Equal(500, summary.NumberOfRecords);
        Assert.Equal(bytes.Length, summary.FileSize);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.FileChecksum);
        Assert.Matches("^sha256:[0-9a-f]{64}$", summary.FileChecksum);
    }

    [Fact]
    public void ValueLargerThanTheBufferIsWrittenWhole()
    {
        // ~3.3 MB of UTF-8 with quotes, commas, line breaks, CJK and surrogate pairs spread everywhere, so chunk
        // boundaries fall next to quotes and inside would-be surrogate pairs.
        var random = new Random(11);
        var parts = new[] { "\"", ",", "\n", "\r\n", "字", "🚀", "ab", "x", "{\"k\":\"v\"}", "\0" };
        var text = new StringBuilder();
        while (text.Length < 1_500_000)
        {
            text.Append(parts[random.Next(parts.Length)]);
        }

        var big = text.ToString();
        var plain = new string('a', (ExportFileWriter.DefaultBufferSize * 2) + 3);
        var rows = new[]
        {
            new ActivityRecord(1, 2, Date, 3, 4, 5, "before", big, "ok"),
            new ActivityRecord(6, 7, Date, 8, null, null, plain, "{}", big),
        };

        var (bytes, summary) = Write(ExportFormat.Csv, AllFields, null, rows);

        Assert.True(bytes.Length > 2 * ExportFileWriter.DefaultBufferSize);
        Assert.Equal(Reference(ExportFormat.Csv, AllFields, null, rows, (byte)','), bytes);
        var records = Rfc4180.Parse(bytes, (byte)',');
        Assert.Equal(big, records[1][7]);
        Assert.Equal(plain, records[2][6]);
        Assert.Equal(big, records[2][8]);
        Assert.Equal(bytes.Length, summary.FileSize);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.FileChecksum);
    }

    [Theory]
    [InlineData(ExportFormat.Csv, 64)]
    [InlineData(ExportFormat.Tsv, 65)]
    [InlineData(ExportFormat.Ssv, 97)]
    [InlineData(ExportFormat.Csv, 200)]
    [InlineData(ExportFormat.Ssv, 1021)]
    public void TinyBuffersProduceTheSameBytesAsAReferenceWriter(ExportFormat format, int bufferSize)
    {
        var random = new Random(bufferSize);
        var rows = RandomRows(random, 400);
        var fields = AllFields.OrderBy(_ => random.Next()).ToArray();
        var names = new Dictionary<ExportField, string> { [fields[0]] = "renamed \"first\", long enough to exceed a tiny buffer on its own" };
        var delimiter = Delimiter(format);
        using var output = new MemoryStream();

        ExportFileSummary summary;
        using (var writer = new ActivityFile(output, format, fields, names, (byte)' ', bufferSize))
        {
            writer.WriteHeader();
            foreach (var row in rows)
            {
                writer.WriteRecord(row);
            }

            summary = writer.Complete();
        }

        var bytes = output.ToArray();
        Assert.Equal(Reference(format, fields, names, rows, delimiter), bytes);
        Assert.Equal(bytes.Length, summary.FileSize);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.FileChecksum);
    }

    [Theory]
    [InlineData(ExportFormat.Csv, 64)]
    [InlineData(ExportFormat.Ssv, 97)]
    [InlineData(ExportFormat.Tsv, ExportFileWriter.DefaultBufferSize)]
    public void WriteBehindProducesTheSameBytesAndSummary(ExportFormat format, int bufferSize)
    {
        var random = new Random(bufferSize + 7);
        var rows = RandomRows(random, 3000);
        var fields = AllFields.OrderBy(_ => random.Next()).ToArray();

        (byte[] Bytes, ExportFileSummary Summary) Write(bool behind)
        {
            using var output = new MemoryStream();
            using var writer = new ActivityFile(output, format, fields, null, (byte)' ', bufferSize, behind);
            writer.WriteHeader();
            foreach (var row in rows)
            {
                writer.WriteRecord(row);
            }

            writer.Flush(); // a flush in the middle drains the queue too
            writer.WriteRecord(rows[0]);
            var summary = writer.Complete();
            return (output.ToArray(), summary);
        }

        var direct = Write(behind: false);
        var behind = Write(behind: true);
        Assert.Equal(direct.Bytes, behind.Bytes);
        Assert.Equal(direct.Summary, behind.Summary);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(behind.Bytes)), behind.Summary.FileChecksum);
    }

    [Fact]
    public void WriteBehindSurfacesTheOutputsErrorAndAnAbandonedWriterStops()
    {
        using var output = new FailingStream(failAfterBytes: 10_000);
        var writer = new ActivityFile(output, ExportFormat.Csv, ExportFields.Default, null, (byte)' ', 1024, writeBehind: true);
        writer.WriteHeader();
        var row = new ActivityRecord(1, 2, Date, 3, 4, 5, "value", "{\"k\":\"" + new string('v', 500) + "\"}", null);
        var error = Assert.Throws<IOException>(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                writer.WriteRecord(row);
            }

            writer.Complete();
        });
        Assert.Equal("disk full", error.Message);
        writer.Dispose(); // returns promptly: nothing is left to write
        Assert.InRange(output.Written, 0, 10_000);
    }

    [Fact]
    public void WritesReachTheStreamInBufferSizedPiecesWhileRowsAreWritten()
    {
        using var output = new RecordingStream();
        using var writer = new ActivityFile(output, ExportFormat.Csv, ExportFields.Default, null);
        writer.WriteHeader();
        var row = new ActivityRecord(1, 2, Date, 3, 4, 5, "value", "{\"k\":\"" + new string('v', 1000) + "\"}", null);
        for (var i = 0; i < 3000; i++)
        {
            writer.WriteRecord(row);
        }

        Assert.True(output.Length > 0, "bytes beyond one buffer went out before Complete");
        Assert.All(output.WriteSizes, size => Assert.InRange(size, 1, ExportFileWriter.DefaultBufferSize));

        var summary = writer.Complete();
        Assert.Equal(output.Length, summary.FileSize);
        Assert.Equal(3000, summary.NumberOfRecords);
    }

    [Fact]
    public void FlushWritesTheBufferedBytes()
    {
        using var output = new MemoryStream();
        using var writer = new ActivityFile(output, ExportFormat.Csv, [ExportField.LeadId], null);
        writer.WriteHeader();
        Assert.Equal(0, output.Length);

        writer.Flush();
        Assert.Equal("leadId\n", Utf8(output.ToArray()));

        writer.WriteRecord(new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", null));
        var summary = writer.Complete();
        Assert.Equal("leadId\n2\n", Utf8(output.ToArray()));
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(output.ToArray())), summary.FileChecksum);
    }

    // ---- usage rules --------------------------------------------------------------------------------------------

    [Fact]
    public void CompleteIsIdempotentAndEndsWriting()
    {
        using var output = new MemoryStream();
        using var writer = new ActivityFile(output, ExportFormat.Csv, ExportFields.Default, null);
        writer.WriteHeader();
        var first = writer.Complete();

        Assert.Same(first, writer.Complete());
        Assert.Throws<InvalidOperationException>(() => writer.WriteRecord(new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", null)));
        Assert.Throws<InvalidOperationException>(writer.Flush);
    }

    [Fact]
    public void HeaderComesFirstAndOnlyOnce()
    {
        using var output = new MemoryStream();
        using var writer = new ActivityFile(output, ExportFormat.Csv, ExportFields.Default, null);
        var row = new ActivityRecord(1, 2, Date, 3, null, null, null, "{}", null);

        Assert.Throws<InvalidOperationException>(() => writer.WriteRecord(row));
        Assert.Throws<InvalidOperationException>(() => writer.Complete());
        writer.WriteHeader();
        Assert.Throws<InvalidOperationException>(writer.WriteHeader);
    }

    [Fact]
    public void DisposeLeavesTheOutputOpenAndFurtherUseThrows()
    {
        using var output = new MemoryStream();
        var writer = new ActivityFile(output, ExportFormat.Csv, ExportFields.Default, null);
        writer.WriteHeader();
        writer.Dispose();
        writer.Dispose();

        Assert.True(output.CanWrite);
        Assert.Throws<ObjectDisposedException>(() => writer.Complete());
    }

    [Fact]
    public void RejectsBadConfigurations()
    {
        using var output = new MemoryStream();
        Assert.Throws<ArgumentException>(() => new ActivityFile(output, ExportFormat.Csv, [], null));
        Assert.Throws<ArgumentException>(() => new ActivityFile(output, ExportFormat.Csv, [ExportField.LeadId, ExportField.LeadId], null));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivityFile(output, ExportFormat.Csv, [(ExportField)99], null));
        Assert.Throws<ArgumentException>(() => new ActivityFile(output, ExportFormat.Csv, [ExportField.LeadId],
            new Dictionary<ExportField, string> { [ExportField.ActionResult] = "x" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActivityFile(output, (ExportFormat)9, [ExportField.LeadId], null));
        foreach (var bad in new byte[] { (byte)'"', (byte)'\r', (byte)'\n', 0xC3 })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new ActivityFile(output, ExportFormat.Ssv, [ExportField.LeadId], null, bad));
        }

        using var readOnly = new MemoryStream([], writable: false);
        Assert.Throws<ArgumentException>(() => new ActivityFile(readOnly, ExportFormat.Csv, [ExportField.LeadId], null));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static (byte[] Bytes, ExportFileSummary Summary) Write(
        ExportFormat format,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? names,
        IEnumerable<ActivityRecord> rows,
        byte ssvDelimiter = (byte)' ')
    {
        using var output = new MemoryStream();
        using var writer = new ActivityFile(output, format, fields, names, ssvDelimiter);
        writer.WriteHeader();
        foreach (var row in rows)
        {
            writer.WriteRecord(row);
        }

        var summary = writer.Complete();
        var bytes = output.ToArray();
        Assert.Equal(bytes.Length, summary.FileSize);
        return (bytes, summary);
    }

    private static string Utf8(byte[] bytes) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);

    private static byte Delimiter(ExportFormat format) => format switch
    {
        ExportFormat.Csv => (byte)',',
        ExportFormat.Tsv => (byte)'\t',
        _ => (byte)' ',
    };

    /// <summary>What the writer must produce byte for byte (<see cref="ExportBytesOracle"/>).</summary>
    private static byte[] Reference(
        ExportFormat format,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? names,
        IEnumerable<ActivityRecord> rows,
        byte delimiterByte)
    {
        _ = format;
        return ExportBytesOracle.File(delimiterByte, fields, names, rows);
    }

    private static ActivityRecord[] RandomRows(Random random, int count)
    {
        string[] pieces = ["a", "bc", " ", ",", "\t", ";", "\"", "\r", "\n", "\r\n", "\0", "é", "字", "🚀", "\uD800", "null", "{\"k\":", "}"];
        string? Text(bool nullable)
        {
            if (nullable && random.Next(5) == 0)
            {
                return null;
            }

            var length = random.Next(4) == 0 ? random.Next(0, 3) : random.Next(0, 120);
            var text = new StringBuilder();
            for (var i = 0; i < length; i++)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
            }

            return text.ToString();
        }

        var start = new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero);
        return Enumerable.Range(0, count).Select(i => new ActivityRecord(
            random.NextInt64(long.MinValue, long.MaxValue),
            random.NextInt64(0, 3_000_000),
            start.AddSeconds(random.Next(0, 31 * 86_400)).ToOffset(TimeSpan.FromMinutes(random.Next(-720, 841))),
            random.Next(1, 60),
            random.Next(3) == 0 ? null : random.NextInt64(1, 100_000),
            random.Next(3) == 0 ? null : random.NextInt64(-5, 100_000),
            Text(nullable: true),
            Text(nullable: false)!,
            Text(nullable: true))).ToArray();
    }

    /// <summary>A strict RFC 4180 reader: LF line ends, every line LF-terminated, quotes only around whole fields.</summary>
    private static class Rfc4180
    {
        public static List<string[]> Parse(byte[] bytes, byte delimiterByte)
        {
            var text = Utf8(bytes);
            var delimiter = (char)delimiterByte;
            var records = new List<string[]>();
            var record = new List<string>();
            var field = new StringBuilder();
            var i = 0;
            while (i < text.Length)
            {
                if (text[i] == '"')
                {
                    i++;
                    while (true)
                    {
                        Assert.True(i < text.Length, "unterminated quoted field");
                        if (text[i] != '"')
                        {
                            field.Append(text[i++]);
                        }
                        else if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                        }
                        else
                        {
                            i++;
                            break;
                        }
                    }

                    Assert.True(field.ToString().IndexOfAny([delimiter, '"', '\r', '\n']) >= 0, $"needless quotes around '{field}'");
                }
                else
                {
                    while (i < text.Length && text[i] != delimiter && text[i] != '\n')
                    {
                        Assert.True(text[i] is not '"' and not '\r', $"unquoted '\"' or CR at {i}");
                        field.Append(text[i++]);
                    }
                }

                Assert.True(i < text.Length, "the last line has no LF");
                Assert.True(text[i] == delimiter || text[i] == '\n', $"garbage after a quoted field at {i}");
                record.Add(field.ToString());
                field.Clear();
                if (text[i++] == '\n')
                {
                    records.Add([.. record]);
                    record.Clear();
                }
            }

            Assert.Empty(record);
            return records;
        }
    }

    private sealed class FailingStream(long failAfterBytes) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Written + buffer.Length > failAfterBytes)
            {
                throw new IOException("disk full");
            }

            Written += buffer.Length;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class RecordingStream : Stream
    {
        public List<int> WriteSizes { get; } = [];

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => WriteSizes.Sum(s => (long)s);
        public override long Position { get => Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteSizes.Add(count);
        public override void Write(ReadOnlySpan<byte> buffer) => WriteSizes.Add(buffer.Length);
    }
}

/// <summary>The file writer's cells, as any extract kind (not only activities) writes its rows with them.</summary>
public class ExportFileWriterCellTests
{
    private static readonly string[] Columns = ["id", "email", "createdAt", "score", "note, extra"];

    [Theory]
    [InlineData(ExportFormat.Csv, "id,email,createdAt,score,\"note, extra\"\n7,a@b.com,2024-01-02T03:04:05Z,null,\"say \"\"hi\"\"\n\"\n-1,null,1970-01-01T00:00:00Z,42,\n")]
    [InlineData(ExportFormat.Tsv, "id\temail\tcreatedAt\tscore\tnote, extra\n7\ta@b.com\t2024-01-02T03:04:05Z\tnull\t\"say \"\"hi\"\"\n\"\n-1\tnull\t1970-01-01T00:00:00Z\t42\t\n")]
    [InlineData(ExportFormat.Ssv, "id email createdAt score \"note, extra\"\n7 a@b.com 2024-01-02T03:04:05Z null \"say \"\"hi\"\"\n\"\n-1 null 1970-01-01T00:00:00Z 42 \n")]
    public void CellsFollowTheSameRulesForAnyColumns(ExportFormat format, string expected)
    {
        using var output = new MemoryStream();
        using var writer = new ExportFileWriter(output, format, Columns);
        writer.WriteHeader();
        writer.WriteInteger(7);
        writer.WriteText("a@b.com"u8);
        writer.WriteDateTime(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds());
        writer.WriteInteger((long?)null);
        writer.WriteText("say \"hi\"\n"u8);
        writer.EndRow();
        writer.WriteInteger(-1);
        writer.WriteMissing();
        writer.WriteDateTime(0);
        writer.WriteInteger((long?)42);
        writer.WriteText([]);
        writer.EndRow();
        var summary = writer.Complete();

        var bytes = output.ToArray();
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
        Assert.Equal(2, summary.NumberOfRecords);
        Assert.Equal(bytes.Length, summary.FileSize);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), summary.FileChecksum);
    }

    [Fact]
    public void EveryRowHasExactlyOneCellPerColumn()
    {
        using var output = new MemoryStream();
        using var writer = new ExportFileWriter(output, ExportFormat.Csv, ["a", "b"]);
        writer.WriteHeader();
        writer.WriteInteger(1);
        Assert.Throws<InvalidOperationException>(writer.EndRow);
        Assert.Throws<InvalidOperationException>(() => writer.Complete()); // the row was not ended

        using var otherOutput = new MemoryStream();
        using var other = new ExportFileWriter(otherOutput, ExportFormat.Csv, ["a", "b"]);
        other.WriteHeader();
        other.WriteInteger(1);
        other.WriteInteger(2);
        other.WriteInteger(3);
        Assert.Throws<InvalidOperationException>(other.EndRow);
    }

    [Fact]
    public void CellsNeedTheHeaderFirstAndAnOpenFile()
    {
        using var output = new MemoryStream();
        var writer = new ExportFileWriter(output, ExportFormat.Csv, ["a"]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteText("x"u8));
        writer.WriteHeader();
        writer.WriteText("x"u8);
        writer.EndRow();
        writer.Complete();
        Assert.Throws<InvalidOperationException>(writer.WriteMissing);
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.WriteInteger(1));
        Assert.Equal("a\nx\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void RejectsColumnListsThatCannotMakeAFile()
    {
        using var output = new MemoryStream();
        Assert.Throws<ArgumentException>(() => new ExportFileWriter(output, ExportFormat.Csv, []));
        Assert.Throws<ArgumentException>(() => new ExportFileWriter(output, ExportFormat.Csv, ["a", null!]));

        using var file = new ExportFileWriter(output, ExportFormat.Csv, ["leadId", "marketoGUID"]);
        Assert.Throws<ArgumentException>(() => new ActivityRowWriter(file, [ExportField.LeadId]));
        Assert.Throws<ArgumentException>(() => new ActivityRowWriter(file, [ExportField.LeadId, ExportField.LeadId]));
    }
}
