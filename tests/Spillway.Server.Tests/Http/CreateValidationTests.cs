using System.Net.Http.Headers;
using System.Text;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Create validation and options, including the bodies real clients send.</summary>
public abstract class CreateValidationTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Body(string startAt, string endAt, string extraFilter = "", string extraBody = "") =>
        $$"""{"filter":{"createdAt":{"startAt":"{{startAt}}","endAt":"{{endAt}}"}{{extraFilter}}}{{extraBody}}}""";

    private static string DayWindow(string extraFilter = "", string extraBody = "") => Marketo.Window(Day, Day.AddDays(1), extraFilter, extraBody);

    // ---- 12: createdAt ----

    [Theory]
    [InlineData("""{}""", "filter")]
    [InlineData("""{"filter":null}""", "filter")]
    [InlineData("""{"filter":{}}""", "createdAt")]
    [InlineData("""{"filter":{"activityTypeIds":[1]}}""", "createdAt")]
    [InlineData("""{"filter":{"createdAt":"2026-03-01"}}""", "createdAt")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z"}}}""", "endAt")]
    [InlineData("""{"filter":{"createdAt":{"endAt":"2026-03-01T00:00:00Z"}}}""", "startAt")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"yesterday","endAt":"2026-03-01T00:00:00Z"}}}""", "startAt")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":20260302}}}""", "endAt")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-02-30T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}}}""", "startAt")]
    public async Task CreatedAt_is_required_with_valid_startAt_and_endAt(string body, string named)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, body);

        Assert.Contains("'filter'", message, StringComparison.Ordinal);
        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAt_after_endAt_is_rejected_and_equal_bounds_select_that_second()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(1, Day.AddHours(5).AddSeconds(-1)),
            Marketo.Activity(2, Day.AddHours(5)),
            Marketo.Activity(3, Day.AddHours(5).AddSeconds(1)));
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, Marketo.Window(Day.AddHours(5).AddSeconds(1), Day.AddHours(5)));
        Assert.Contains("'filter'", message, StringComparison.Ordinal);
        Assert.Contains("startAt", message, StringComparison.Ordinal);

        var (file, job) = await Marketo.ExportAsync(client, Marketo.Window(Day.AddHours(5), Day.AddHours(5)));
        Assert.Equal([2L], Marketo.Guids(file));
        Assert.Equal(1, job.GetProperty("numberOfRecords").GetInt64());
    }

    [Fact]
    public async Task Both_bounds_are_inclusive()
    {
        await using var server = await StartWithRoomAsync();
        var start = Day.AddHours(3);
        var end = Day.AddHours(9);
        await server.AppendAsync(
            Marketo.Activity(1, start.AddSeconds(-1)),
            Marketo.Activity(2, start),
            Marketo.Activity(3, start.AddHours(1)),
            Marketo.Activity(4, end),
            Marketo.Activity(5, end.AddSeconds(1)));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(start, end));

        Assert.Equal([2L, 3L, 4L], Marketo.Guids(file));
    }

    [Fact]
    public async Task Exactly_31_days_is_allowed_and_one_second_more_is_1003()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(1, Day),
            Marketo.Activity(2, Day.AddDays(31)),
            Marketo.Activity(3, Day.AddDays(31).AddSeconds(1)));
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, Marketo.Window(Day, Day.AddDays(31).AddSeconds(1)));
        Assert.Equal("Invalid value specified for attribute 'filter': createdAt range exceeds 31 days", message);

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(31)));
        Assert.Equal([1L, 2L], Marketo.Guids(file));
    }

    // Activities at 09:59:59, 10:00:00, 11:00:00, 12:00:00 and 12:00:01 UTC; every window below means 10:00:00..12:00:00 UTC.
    [Theory]
    [InlineData("2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z")]
    [InlineData("2026-03-01T10:00:00+00:00", "2026-03-01T12:00:00+00:00")]
    [InlineData("2026-03-01T10:00:00-00:00", "2026-03-01T12:00:00-00:00")]
    [InlineData("2026-03-01T10:00:00+0000", "2026-03-01T12:00:00+0000")]
    [InlineData("2026-03-01T11:30:00+01:30", "2026-03-01T14:00:00+02:00")]
    [InlineData("2026-03-01T05:00:00-05:00", "2026-03-01T06:00:00-06:00")]
    [InlineData("2026-03-01T11:00:00+0100", "2026-03-01T13:00:00+0100")]
    [InlineData("2026-03-01T04:00:00-0600", "2026-03-01T07:00:00-0500")]
    [InlineData("2026-03-01T10:00:00.999Z", "2026-03-01T12:00:00.768Z")]
    [InlineData("2026-03-01T10:00:00.5+00:00", "2026-03-01T12:00:00.9999999+00:00")]
    [InlineData("2026-03-01T10:00:00", "2026-03-01T12:00:00")]
    [InlineData("2026-03-01T10:00:00.000+0000", "2026-03-01T12:00:00.999+0000")]
    [InlineData("2026-03-01T05:00:00.5-05:00", "2026-03-01T07:00:00.25-0500")]
    [InlineData("2026-03-01T10:00:00.123456Z", "2026-03-01T12:00:00.999999Z")]
    [InlineData("2026-03-01T10:00:00.123456789Z", "2026-03-01T12:00:00.999999999Z")]
    [InlineData("2026-03-01T10:00:00.123456789+00:00", "2026-03-01T12:00:00.000000001-00:00")]
    public async Task Each_accepted_datetime_form_selects_the_same_rows(string startAt, string endAt)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(1, Day.AddHours(10).AddSeconds(-1)),
            Marketo.Activity(2, Day.AddHours(10)),
            Marketo.Activity(3, Day.AddHours(11)),
            Marketo.Activity(4, Day.AddHours(12)),
            Marketo.Activity(5, Day.AddHours(12).AddSeconds(1)));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Body(startAt, endAt));

        Assert.Equal([2L, 3L, 4L], Marketo.Guids(file));
    }

    [Fact]
    public async Task A_date_alone_is_midnight_utc()
    {
        await using var server = await StartWithRoomAsync();
        var nov1 = new DateTimeOffset(2017, 11, 1, 0, 0, 0, TimeSpan.Zero);
        await server.AppendAsync(
            Marketo.Activity(1, nov1.AddSeconds(-1)),
            Marketo.Activity(2, nov1),
            Marketo.Activity(3, nov1.AddDays(1)),
            Marketo.Activity(4, nov1.AddDays(1).AddSeconds(1)));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, Body("2017-11-01", "2017-11-02"));

        Assert.Equal([2L, 3L], Marketo.Guids(file));
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", "0001-01-01T23:59:59Z")]
    [InlineData("9999-12-01T00:00:00Z", "9999-12-31T23:59:59Z")]
    [InlineData("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z")]
    public async Task Extreme_but_valid_windows_export_an_empty_file(string startAt, string endAt)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day));
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, Body(startAt, endAt));

        Assert.Equal([DefaultHeader], Marketo.Lines(file));
        Assert.Equal(0, job.GetProperty("numberOfRecords").GetInt64());
    }

    [Theory]
    [InlineData("""{"filter":{"createdAt":{"startAt":"9999-12-31T23:59:59-05:00","endAt":"9999-12-31T23:59:59-05:00"}}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"0001-01-01T00:00:00+05:00","endAt":"0001-01-02T00:00:00Z"}}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"},"activityTypeIds":[1e10]}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"},"activityTypeIds":[2147483648]}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"},"activityTypeIds":[24],"primaryAttributeValueIds":[1.5]}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"},"activityTypeIds":[24],"primaryAttributeValues":[4201]}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}},"fields":["marketoGUID",null]}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}},"columnHeaderNames":{"leadId":7}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}},"columnHeaderNames":["leadId"]}""")]
    [InlineData("""{"filter":[],"format":"CSV"}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"","endAt":""}}}""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00+25:00","endAt":"2026-03-02T00:00:00Z"}}}""")]
    public async Task Odd_values_are_1003_never_a_system_error(string body)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, body);

        Assert.StartsWith("Invalid value specified for attribute '", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deeply_nested_json_is_609_never_a_system_error()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var body = "{\"filter\":" + new string('[', 200) + new string(']', 200) + "}";

        Assert.Equal("Invalid JSON", await Marketo.ErrorAsync(await Marketo.PostCreateAsync(client, body), "609"));
    }

    // ---- 13: JSON, content type, body shape ----

    [Theory]
    [InlineData("""{"filter":""")]
    [InlineData("""not json""")]
    [InlineData("""{"filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}},}""")]
    [InlineData("""{'filter':{}}""")]
    [InlineData("")]
    public async Task Malformed_json_is_609(string body)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        Assert.Equal("Invalid JSON", await Marketo.ErrorAsync(await Marketo.PostCreateAsync(client, body), "609"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/json")]
    [InlineData(null)]
    public async Task A_create_without_a_json_content_type_is_612(string? contentType)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(DayWindow()));
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        var response = await client.PostAsync(Marketo.CreatePath, content);

        Assert.Equal("Invalid Content Type", await Marketo.ErrorAsync(response, "612"));
    }

    [Fact]
    public async Task Json_content_type_is_accepted_with_or_without_charset()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var plain = new ByteArrayContent(Encoding.UTF8.GetBytes(DayWindow()));
        plain.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var job = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync(Marketo.CreatePath, plain)));
        Assert.Equal("Created", job.GetProperty("status").GetString());
        await Marketo.CreateAsync(client, DayWindow()); // StringContent: application/json; charset=utf-8
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""[{"filter":{}}]""")]
    [InlineData("\"filter\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public async Task Json_that_is_not_an_object_is_1003(string body)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, body);

        Assert.Contains("object", message, StringComparison.Ordinal);
    }

    // ---- 14: activityTypeIds and primary attribute filters ----

    [Theory]
    [InlineData("[99999]", "99999")]
    [InlineData("[1, 5]", "5")]
    [InlineData("[37]", "37")]
    [InlineData("[1, 37]", "37")]
    [InlineData("[-1]", "-1")]
    [InlineData("[\"1\"]", "activityTypeIds")]
    [InlineData("1", "activityTypeIds")]
    public async Task Unknown_or_unsupported_activity_types_are_1003(string typeIds, string named)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, DayWindow($",\"activityTypeIds\":{typeIds}"));

        Assert.Contains("'filter'", message, StringComparison.Ordinal);
        Assert.Contains("activityTypeIds", message, StringComparison.Ordinal);
        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActivityTypeIds_select_only_those_types()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(1, Day.AddHours(1), type: 1),
            Marketo.Activity(2, Day.AddHours(2), type: 6),
            Marketo.Activity(3, Day.AddHours(3), type: 12),
            Marketo.Activity(4, Day.AddHours(4), type: 6));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, DayWindow(",\"activityTypeIds\":[6,12]"));

        Assert.Equal([2L, 3L, 4L], Marketo.Guids(file));
    }

    [Fact]
    public async Task At_most_50_primary_attribute_values()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var fifty = string.Join(',', Enumerable.Range(1, 50));
        var fiftyOne = string.Join(',', Enumerable.Range(1, 51));
        var names = string.Join(',', Enumerable.Repeat("\"GL_OP_ALL_2021.MPS Outbound\"", 51));

        await Marketo.CreateAsync(client, DayWindow($",\"activityTypeIds\":[24],\"primaryAttributeValueIds\":[{fifty}]"));
        var idsMessage = await Marketo.CreateErrorAsync(client, DayWindow($",\"activityTypeIds\":[24],\"primaryAttributeValueIds\":[{fiftyOne}]"));
        var namesMessage = await Marketo.CreateErrorAsync(client, DayWindow($",\"activityTypeIds\":[24],\"primaryAttributeValues\":[{names}]"));

        Assert.Contains("primaryAttributeValueIds", idsMessage, StringComparison.Ordinal);
        Assert.Contains("50", idsMessage, StringComparison.Ordinal);
        Assert.Contains("primaryAttributeValues", namesMessage, StringComparison.Ordinal);
        Assert.Contains("50", namesMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""","activityTypeIds":[24],"primaryAttributeValueIds":[4201],"primaryAttributeValues":["GL_OP_ALL_2021.MPS Outbound"]""", "together")]
    [InlineData(""","primaryAttributeValueIds":[4201]""", "requires activityTypeIds")]
    [InlineData(""","primaryAttributeValues":["GL_OP_ALL_2021.MPS Outbound"]""", "requires activityTypeIds")]
    [InlineData(""","activityTypeIds":[24,104],"primaryAttributeValueIds":[4201]""", "asset group")]
    [InlineData(""","activityTypeIds":[13,2],"primaryAttributeValues":["First Name"]""", "asset group")]
    [InlineData(""","activityTypeIds":[1],"primaryAttributeValueIds":[4201]""", "asset group")]
    public async Task Primary_attribute_filter_rules_are_1003(string extraFilter, string rule)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, DayWindow(extraFilter));

        Assert.Contains("'filter'", message, StringComparison.Ordinal);
        Assert.Contains(rule, message, StringComparison.Ordinal);
    }

    public static TheoryData<string, long[]> PrimaryFilters => new()
    {
        // Static list by id and by "program.list" name: types 24 and 25 only, list 4201 only.
        { ""","activityTypeIds":[24,25],"primaryAttributeValueIds":[4201]""", [10, 12] },
        { ""","activityTypeIds":[24,25],"primaryAttributeValues":["GL_OP_ALL_2021.MPS Outbound"]""", [10, 12] },
        { ""","activityTypeIds":[24],"primaryAttributeValues":["GL_OP_ALL_2021.MPS Outbound","GL_OP_ALL_2021.MPS Inbound"]""", [10, 11] },
        // Lead fields (13, 22) by id and by displayName.
        { ""","activityTypeIds":[13,22],"primaryAttributeValueIds":[48]""", [20, 22] },
        { ""","activityTypeIds":[13,22],"primaryAttributeValues":["First Name","Lead Score"]""", [20, 22, 23] },
        { ""","activityTypeIds":[22],"primaryAttributeValues":["Lead Score"]""", [23] },
        // Program (104) by id and name; form (2) by id and "program.form" name.
        { ""","activityTypeIds":[104],"primaryAttributeValueIds":[1670]""", [30] },
        { ""","activityTypeIds":[104],"primaryAttributeValues":["MembershipTest1"]""", [30] },
        { ""","activityTypeIds":[2],"primaryAttributeValueIds":[2101]""", [40] },
        { ""","activityTypeIds":[2],"primaryAttributeValues":["Website - Contact Us.Contact Us Form"]""", [40] },
    };

    [Theory]
    [MemberData(nameof(PrimaryFilters))]
    public async Task Primary_attribute_filters_select_rows_by_id_and_by_name(string extraFilter, long[] expected)
    {
        await using var server = await StartWithRoomAsync();
        var t = Day.AddHours(1);
        await server.AppendAsync(
            Marketo.Activity(10, t.AddMinutes(1), type: 24, primaryId: 4201, primaryValue: "MPS Outbound"),
            Marketo.Activity(11, t.AddMinutes(2), type: 24, primaryId: 4214, primaryValue: "MPS Inbound"),
            Marketo.Activity(12, t.AddMinutes(3), type: 25, primaryId: 4201, primaryValue: "MPS Outbound"),
            Marketo.Activity(13, t.AddMinutes(4), type: 1, primaryId: 4201, primaryValue: "page"),
            Marketo.Activity(20, t.AddMinutes(5), type: 13, primaryId: 48, primaryValue: "First Name"),
            Marketo.Activity(21, t.AddMinutes(6), type: 13, primaryId: 50, primaryValue: "Last Name"),
            Marketo.Activity(22, t.AddMinutes(7), type: 22, primaryId: 48, primaryValue: "First Name"),
            Marketo.Activity(23, t.AddMinutes(8), type: 22, primaryId: 83, primaryValue: "Lead Score"),
            Marketo.Activity(30, t.AddMinutes(9), type: 104, primaryId: 1670, primaryValue: "MembershipTest1"),
            Marketo.Activity(31, t.AddMinutes(10), type: 104, primaryId: 1001, primaryValue: "GL_OP_ALL_2021"),
            Marketo.Activity(40, t.AddMinutes(11), type: 2, primaryId: 2101, primaryValue: "Contact Us Form"),
            Marketo.Activity(41, t.AddMinutes(12), type: 2, primaryId: 2108, primaryValue: "Demo Request Form"));
        using var client = await server.AuthorizedClientAsync();

        var (file, job) = await Marketo.ExportAsync(client, DayWindow(extraFilter));

        Assert.Equal(expected, Marketo.Guids(file));
        Assert.Equal(expected.Length, job.GetProperty("numberOfRecords").GetInt64());
    }

    // ---- 15, 16: fields and columnHeaderNames ----

    private const string DefaultHeader =
        "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes";

    [Theory]
    [InlineData("")]
    [InlineData(""","fields":null""")]
    public async Task Without_fields_the_file_has_the_8_default_columns(string fields)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(7, Day.AddHours(1), type: 6, primaryId: 4, primaryValue: "Mail", leadId: 9, campaignId: 3,
            actionResult: "succeeded"));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, DayWindow(extraBody: fields));

        Assert.Equal([DefaultHeader, "7,9,2026-03-01T01:00:00Z,6,3,4,Mail,{}"], Marketo.Lines(file));
    }

    [Fact]
    public async Task Given_fields_are_exactly_the_columns_in_that_order_and_actionResult_is_allowed()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(
            Marketo.Activity(7, Day.AddHours(1), type: 6, primaryId: 4, primaryValue: "Mail", leadId: 9, campaignId: 3, actionResult: "succeeded"),
            Marketo.Activity(8, Day.AddHours(2), type: 1, leadId: 10, actionResult: null));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client,
            DayWindow(extraBody: ""","fields":["actionResult","leadId","marketoGUID","activityTypeId"]"""));

        Assert.Equal(["actionResult,leadId,marketoGUID,activityTypeId", "succeeded,9,7,6", "null,10,8,1"], Marketo.Lines(file));
    }

    [Theory]
    [InlineData("""["marketoGUID","nope"]""", "nope")]
    [InlineData("""["marketoGuid"]""", "marketoGuid")]
    [InlineData("""["leadId","marketoGUID","leadId"]""", "leadId")]
    [InlineData("""["leadId",1]""", "1")]
    [InlineData("""[]""", "fields")]
    [InlineData("""["activityDate "]""", "activityDate ")]
    [InlineData("\"marketoGUID\"", "fields")]
    public async Task Unknown_duplicate_or_malformed_fields_are_1003(string fields, string named)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, DayWindow(extraBody: $",\"fields\":{fields}"));

        Assert.Contains("'fields'", message, StringComparison.Ordinal);
        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ColumnHeaderNames_rename_the_header_only()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(7, Day.AddHours(1), type: 6, primaryId: 4, primaryValue: "Mail", leadId: 9, campaignId: 3));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, DayWindow(extraBody:
            ""","columnHeaderNames":{"primaryAttributeValueId":"Attribute ID","primaryAttributeValue":"Attribute Value","attributes":"Secondary Attributes"}"""));

        Assert.Equal([
            "marketoGUID,leadId,activityDate,activityTypeId,campaignId,Attribute ID,Attribute Value,Secondary Attributes",
            "7,9,2026-03-01T01:00:00Z,6,3,4,Mail,{}"], Marketo.Lines(file));
    }

    [Fact]
    public async Task ColumnHeaderNames_apply_to_given_fields()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(7, Day.AddHours(1), leadId: 9));
        using var client = await server.AuthorizedClientAsync();

        var (file, _) = await Marketo.ExportAsync(client, DayWindow(extraBody:
            ""","fields":["leadId","marketoGUID"],"columnHeaderNames":{"marketoGUID":"Id"}"""));

        Assert.Equal(["leadId,Id", "9,7"], Marketo.Lines(file));
    }

    [Theory]
    [InlineData(""","fields":["marketoGUID"],"columnHeaderNames":{"leadId":"Lead"}""", "leadId")]
    [InlineData(""","columnHeaderNames":{"actionResult":"Result"}""", "actionResult")]
    [InlineData(""","columnHeaderNames":{"nope":"X"}""", "nope")]
    public async Task ColumnHeaderNames_keys_must_be_exported_fields(string extraBody, string named)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, DayWindow(extraBody: extraBody));

        Assert.Contains("'columnHeaderNames'", message, StringComparison.Ordinal);
        Assert.Contains(named, message, StringComparison.Ordinal);
    }

    // ---- 17: format ----

    [Theory]
    [InlineData(null, "CSV")]
    [InlineData("CSV", "CSV")]
    [InlineData("csv", "CSV")]
    [InlineData("Tsv", "TSV")]
    [InlineData("tsv", "TSV")]
    [InlineData("ssv", "SSV")]
    [InlineData("SSV", "SSV")]
    public async Task Format_is_case_insensitive_on_input_and_upper_case_on_output(string? format, string expected)
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(7, Day.AddHours(1), primaryValue: "a b"));
        using var client = await server.AuthorizedClientAsync();
        var body = DayWindow(extraBody: format is null ? "" : $",\"format\":\"{format}\"");

        var created = Marketo.Job(await Marketo.SuccessAsync(await Marketo.PostCreateAsync(client, body)));
        var id = created.GetProperty("exportId").GetString()!;
        Assert.Equal(expected, created.GetProperty("format").GetString());
        Assert.Equal(expected, (await Marketo.EnqueueAsync(client, id)).GetProperty("format").GetString());
        var done = await Marketo.WaitAsync(client, id);
        Assert.Equal(expected, done.GetProperty("format").GetString());

        var file = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsStringAsync();
        var delimiter = expected switch { "TSV" => "\t", "SSV" => " ", _ => "," };
        Assert.StartsWith($"marketoGUID{delimiter}leadId{delimiter}", file, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"XLS\"")]
    [InlineData("\"C SV\"")]
    [InlineData("\"\"")]
    [InlineData("1")]
    [InlineData("[\"CSV\"]")]
    public async Task Bad_format_is_1003(string format)
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();

        var message = await Marketo.CreateErrorAsync(client, DayWindow(extraBody: $",\"format\":{format}"));

        Assert.Contains("'format'", message, StringComparison.Ordinal);
    }

    // ---- unknown members, fields null ----

    [Fact]
    public async Task Unknown_top_level_members_are_ignored()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)), Marketo.Activity(2, Day.AddDays(2)));
        using var client = await server.AuthorizedClientAsync();
        var body = """
            {"windowStart":"2026-02-01T00:00:00Z","filter":{"createdAt":{"startAt":"2026-03-01T00:00:00Z","endAt":"2026-03-02T00:00:00Z"}},
             "windowEnd":"2026-02-28T00:00:00Z","myConnector":{"stream":"activities","state":[1,2,{"x":null}]},"fields":null,"extra":null}
            """;

        var (file, job) = await Marketo.ExportAsync(client, body);

        Assert.Equal([1L], Marketo.Guids(file));
        Assert.Equal("CSV", job.GetProperty("format").GetString());
    }

    [Fact]
    public async Task Create_answers_Created_with_only_the_members_a_created_job_has()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var job = Marketo.Job(await Marketo.SuccessAsync(await Marketo.PostCreateAsync(client, DayWindow(extraBody: ""","format":"tsv","fields":null"""))));

        Assert.Equal(["exportId", "format", "status", "createdAt"], job.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.True(Guid.TryParseExact(job.GetProperty("exportId").GetString(), "D", out _));
        Assert.Equal("TSV", job.GetProperty("format").GetString());
        Assert.Equal("Created", job.GetProperty("status").GetString());
        var createdAt = DateTimeOffset.Parse(job.GetProperty("createdAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(createdAt, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }
}

public sealed class CreateValidationTests_Embedded : CreateValidationTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class CreateValidationTests_Postgres : CreateValidationTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
