using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Activities.Seeding;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Activities;

/// <summary>One 100,000-row sample over 31 days, shared by the tests that inspect content.</summary>
public sealed class DemoSample
{
    public static readonly DateTimeOffset From = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset To = new(2026, 3, 31, 23, 59, 59, TimeSpan.Zero);
    public const long FirstGuid = 783_957_693;

    public DemoSample()
    {
        Rows = new DemoActivityGenerator(20260301).Generate(100_000, From, To, FirstGuid).ToList();
        Attributes = Rows.Select(r => JsonDocument.Parse(r.Attributes).RootElement.Clone()).ToList();
    }

    public IReadOnlyList<ActivityRecord> Rows { get; }

    public IReadOnlyList<JsonElement> Attributes { get; }

    public IEnumerable<string> AttributeStrings => Attributes.SelectMany(a =>
        a.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Value.GetString()!));
}

public class DemoActivityGeneratorTests(DemoSample sample) : IClassFixture<DemoSample>
{
    private static readonly DateTimeOffset From = DemoSample.From;
    private static readonly DateTimeOffset To = DemoSample.To;

    [Fact]
    public void Same_seed_gives_the_same_sequence()
    {
        var a = new DemoActivityGenerator(5).Generate(20_000, From, To, 1).ToList();
        var b = new DemoActivityGenerator(5).Generate(20_000, From, To, 1).ToList();
        Assert.Equal(a, b);
    }

    [Fact]
    public void Enumerating_twice_gives_the_same_sequence()
    {
        var rows = new DemoActivityGenerator(5).Generate(5_000, From, To, 1);
        Assert.Equal(rows.ToList(), rows.ToList());
    }

    [Fact]
    public void Different_seeds_give_different_sequences()
    {
        var a = new DemoActivityGenerator(5).Generate(1_000, From, To, 1).ToList();
        var b = new DemoActivityGenerator(6).Generate(1_000, From, To, 1).ToList();
        Assert.NotEqual(a.Select(r => r.ActivityDate), b.Select(r => r.ActivityDate));
        Assert.NotEqual(a.Select(r => r.ActivityTypeId), b.Select(r => r.ActivityTypeId));
        Assert.NotEqual(a.Select(r => r.Attributes), b.Select(r => r.Attributes));
    }

    public static TheoryData<long, string, string> Counts => new()
    {
        { 0, "2026-03-01T00:00:00Z", "2026-03-31T23:59:59Z" },
        { 1, "2026-03-01T00:00:00Z", "2026-03-31T23:59:59Z" },
        { 7, "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z" },
        { 1_000, "2026-03-01T10:15:00Z", "2026-03-01T10:15:09Z" },
        { 12_345, "2026-03-01T00:00:00.250Z", "2026-03-02T00:00:00.750Z" },
        { 50_000, "2025-12-31T18:00:00-06:00", "2026-01-31T23:59:59+02:00" },
        { 3_000, "2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(Counts))]
    public void Yields_exactly_count_rows_in_order_within_the_range(long count, string from, string to)
    {
        var start = DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture);
        var end = DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture);
        var rows = new DemoActivityGenerator(11).Generate(count, start, end, 500).ToList();
        Assert.Equal(count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            var date = rows[i].ActivityDate;
            Assert.Equal(TimeSpan.Zero, date.Offset);
            Assert.Equal(0, date.UtcTicks % TimeSpan.TicksPerSecond);
            Assert.InRange(date, start, end);
            if (i > 0)
            {
                Assert.True(date >= rows[i - 1].ActivityDate, $"row {i} goes back in time");
                Assert.True(rows[i].MarketoGuid > rows[i - 1].MarketoGuid, $"row {i} does not increase the GUID");
            }
        }

        if (count > 0)
        {
            Assert.Equal(500, rows[0].MarketoGuid);
        }
    }

    [Fact]
    public void Guids_have_some_gaps_but_stay_dense()
    {
        var rows = sample.Rows;
        var span = rows[^1].MarketoGuid - rows[0].MarketoGuid + 1;
        Assert.Equal(DemoSample.FirstGuid, rows[0].MarketoGuid);
        Assert.InRange(span, rows.Count + 1, rows.Count * 3L);
    }

