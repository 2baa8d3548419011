using System.Text.RegularExpressions;

namespace Spillway.Server.Tests.Architecture;

/// <summary>
/// Keeps the server's feature folders a layered graph with no loops (docs/architecture.md): each folder may use only
/// the folders listed for it. Read from the sources, so a new <c>using</c> or a namespace-qualified reference that
/// crosses a layer fails here with the file that made it.
/// </summary>
public sealed partial class FolderDependencyTests
{
    /// <summary>Which folders each folder may use. The composition root (files at the project's top) may use all.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Hosting"] = [],
        ["Storage"] = ["Hosting"],
        ["Limits"] = ["Storage", "Hosting"],
        ["Identity"] = ["Limits", "Storage", "Hosting"],
        ["BulkExport"] = ["Identity", "Limits", "Storage", "Hosting"],
        ["Activities"] = ["BulkExport", "Identity", "Limits", "Storage", "Hosting"],
        ["Leads"] = ["Activities", "BulkExport", "Identity", "Limits", "Storage", "Hosting"],
        ["Admin"] = ["Leads", "Activities", "BulkExport", "Identity", "Limits", "Storage", "Hosting"],
        ["Controls"] = ["Admin", "Leads", "Activities", "BulkExport", "Identity", "Limits", "Storage", "Hosting"],
        ["Console"] = ["Controls", "Admin", "Leads", "Activities", "BulkExport", "Identity", "Limits", "Storage", "Hosting"],
    };

    [Fact]
    public void Every_folder_of_the_server_is_in_the_layer_table()
    {
        var folders = Directory.GetDirectories(ServerRoot())
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj" or "Properties"))
            .Where(name => Directory.EnumerateFiles(Path.Combine(ServerRoot(), name!), "*.cs", SearchOption.AllDirectories).Any())
            .ToList();

        Assert.All(folders, f => Assert.True(Allowed.ContainsKey(f!), $"{f} is not in the layer table"));
    }

    [Fact]
    public void No_folder_uses_a_folder_above_it()
    {
        var violations = new List<string>();
        foreach (var (folder, allowed) in Allowed)
        {
            var path = Path.Combine(ServerRoot(), folder);
            if (!Directory.Exists(path))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(path, "*.cs", SearchOption.AllDirectories))
            {
                foreach (var used in UsedFolders(File.ReadAllLines(file)))
                {
                    if (used != folder && !allowed.Contains(used))
                    {
                        violations.Add($"{Path.GetRelativePath(ServerRoot(), file)} uses {used}");
                    }
                }
            }
        }

        Assert.True(violations.Count == 0, "Folder rules broken:\n" + string.Join('\n', violations.Distinct()));
    }

    [Fact]
    public void The_reader_finds_usings_qualified_names_and_crefs_but_not_comments()
    {
        string[] source =
        [
            "using Spillway.Server.Storage;",
            "using static Spillway.Server.Hosting.MarketoHttp;",
            "// Controls.SubscriptionControls is mentioned in a comment only",
            "/// <summary>See <see cref=\"BulkExport.ExportRunner\"/> and Admin.Nothing in prose.</summary>",
            "var x = Limits.EffectiveLimits.Resolve(a, b);",
        ];

        Assert.Equal(["BulkExport", "Hosting", "Limits", "Storage"], UsedFolders(source).Order().ToArray());
    }

    internal static IEnumerable<string> UsedFolders(IEnumerable<string> lines)
    {
        var names = string.Join('|', Allowed.Keys);
        var full = new Regex($@"Spillway\.Server\.({names})\b");
        var qualified = new Regex($@"(?<![\w.])({names})\.[A-Z]\w*");
        var found = new HashSet<string>();
        foreach (var raw in lines)
        {
            var line = raw.TrimStart();
            string code;
            if (line.StartsWith("///", StringComparison.Ordinal))
            {
                // Documentation counts only where the compiler binds it: cref attributes.
                code = string.Join(' ', CrefPattern().Matches(line).Select(m => m.Groups[1].Value));
            }
            else if (line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }
            else
            {
                var comment = line.IndexOf("//", StringComparison.Ordinal);
                code = comment >= 0 && !line[..comment].Contains('"') ? line[..comment] : line;
            }

            foreach (var match in full.Matches(code).Concat(qualified.Matches(code)))
            {
                found.Add(match.Groups[1].Value);
            }
        }

        return found;
    }

    private static string ServerRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Spillway.slnx")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Spillway.slnx)."),
            "src", "Spillway.Server");
    }

    [GeneratedRegex("cref=\"([^\"]+)\"")]
    private static partial Regex CrefPattern();
}
