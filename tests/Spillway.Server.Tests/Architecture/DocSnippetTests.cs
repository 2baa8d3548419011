namespace Spillway.Server.Tests.Architecture;

/// <summary>
/// The Spillway.Testing example in the docs is the sample project's test, line for line, and the test command runs
/// that sample against the packed packages: so the example a user copies is code that compiled and passed today.
/// </summary>
public sealed class DocSnippetTests
{
    [Theory]
    [InlineData("docs/install.md")]
    [InlineData("src/Spillway.Testing/README.md")]
    public void The_Spillway_Testing_example_is_the_sample_test(string document)
    {
        var root = RepoRoot();
        var sample = File.ReadAllLines(Path.Combine(root, "samples", "TestingSample", "ExtractTests.cs")).Select(l => l.Trim()).ToHashSet();
        var snippet = CSharpBlock(File.ReadAllText(Path.Combine(root, document)));
        var lines = snippet.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

        Assert.True(lines.Count >= 6, $"{document} has no C# example");
        Assert.All(lines, line => Assert.True(sample.Contains(line), $"{document}: '{line}' is not in samples/TestingSample/ExtractTests.cs"));
    }

    private static string CSharpBlock(string markdown)
    {
        var start = markdown.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "no ```csharp block");
        start += "```csharp\n".Length;
        return markdown[start..markdown.IndexOf("```", start, StringComparison.Ordinal)];
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Spillway.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Spillway.slnx not found above " + AppContext.BaseDirectory);
    }
}
