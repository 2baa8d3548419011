using System.CommandLine;
using Spectre.Console;
using Spillway.Cli.Commands;

namespace Spillway.Client.Tests;

/// <summary>How <c>spillway export</c> reads its options, before it calls anything.</summary>
public sealed class ExportCommandOptionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 15, 30, 45, TimeSpan.Zero);

    [Theory]
    [InlineData("2024-01-01", "2024-01-01T00:00:00Z")]
    [InlineData("2024-01-01T08:00:00Z", "2024-01-01T08:00:00Z")]
    [InlineData("2024-01-01T08:00:00", "2024-01-01T08:00:00Z")]
    [InlineData("2024-01-01T08:00:00-05:00", "2024-01-01T13:00:00Z")]
    [InlineData("now", "2026-03-10T15:30:45Z")]
    [InlineData("90d", "2025-12-10T15:30:45Z")]
    [InlineData("12h", "2026-03-10T03:30:45Z")]
    [InlineData("30m", "2026-03-10T15:00:45Z")]
    public void Instants_AreDates_DateTimes_OrSpansBackFromNow(string text, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ExportCommand.ParseInstant(text, Now, "--since"));

    [Theory]
    [InlineData(null, "x.parquet", "Parquet")]
    [InlineData(null, "x.NDJSON", "Ndjson")]
    [InlineData(null, "x.tsv", "Tsv")]
    [InlineData(null, "x.txt", "Csv")]
    [InlineData(null, null, "Csv")]
    [InlineData("ssv", "x.parquet", "Ssv")]
    public void Format_IsTheOption_ElseTheOutputExtension_ElseCsv(string? format, string? output, string expected) =>
        Assert.Equal(expected, ExportCommand.ChooseFormat(format, output).ToString());

    [Fact]
    public void BaseUrl_FromAUrlOrAMunchkinId()
    {
        Assert.Equal(new Uri("https://123-abc-456.mktorest.com/"), ExportCommand.ResolveBaseUrl(null, "123-ABC-456"));
        Assert.Equal(new Uri("http://127.0.0.1:5171/"), ExportCommand.ResolveBaseUrl("http://127.0.0.1:5171/", null));
    }

    [Theory]
    [InlineData("--since", "yesterday-ish")]
    [InlineData("--window-days", "40")]
    [InlineData("--munchkin", "123-ABC-456")] // with --url as well
    public async Task UsageErrors_Exit2_BeforeAnyCall(string option, string value)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(writer) });
        var env = new Dictionary<string, string?> { ["MARKETO_CLIENT_ID"] = "id", ["MARKETO_CLIENT_SECRET"] = "secret" };
        var args = new List<string> { "export", "--url", "http://127.0.0.1:9/", "--since", "2024-01-01", "--until", "2024-02-01" };
        var at = args.IndexOf(option);
        if (at >= 0)
        {
            args[at + 1] = value;
        }
        else
        {
            args.AddRange([option, value]);
        }

        var root = new RootCommand { ExportCommand.Create(console, name => env.GetValueOrDefault(name)) };
        Assert.Equal(ExportCommand.ExitUsage, await root.Parse(args).InvokeAsync());
        Assert.NotEmpty(writer.ToString());
    }

    [Fact]
    public async Task MissingCredentials_AreAUsageError_ThatNamesTheVariables()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(writer) });
        console.Profile.Width = 300;
        var root = new RootCommand { ExportCommand.Create(console, _ => null) };
        Assert.Equal(ExportCommand.ExitUsage, await root.Parse(["export", "--url", "http://127.0.0.1:9/", "--since", "1d"]).InvokeAsync());
        Assert.Contains("SPILLWAY_CLIENT_ID", writer.ToString(), StringComparison.Ordinal);
        Assert.Contains("MARKETO_CLIENT_SECRET", writer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_NeedsNoSince_AndWithoutASavedRange_SaysThereIsNothingToResume()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(writer) });
        console.Profile.Width = 300;
        var root = new RootCommand { ExportCommand.Create(console, _ => null) };
        var output = Path.Combine(Path.GetTempPath(), $"spillway-resume-{Guid.NewGuid():N}", "resume.csv");
        var code = await root.Parse(["export", "--url", "http://127.0.0.1:9/", "--client-id", "id", "--client-secret", "secret", "--resume", "-o", output])
            .InvokeAsync();
        Assert.Equal(ExportCommand.ExitUsage, code);
        Assert.DoesNotContain("is required", writer.ToString(), StringComparison.Ordinal);
        Assert.Contains("Nothing to resume", writer.ToString(), StringComparison.Ordinal);
    }
}
