using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.Activities;

public class AssetCatalogTests
{
    private static readonly AssetCatalog Catalog = AssetCatalog.Standard;

    [Fact]
    public void Standard_catalogue_has_realistic_sizes()
    {
        Assert.Equal(LeadFields.All.Count, Catalog.In(AssetGroup.AttributeName).Count);
        Assert.InRange(Catalog.In(AssetGroup.MarketingProgram).Count, 20, 30);
        Assert.InRange(Catalog.In(AssetGroup.StaticList).Count, 25, 35);
        Assert.InRange(Catalog.In(AssetGroup.WebForm).Count, 15, 25);
        Assert.All(Enum.GetValues<AssetGroup>(), g => Assert.All(Catalog.In(g), a => Assert.Equal(g, a.Group)));
    }

    [Fact]
    public void Documented_static_list_is_found_by_qualified_name_only()
    {
        var list = Catalog.FindByValue(AssetGroup.StaticList, "GL_OP_ALL_2021.MPS Outbound");
        Assert.NotNull(list);
        Assert.Equal("MPS Outbound", list.Name);
        Assert.Same(list, Catalog.FindById(AssetGroup.StaticList, list.Id));
        Assert.Null(Catalog.FindByValue(AssetGroup.StaticList, "MPS Outbound"));
        Assert.Null(Catalog.FindByValue(AssetGroup.StaticList, "gl_op_all_2021.mps outbound"));
        Assert.Null(Catalog.FindByValue(AssetGroup.WebForm, "GL_OP_ALL_2021.MPS Outbound"));
        Assert.Null(Catalog.FindById(AssetGroup.WebForm, list.Id));
    }

    [Fact]
    public void Every_asset_round_trips_by_id_and_by_qualified_name()
    {
        foreach (var group in Enum.GetValues<AssetGroup>())
        {
            var assets = Catalog.In(group);
            Assert.Equal(assets.Count, assets.Select(a => a.Id).Distinct().Count());
            Assert.Equal(assets.Count, assets.Select(a => a.QualifiedName).Distinct(StringComparer.Ordinal).Count());
            Assert.All(assets, a =>
            {
                Assert.Same(a, Catalog.FindById(group, a.Id));
                Assert.Same(a, Catalog.FindByValue(group, a.QualifiedName));
            });
        }
    }

    [Fact]
    public void Lists_and_forms_are_qualified_by_their_program_and_programs_by_themselves()
    {
        var programs = Catalog.In(AssetGroup.MarketingProgram).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(Catalog.In(AssetGroup.MarketingProgram), p => Assert.Equal(p.Name, p.QualifiedName));
        foreach (var group in new[] { AssetGroup.StaticList, AssetGroup.WebForm })
        {
            Assert.All(Catalog.In(group), a =>
            {
                Assert.EndsWith("." + a.Name, a.QualifiedName, StringComparison.Ordinal);
                Assert.Contains(a.QualifiedName[..^(a.Name.Length + 1)], programs);
            });
        }
    }

    [Fact]
    public void Lead_fields_are_found_by_display_name()
    {
        var score = LeadFields.FindByRestName("leadScore")!;
        var asset = Catalog.FindByValue(AssetGroup.AttributeName, "Lead Score");
        Assert.NotNull(asset);
        Assert.Equal(score.Id, asset.Id);
        Assert.Equal("Lead Score", asset.Name);
        Assert.Equal("Email Address", Catalog.FindById(AssetGroup.AttributeName, LeadFields.FindByRestName("email")!.Id)?.Name);
        Assert.Null(Catalog.FindByValue(AssetGroup.AttributeName, "leadScore"));
    }