    [Fact]
    public void Bad_arguments_are_rejected_eagerly()
    {
        var generator = new DemoActivityGenerator(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(-1, From, To, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(1, From, To, -1));
        Assert.Throws<ArgumentException>(() => generator.Generate(1, To, From, 1));
        Assert.Throws<ArgumentException>(() => generator.Generate(1, From.AddMilliseconds(100), From.AddMilliseconds(900), 1));
    }

    [Fact]
    public void Every_attributes_value_is_an_object_of_the_types_catalogue_attributes()
    {
        var declaredByType = StandardActivityTypes.All.ToDictionary(
            t => t.Id, t => t.Attributes.ToDictionary(a => a.Name, a => a.DataType, StringComparer.Ordinal));
        for (var i = 0; i < sample.Rows.Count; i++)
        {
            var row = sample.Rows[i];
            var json = sample.Attributes[i];
            Assert.True(declaredByType.TryGetValue(row.ActivityTypeId, out var declared), $"unknown type {row.ActivityTypeId}");
            Assert.Equal(JsonValueKind.Object, json.ValueKind);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in json.EnumerateObject())
            {
                Assert.True(declared.TryGetValue(property.Name, out var dataType), $"type {row.ActivityTypeId} has no attribute '{property.Name}'");
                Assert.True(seen.Add(property.Name), $"duplicate '{property.Name}'");
                var kind = property.Value.ValueKind;
                switch (dataType)
                {
                    case "integer":
                        Assert.True(kind == JsonValueKind.Number && property.Value.TryGetInt64(out _), $"{property.Name} should be an integer");
                        break;
                    case "float":
                        Assert.Equal(JsonValueKind.Number, kind);
                        break;
                    case "boolean":
                        Assert.True(kind is JsonValueKind.True or JsonValueKind.False, $"{property.Name} should be a boolean");
                        break;
                    default:
                        Assert.Equal(JsonValueKind.String, kind);
                        break;
                }
            }

            if (seen.Count == 0)
            {
                Assert.Equal("{}", row.Attributes);
            }
        }
    }

