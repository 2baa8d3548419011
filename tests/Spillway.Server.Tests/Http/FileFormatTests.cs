using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The bytes of the export file.</summary>
public abstract partial class FileFormatTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")]
    private static partial Regex ActivityDate();

    private static void AssertSizeAndChecksum(byte[] file, JsonElement job)
    {
        Assert.Equal(file.Length, job.GetProperty("fileSize").GetInt64());
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(file)), job.GetProperty("fileChecksum").GetString());
    }

    private static async Task AppendTrickyAsync(SpillwayTestServer server)
    {
        var t = Day.AddHours(1);
        await server.AppendAsync(
            Marketo.Activity(1, t, primaryId: 3, primaryValue: "a,b", attributes: """{"Webpage URL":"x y"}""", leadId: 2),
            Marketo.Activity(2, t, primaryId: 3, primaryValue: "say \"hi\"", leadId: 2),
            Marketo.Activity(3, t, primaryId: 3, primaryValue: "line1\nline2", leadId: 2),
            Marketo.Activity(4, t, primaryId: 3, primaryValue: "cr\rhere", leadId: 2),
            Marketo.Activity(5, t, primaryId: 3, primaryValue: "tab\there", leadId: 2),
            Marketo.Activity(6, t, primaryId: 3, primaryValue: "sp ace", leadId: 2),
            Marketo.Activity(7, t, primaryId: null, primaryValue: null, leadId: 2, campaignId: 44),
            Marketo.Activity(8, t, primaryId: 3, primaryValue: "", leadId: 2));
    }

    private static string Window(string format) =>
        Marketo.Window(Day, Day.AddDays(1), extraBody: $",\"format\":\"{format}\",\"fields\":[\"marketoGUID\",\"campaignId\",\"primaryAttributeValue\",\"attributes\"]");

    [Fact]
    public async Task Csv_quotes_comma_quote_CR_and_LF_only()
    {
        await using var server = await StartWithRoomAsync();
        await AppendTrickyAsync(server);
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Window("CSV"));

        const string expected =
            "marketoGUID,campaignId,primaryAttributeValue,attributes\n" +
            "1,null,\"a,b\",\"{\"\"Webpage URL\"\":\"\"x y\"\"}\"\n" +
            "2,null,\"say \"\"hi\"\"\",{}\n" +
            "3,null,\"line1\nline2\",{}\n" +
            "4,null,\"cr\rhere\",{}\n" +
            "5,null,tab\there,{}\n" +
            "6,null,sp ace,{}\n" +
            "7,44,null,{}\n" +
            "8,null,,{}\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(file));
        Assert.Equal(8, job.GetProperty("numberOfRecords").GetInt64());
        AssertSizeAndChecksum(file, job);
    }

    [Fact]
    public async Task Tsv_quotes_tab_quote_CR_and_LF_but_not_comma_or_space()
    {
        await using var server = await StartWithRoomAsync();
        await AppendTrickyAsync(server);
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Window("TSV"));

        const string expected =
            "marketoGUID\tcampaignId\tprimaryAttributeValue\tattributes\n" +
            "1\tnull\ta,b\t\"{\"\"Webpage URL\"\":\"\"x y\"\"}\"\n" +
            "2\tnull\t\"say \"\"hi\"\"\"\t{}\n" +
            "3\tnull\t\"line1\nline2\"\t{}\n" +
            "4\tnull\t\"cr\rhere\"\t{}\n" +
            "5\tnull\t\"tab\there\"\t{}\n" +
            "6\tnull\tsp ace\t{}\n" +
            "7\t44\tnull\t{}\n" +
            "8\tnull\t\t{}\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(file));
        AssertSizeAndChecksum(file, job);
    }

    [Fact]
    public async Task Ssv_is_space_separated_and_quotes_space_quote_CR_and_LF_but_not_comma_or_tab()
    {
        await using var server = await StartWithRoomAsync();
        await AppendTrickyAsync(server);
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Window("SSV"));

        const string expected =
            "marketoGUID campaignId primaryAttributeValue attributes\n" +
            "1 null a,b \"{\"\"Webpage URL\"\":\"\"x y\"\"}\"\n" +
            "2 null \"say \"\"hi\"\"\" {}\n" +
            "3 null \"line1\nline2\" {}\n" +
            "4 null \"cr\rhere\" {}\n" +
            "5 null tab\there {}\n" +
            "6 null \"sp ace\" {}\n" +
            "7 44 null {}\n" +
            "8 null  {}\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(file));
        AssertSizeAndChecksum(file, job);
    }

    [Theory]
    [InlineData("CSV", "\"Attribute, Value\"", "Secondary Attributes")]
    [InlineData("TSV", "Attribute, Value", "Secondary Attributes")]
    [InlineData("SSV", "\"Attribute, Value\"", "\"Secondary Attributes\"")]
    public async Task Renamed_headers_are_quoted_like_values(string format, string valueHeader, string attributesHeader)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1), primaryValue: "v"));
        using var client = await server.AuthorizedClientAsync();
        var d = format switch { "TSV" => "\t", "SSV" => " ", _ => "," };

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1), extraBody:
            $$""","format":"{{format}}","fields":["marketoGUID","primaryAttributeValue","attributes"],"columnHeaderNames":{"primaryAttributeValue":"Attribute, Value","attributes":"Secondary Attributes"}"""));

        Assert.Equal([$"marketoGUID{d}{valueHeader}{d}{attributesHeader}", $"1{d}v{d}{{}}"],
            Marketo.Lines(file));
    }

    [Fact]
    public async Task Header_first_LF_line_ends_including_the_last_no_BOM_and_activityDate_in_Z_form()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(1, new DateTimeOffset(2026, 3, 1, 1, 2, 3, TimeSpan.Zero)),
            Marketo.Activity(2, new DateTimeOffset(2026, 3, 1, 23, 59, 59, TimeSpan.Zero)));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        Assert.Equal((byte)'m', file[0]);
        Assert.DoesNotContain((byte)'\r', file);
        Assert.Equal((byte)'\n', file[^1]);
        var lines = Marketo.Lines(file);
        Assert.Equal(3, lines.Length);
        Assert.Equal("marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes", lines[0]);
        Assert.Equal("2026-03-01T01:02:03Z", lines[1].Split(',')[2]);
        Assert.Equal("2026-03-01T23:59:59Z", lines[2].Split(',')[2]);
    }

    [Fact]
    public async Task Rows_are_ordered_by_activityDate_then_numeric_marketoGUID()
    {
        await using var server = await StartWithRoomAsync();
        var t = Day.AddHours(6);
        await server.AppendAsync(
            Marketo.Activity(50, t.AddSeconds(1)),
            Marketo.Activity(300, t),
            Marketo.Activity(10, t),
            Marketo.Activity(100, t),
            Marketo.Activity(9, t),
            Marketo.Activity(400, t.AddSeconds(-1)),
            Marketo.Activity(1, t.AddHours(2)));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        Assert.Equal([400L, 9L, 10L, 100L, 300L, 50L, 1L], Marketo.Guids(file));
    }

    [Theory]
    [InlineData("CSV", ",")]
    [InlineData("TSV", "\t")]
    [InlineData("SSV", " ")]
    public async Task An_empty_result_is_the_header_line_only_with_zero_records(string format, string delimiter)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddDays(-1)), Marketo.Activity(2, Day.AddDays(2)));
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1), extraBody: $",\"format\":\"{format}\""));

        var header = string.Join(delimiter,
            "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId", "primaryAttributeValue", "attributes");
        Assert.Equal(header + "\n", Encoding.UTF8.GetString(file));
        Assert.Equal(0, job.GetProperty("numberOfRecords").GetInt64());
        AssertSizeAndChecksum(file, job);
    }

    [Fact]
    public async Task Attributes_are_written_as_stored_compact_json_and_empty_ones_as_braces()
    {
        await using var server = await StartWithRoomAsync();
        const string sendEmail = """{"Campaign Run ID":12,"Has Predictive":false,"Step ID":3}""";
        const string progression = """{"Reason":"Changed, \"really\"","Program Member ID":3240303,"Acquired By":true,"Urgency":1.5}""";
        await server.AppendAsync(
            Marketo.Activity(1, Day.AddHours(1), type: 6, attributes: sendEmail),
            Marketo.Activity(2, Day.AddHours(2), type: 12, attributes: "{}"),
            Marketo.Activity(3, Day.AddHours(3), type: 104, attributes: progression));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1), extraBody: ""","fields":["attributes"]"""));

        static string Quoted(string json) => "\"" + json.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        Assert.Equal(["attributes", Quoted(sendEmail), "{}", Quoted(progression)], Marketo.Lines(file));
        Assert.Equal("\"{\"\"Campaign Run ID\"\":12,\"\"Has Predictive\"\":false,\"\"Step ID\"\":3}\"", Quoted(sendEmail));
    }

    [Fact]
    public async Task NUL_CR_and_non_ASCII_text_are_kept_as_stored()
    {
        await using var server = await StartWithRoomAsync();
        var t = Day.AddHours(1);
        await server.AppendAsync(
            Marketo.Activity(1, t, primaryValue: "nul\0byte"),
            Marketo.Activity(2, t, primaryValue: "東京セミナー 2025 😀"),
            Marketo.Activity(3, t, primaryValue: "crlf\r\nend"),
            Marketo.Activity(4, t, primaryValue: "Ünïcödé", attributes: """{"Form Fields":"名前=太郎\u0000"}"""));
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1), extraBody: ""","fields":["marketoGUID","primaryAttributeValue"]"""));

        var expected = "marketoGUID,primaryAttributeValue\n1,nul\0byte\n2,東京セミナー 2025 😀\n3,\"crlf\r\nend\"\n4,Ünïcödé\n";
        Assert.Equal(Encoding.UTF8.GetBytes(expected), file);
        AssertSizeAndChecksum(file, job);
    }

    [Theory]
    [InlineData("CSV", ',')]
    [InlineData("TSV", '\t')]
    [InlineData("SSV", ' ')]
    public async Task A_realistic_file_parses_back_row_for_row(string format, char delimiter)
    {
        await using var server = await StartWithRoomAsync();
        await server.SeedAsync(20_000, 3, seed: 7);
        var now = server.Clock.GetUtcNow();
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-4), now.AddDays(1), extraBody: $",\"format\":\"{format}\""));

        AssertSizeAndChecksum(file, job);
        Assert.False(file.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]));
        var rows = ParseDelimited(Encoding.UTF8.GetString(file), delimiter);
        Assert.Equal(["marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId", "primaryAttributeValue", "attributes"],
            rows[0]);
        Assert.Equal(job.GetProperty("numberOfRecords").GetInt64(), rows.Count - 1);
        Assert.True(rows.Count > 19_000);
        (string Date, long Guid)? previous = null;
        foreach (var row in rows.Skip(1))
        {
            Assert.Equal(8, row.Count);
            Assert.Matches(ActivityDate(), row[2]);
            using (var attributes = JsonDocument.Parse(row[7]))
            {
                Assert.Equal(JsonValueKind.Object, attributes.RootElement.ValueKind);
            }

            var key = (row[2], long.Parse(row[0], CultureInfo.InvariantCulture));
            if (previous is { } p)
            {
                var order = string.CompareOrdinal(p.Date, key.Item1);
                Assert.True(order < 0 || (order == 0 && p.Guid < key.Item2), $"{p} before {key}");
            }

            previous = key;
        }
    }

    /// <summary>A strict RFC 4180 reader over one delimiter: LF ends a record, quoted fields may hold anything.</summary>
    private static List<List<string>> ParseDelimited(string text, char delimiter)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"' && field.Length == 0)
            {
                i++;
                while (true)
                {
                    Assert.True(i < text.Length, "unterminated quoted field");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    field.Append(text[i++]);
                }

                Assert.True(i == text.Length || text[i] == delimiter || text[i] == '\n', $"text after a closing quote at {i}");
                continue;
            }

            var c = text[i++];
            if (c == delimiter)
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
            }
            else
            {
                Assert.True(c != '"' && c != '\r', $"unquoted {(int)c} at {i - 1}");
                field.Append(c);
            }
        }

        Assert.True(row.Count == 0 && field.Length == 0, "the last line has no LF");
        return rows;
    }
}

public sealed class FileFormatTests_Embedded : FileFormatTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class FileFormatTests_Postgres : FileFormatTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
