using System.Text;
using Spillway.Server.Activities.Import;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Activities;

public class ActivityFileReaderTests
{
    private const string Header = "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes,actionResult\n";

    private static List<(ActivityRecord? Activity, ImportIssue? Issue)> Read(string text, ActivityFileFormat format = ActivityFileFormat.Csv) =>
        [.. ActivityFileReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), format)];

    [Fact]
    public void Reads_the_export_format_back_exactly_including_hard_text()
    {
        var rows = Read(Header +
            "100,8,2026-03-01T01:00:00Z,6,3,4,\"Mail, \"\"Q\"\"\",\"{\"\"Step ID\"\":1}\",succeeded\n" +
            "101,7,2026-03-01T02:00:00Z,12,null,null,null,{},null\n" +
            "102,7,2026-03-01T02:00:00Z,1,55,9,\"multi\nline\r\nCR\rend\",\"{\"\"x\"\":\"\"東京 🎉\\u0000\"\"}\",\n" +
            "103,7,2026-03-01T02:00:00Z,1,55,9,,{},\"null\"\n" +
            "104,7,2026-03-01T02:00:00Z,1,55,9,a\0b,{},x\n");
        Assert.All(rows, r => Assert.Null(r.Issue));
        var a = rows.Select(r => r.Activity!).ToList();
        Assert.Equal(new ActivityRecord(100, 8, new DateTimeOffset(2026, 3, 1, 1, 0, 0, TimeSpan.Zero), 6, 3, 4, "Mail, \"Q\"", "{\"Step ID\":1}", "succeeded"), a[0]);
        Assert.Equal(new ActivityRecord(101, 7, new DateTimeOffset(2026, 3, 1, 2, 0, 0, TimeSpan.Zero), 12, null, null, null, "{}", null), a[1]);
        Assert.Equal("multi\nline\r\nCR\rend", a[2].PrimaryAttributeValue);
        Assert.Equal("{\"x\":\"東京 🎉\\u0000\"}", a[2].Attributes);
        Assert.Equal("", a[2].ActionResult);
        Assert.Equal("", a[3].PrimaryAttributeValue);
        Assert.Equal("null", a[3].ActionResult); // quoted: the text, not a missing value
        Assert.Equal("a\0b", a[4].PrimaryAttributeValue);
    }

    [Fact]
    public void Bad_lines_are_reported_with_the_line_they_start_on_and_the_rest_loads()
    {
        var rows = Read(Header +
            "1,8,2026-03-01T01:00:00Z,6,null,null,\"two\nlines\",{},null\n" + // lines 2-3
            "x,8,2026-03-01T01:00:00Z,6,null,null,null,{},null\n" +           // 4
            "3,8,yesterday,6,null,null,null,{},null\n" +                       // 5
            "4,8,2026-03-01T01:00:00Z,6,null,null,null,[1],null\n" +           // 6
            "5,8,2026-03-01T01:00:00Z,6,null\n" +                              // 7
            "\n" +                                                             // 8: blank
            "6,8,2026-03-01T01:00:00+02:00,0,null,null,null,{},null\n" +       // 9
            "7,8,2026-03-01,6,null,null,null,{\"a\":1},null\r\n");              // 10, CRLF
        Assert.Equal([1L, 7], rows.Where(r => r.Activity is not null).Select(r => r.Activity!.MarketoGuid));
        Assert.Equal([4L, 5, 6, 7, 9], rows.Where(r => r.Issue is not null).Select(r => r.Issue!.Line));
        Assert.Contains("marketoGUID", rows.First(r => r.Issue is not null).Issue!.Message, StringComparison.Ordinal);
        Assert.Equal("{\"a\":1}", rows[^1].Activity!.Attributes);
    }

    [Theory]
    [InlineData("6,8,2026-03-01T01:00:00Z,6,null,null,null,{},Succ")]             // cut inside the last field: would load "Succ"
    [InlineData("6,8,2026-03-01T01:00:00Z,6,null,null,\"half a quoted\nvalue")] // cut inside quotes
    [InlineData("6,8,2026-03-01T01:0")]                                              // cut early
    public void A_last_record_without_its_line_break_is_reported_as_possibly_cut_short_and_not_loaded(string cut)
    {
        var rows = Read(Header + "5,8,2026-03-01T01:00:00Z,6,null,null,null,{},Succeeded\n" + cut);
        Assert.Equal(5L, rows[0].Activity!.MarketoGuid);
        Assert.Equal(2, rows.Count);
        Assert.Null(rows[1].Activity);
        Assert.Equal(3L, rows[1].Issue!.Line);
        Assert.Contains("cut short", rows[1].Issue!.Message, StringComparison.Ordinal);

        var whole = Read(Header + "5,8,2026-03-01T01:00:00Z,6,null,null,null,{},Succeeded\n6,8,2026-03-01T01:00:00Z,6,null,null,null,{},Succeeded\r\n");
        Assert.All(whole, r => Assert.Null(r.Issue));
        Assert.Equal(2, whole.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("marketoGUID,leadId,activityDate\n")]
    [InlineData("marketoGUID,leadId,activityDate,activityTypeId,shoeSize\n")]
    [InlineData("marketoGUID,leadId,activityDate,activityTypeId,leadId\n")]
    public void A_file_without_a_usable_header_is_refused_whole(string text) =>
        Assert.Throws<ImportFormatException>(() => Read(text));

    [Fact]
    public void Tsv_ssv_and_a_subset_of_columns()
    {
        var tsv = Read("activityDate\tmarketoGUID\tleadId\tactivityTypeId\tprimaryAttributeValue\n2026-03-01T01:00:00Z\t9\t1\t2\ta,b c\n", ActivityFileFormat.Tsv);
        Assert.Equal(new ActivityRecord(9, 1, new DateTimeOffset(2026, 3, 1, 1, 0, 0, TimeSpan.Zero), 2, null, null, "a,b c", "{}", null), tsv[0].Activity);
        var ssv = Read("marketoGUID leadId activityDate activityTypeId primaryAttributeValue\n9 1 2026-03-01T01:00:00Z 2 \"a b\"\n", ActivityFileFormat.Ssv);
        Assert.Equal("a b", ssv[0].Activity!.PrimaryAttributeValue);
    }

    [Fact]
    public void Ndjson_takes_attributes_as_an_object_or_as_text_and_reports_bad_lines()
    {
        var rows = Read(
            """{"marketoGUID":"5","leadId":1,"activityDate":"2026-03-01T01:00:00Z","activityTypeId":1,"attributes":{"A":"\u00e9 東京","B": [1, 2]}}""" + "\n" +
            """{"marketoGUID":6,"leadId":"1","activityDate":"2026-03-01T01:00:00+0100","activityTypeId":1,"campaignId":null,"attributes":"{\"A\":1}","actionResult":"ok"}""" + "\n" +
            "\n" +
            """{"marketoGUID":7,"leadId":1,"activityDate":"2026-03-01T01:00:00Z"}""" + "\n" +
            """{"marketoGUID":8,"leadId":1,"activityDate":"2026-03-01T01:00:00Z","activityTypeId":1,"color":"red"}""" + "\n" +
            "not json\n", ActivityFileFormat.Ndjson);
        Assert.Equal("{\"A\":\"é 東京\",\"B\":[1,2]}", rows[0].Activity!.Attributes);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), rows[1].Activity!.ActivityDate);
        Assert.Equal("{\"A\":1}", rows[1].Activity!.Attributes);
        Assert.Equal("ok", rows[1].Activity!.ActionResult);
        Assert.Equal([4L, 5, 6], rows.Where(r => r.Issue is not null).Select(r => r.Issue!.Line));
    }

    [Fact]
    public void Formats_come_from_the_extension()
    {
        Assert.Equal(ActivityFileFormat.Tsv, ActivityFileReader.FormatOf("a/b.TSV"));
        Assert.Equal(ActivityFileFormat.Ndjson, ActivityFileReader.FormatOf("x.jsonl"));
        Assert.Null(ActivityFileReader.FormatOf("x.txt"));
        Assert.True(ActivityFileReader.TryParseFormat("SSV", out var f));
        Assert.Equal(ActivityFileFormat.Ssv, f);
        Assert.False(ActivityFileReader.TryParseFormat("xml", out _));
    }
}