    [Fact]
    public void Attributes_are_written_compactly_with_raw_non_ascii()
    {
        // Re-serialising the parsed value compactly with the same encoder gives the stored text, up to emoji
        // (which the encoder escapes and the generator stores raw).
        var options = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        for (var i = 0; i < sample.Rows.Count; i += 7)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, options))
            {
                sample.Attributes[i].WriteTo(writer);
            }

            var expected = DemoRowFactory.JsonText(buffer.WrittenSpan);
            Assert.Equal(expected, sample.Rows[i].Attributes);
        }

        Assert.Contains(sample.Rows, r => r.Attributes.Contains("東京都渋谷区", StringComparison.Ordinal));
        Assert.Contains(sample.Rows, r => r.Attributes.Contains("🎉🚀", StringComparison.Ordinal));
        Assert.DoesNotContain(sample.Rows, r => r.Attributes.Contains("\\uD83", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(sample.Rows, r => r.Attributes.Contains("nul\\u0000inside", StringComparison.Ordinal));
        Assert.Contains(sample.Rows, r => r.Attributes.Contains("line one\\r\\nline two", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_text_turns_escaped_surrogate_pairs_back_into_raw_utf8_only()
    {
        var json = """{"a":"x\uD83C\uDF89y","b":"\\uD83C\\uDF89","c":"\u0000\"","d":"\uD83C"}"""u8;
        Assert.Equal("""{"a":"x🎉y","b":"\\uD83C\\uDF89","c":"\u0000\"","d":"\uD83C"}""", DemoRowFactory.JsonText(json));
    }

    [Fact]
    public void Asset_group_rows_reference_existing_assets()
    {
        var catalog = AssetCatalog.Standard;
        var checkedRows = 0;
        foreach (var row in sample.Rows)
        {
            if (AssetGroups.GroupOf(row.ActivityTypeId) is not { } group)
            {
                continue;
            }

            Assert.NotNull(row.PrimaryAttributeValueId);
            var asset = catalog.FindById(group, row.PrimaryAttributeValueId.Value);
            Assert.NotNull(asset);
            Assert.Equal(asset.Name, row.PrimaryAttributeValue);
            checkedRows++;
        }

        Assert.True(checkedRows > 10_000, $"only {checkedRows} asset-group rows");
        foreach (var group in Enum.GetValues<AssetGroup>())
        {
            Assert.Contains(sample.Rows, r => AssetGroups.GroupOf(r.ActivityTypeId) == group);
        }
    }

    [Fact]
    public void Primary_attributes_follow_the_type()
    {
        foreach (var row in sample.Rows)
        {
            var type = StandardActivityTypes.Find(row.ActivityTypeId)!;
            if (row.ActivityTypeId == StandardActivityTypes.NewLead)
            {
                Assert.Equal(row.LeadId, row.PrimaryAttributeValueId);
                Assert.Null(row.PrimaryAttributeValue);
            }
            else if (type.PrimaryAttribute is null)
            {
                Assert.Null(row.PrimaryAttributeValueId);
                Assert.Null(row.PrimaryAttributeValue);
            }
            else
            {
                Assert.NotNull(row.PrimaryAttributeValueId);
                Assert.False(string.IsNullOrEmpty(row.PrimaryAttributeValue));
            }
        }
    }

    [Fact]
    public void Email_rows_name_a_mailing()
    {
        var mailings = sample.Rows.Where(r => r.ActivityTypeId is 6 or 7 or 10 or 11).ToList();
        Assert.NotEmpty(mailings);
        var names = mailings.GroupBy(r => r.PrimaryAttributeValueId).ToList();
        Assert.True(names.Count >= 10);
        // One id, one name (except the rare rows that carry hard text instead).
        Assert.All(names, g => Assert.True(g.Select(r => r.PrimaryAttributeValue).Distinct().Count() <= 1 + DemoText.Hard.Length));
        Assert.All(mailings, r => Assert.True(r.PrimaryAttributeValue!.Contains('.', StringComparison.Ordinal) || DemoText.Hard.Contains(r.PrimaryAttributeValue)));
    }

    [Fact]
    public void New_leads_appear_once_and_before_their_other_activity()
    {
        var newLeads = sample.Rows.Where(r => r.ActivityTypeId == StandardActivityTypes.NewLead).ToList();
        Assert.True(newLeads.Count > 1_000);
        Assert.Equal(newLeads.Count, newLeads.Select(r => r.LeadId).Distinct().Count());
        var createdAt = newLeads.ToDictionary(r => r.LeadId, r => r.MarketoGuid);
        Assert.All(sample.Rows.Where(r => createdAt.ContainsKey(r.LeadId)), r => Assert.True(r.MarketoGuid >= createdAt[r.LeadId]));
        Assert.Contains(sample.Rows, r => r.ActivityTypeId != 12 && createdAt.ContainsKey(r.LeadId));
    }

    [Fact]
    public void Type_mix_is_realistic_and_never_delete_lead()
    {
        var counts = sample.Rows.GroupBy(r => r.ActivityTypeId).ToDictionary(g => g.Key, g => g.Count());
        Assert.DoesNotContain(StandardActivityTypes.DeleteLead, counts.Keys);
        int[] expected = [1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 22, 24, 25, 27, 46, 104];
        Assert.All(expected, id => Assert.Contains(id, counts.Keys));
        Assert.Equal(1, counts.MaxBy(kv => kv.Value).Key);
        Assert.True(counts[6] > counts[10] && counts[10] > counts[11] && counts[11] > counts[8], "sends > opens > clicks > bounces");
        Assert.InRange(counts[1] / 1000.0, 20, 26);
    }

    [Fact]
    public void Campaign_and_action_result_proportions()
    {
        var rows = sample.Rows;
        Assert.InRange(rows.Count(r => r.CampaignId is null) / (double)rows.Count, 0.25, 0.38);
        var results = rows.GroupBy(r => r.ActionResult ?? "(null)").ToDictionary(g => g.Key, g => g.Count() / (double)rows.Count);
        Assert.Equal(["(null)", "failed", "skipped", "succeeded"], results.Keys.Order(StringComparer.Ordinal));
        Assert.InRange(results["succeeded"], 0.87, 0.93);
        Assert.InRange(results["(null)"], 0.005, 0.04);
    }

    [Fact]
    public void Lead_activity_is_skewed()
    {
        var perLead = sample.Rows.GroupBy(r => r.LeadId).Select(g => g.Count()).OrderDescending().ToList();
        Assert.True(perLead.Count > 1_000);
        var top10 = perLead.Take(perLead.Count / 10).Sum();
        Assert.True(top10 > sample.Rows.Count / 4, $"top 10% of leads have only {top10} activities");
    }

    [Fact]
    public void Daily_and_weekly_rhythm()
    {
        var rows = new DemoActivityGenerator(3).Generate(100_000, new DateTimeOffset(2026, 3, 2, 6, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 3, 30, 5, 59, 59, TimeSpan.Zero), 1).ToList(); // exactly four weeks, Central midnight
        var central = rows.Select(r => r.ActivityDate.ToOffset(TimeSpan.FromHours(-6))).ToList();
        var weekend = central.Count(d => d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) / 2.0;
        var weekday = central.Count(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)) / 5.0;
        Assert.True(weekday > 2 * weekend, $"weekday {weekday} vs weekend {weekend}");
        var office = central.Count(d => d.Hour is >= 9 and < 17) / 8.0;
        var night = central.Count(d => d.Hour is >= 0 and < 6) / 6.0;
        Assert.True(office > 4 * night, $"office hours {office} vs night {night}");
    }

    [Fact]
    public void Hard_text_appears_in_primary_values_and_attribute_strings()
    {
        var primaries = sample.Rows.Select(r => r.PrimaryAttributeValue).OfType<string>().ToList();
        var strings = sample.AttributeStrings.ToList();
        foreach (var (label, probe) in HardCases)
        {
            Assert.True(primaries.Any(probe), $"no primaryAttributeValue with {label}");
            Assert.True(strings.Any(probe), $"no attribute string with {label}");
        }
    }

    [Fact]
    public void About_one_percent_of_rows_carry_hard_text()
    {
        static bool IsHard(string? value)
        {
            if (value is null)
            {
                return false;
            }

            foreach (var hard in DemoText.Hard)
            {
                if (value.Contains(hard, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        var hardRows = 0;
        for (var i = 0; i < sample.Rows.Count; i++)
        {
            var hard = IsHard(sample.Rows[i].PrimaryAttributeValue);
            foreach (var property in sample.Attributes[i].EnumerateObject())
            {
                hard |= property.Value.ValueKind == JsonValueKind.String && IsHard(property.Value.GetString());
            }

            hardRows += hard ? 1 : 0;
        }

        Assert.InRange(hardRows, 600, 1_400);
    }

    private static readonly (string Label, Func<string, bool> Probe)[] HardCases =
    [
        ("a double quote", s => s.Contains('"', StringComparison.Ordinal)),
        ("a comma", s => s.Contains(',', StringComparison.Ordinal)),
        ("a tab", s => s.Contains('\t', StringComparison.Ordinal)),
        ("a leading space", s => s.StartsWith(' ')),
        ("a trailing space", s => s.EndsWith(' ')),
        ("a lone CR", s => s.Replace("\r\n", "", StringComparison.Ordinal).Contains('\r', StringComparison.Ordinal)),
        ("a lone LF", s => s.Replace("\r\n", "", StringComparison.Ordinal).Contains('\n', StringComparison.Ordinal)),
        ("a CRLF", s => s.Contains("\r\n", StringComparison.Ordinal)),
        ("a NUL", s => s.Contains('\0', StringComparison.Ordinal)),
        ("CJK", s => s.Any(c => c is >= '\u4E00' and <= '\u9FFF')),
        ("an emoji", s => s.EnumerateRunes().Any(r => r.Value >= 0x1F300)),
    ];
}