    [Fact]
    public void Some_names_hold_hard_text()
    {
        var names = Enum.GetValues<AssetGroup>().SelectMany(g => Catalog.In(g)).Select(a => a.Name).ToList();
        Assert.Contains(names, n => n.Contains(',', StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains('"', StringComparison.Ordinal));
        Assert.Contains(names, n => n.Any(c => c is >= '\u3040' and <= '\u9FFF'));
        Assert.Contains(names, n => n.Contains(' ', StringComparison.Ordinal));
        Assert.NotNull(Catalog.FindByValue(AssetGroup.MarketingProgram, "Partner \"Connect\" Summit 2024"));
    }

    [Fact]
    public void Duplicates_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new AssetCatalog(
            [new Asset(1, "A", "P.A", AssetGroup.StaticList), new Asset(1, "B", "P.B", AssetGroup.StaticList)]));
        Assert.Throws<ArgumentException>(() => new AssetCatalog(
            [new Asset(1, "A", "P.A", AssetGroup.StaticList), new Asset(2, "A", "P.A", AssetGroup.StaticList)]));
        // The same id in two groups is fine.
        var ok = new AssetCatalog([new Asset(1, "A", "P.A", AssetGroup.StaticList), new Asset(1, "A", "P.A", AssetGroup.WebForm)]);
        Assert.Equal("A", ok.FindById(AssetGroup.WebForm, 1)?.Name);
        Assert.Empty(ok.In(AssetGroup.MarketingProgram));
    }
}

public class LeadFieldsTests
{
    [Fact]
    public void At_least_forty_unique_fields()
    {
        Assert.True(LeadFields.All.Count >= 40);
        Assert.Equal(LeadFields.All.Count, LeadFields.All.Select(f => f.Id).Distinct().Count());
        Assert.Equal(LeadFields.All.Count, LeadFields.All.Select(f => f.DisplayName).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(LeadFields.All.Count, LeadFields.All.Select(f => f.Rest?.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("email", "Email Address", "email", "Email")]
    [InlineData("firstName", "First Name", "string", "FirstName")]
    [InlineData("lastName", "Last Name", "string", "LastName")]
    [InlineData("company", "Company Name", "string", "Company")]
    [InlineData("leadScore", "Lead Score", "integer", "LeadScore")]
    [InlineData("leadStatus", "Lead Status", "string", "LeadStatus")]
    [InlineData("title", "Job Title", "string", "Title")]
    [InlineData("phone", "Phone Number", "phone", "Phone")]
    [InlineData("city", "City", "string", "City")]
    [InlineData("state", "State", "string", "State")]
    [InlineData("country", "Country", "string", "Country")]
    [InlineData("unsubscribed", "Unsubscribed", "boolean", "Unsubscribed")]
    public void Standard_fields_use_marketo_names(string rest, string displayName, string dataType, string soap)
    {
        var field = LeadFields.FindByRestName(rest);
        Assert.NotNull(field);
        Assert.Equal(displayName, field.DisplayName);
        Assert.Equal(dataType, field.DataType);
        Assert.Equal(soap, field.Soap?.Name);
        Assert.Same(field, LeadFields.Find(field.Id));
    }

    [Fact]
    public void Length_only_on_string_like_fields()
    {
        string[] stringLike = ["string", "email", "phone", "url"];
        Assert.All(LeadFields.All, f => Assert.Equal(stringLike.Contains(f.DataType), f.Length is not null));
    }

    [Fact]
    public void Serialises_like_describe_json()
    {
        var email = LeadFields.FindByRestName("email")!;
        Assert.Equal(
            """{"id":51,"displayName":"Email Address","dataType":"email","length":255,"rest":{"name":"email","readOnly":false},"soap":{"name":"Email","readOnly":false}}""",
            JsonSerializer.Serialize(email, JsonSerializerOptions.Web));
        var created = LeadFields.FindByRestName("createdAt")!;
        Assert.Equal(
            """{"id":95,"displayName":"Created At","dataType":"datetime","rest":{"name":"createdAt","readOnly":true}}""",
            JsonSerializer.Serialize(created, JsonSerializerOptions.Web));
    }
}
