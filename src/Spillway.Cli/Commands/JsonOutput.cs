using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>--json</c>: a command that prints data prints exactly one JSON document on stdout, so a script can pipe it to jq;
/// everything else (progress, notes, errors) goes to stderr. Without it the same data is a table for people.
/// </summary>
internal static class JsonOutput
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the result as one JSON document on stdout (messages go to stderr).",
    };

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="document"/> as the command's one JSON document.</summary>
    public static void Write(JsonNode? document) => Console.Out.WriteLine(document?.ToJsonString(Indented) ?? "null");

    /// <summary>A console on the process's current stdout (read at each call, so a redirected Console.Out is honoured).</summary>
    public static IAnsiConsole Out() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    /// <summary>A console on the process's current stderr, for messages that must stay out of the data.</summary>
    public static IAnsiConsole Error() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static JsonArray Array(IEnumerable<string> items) => new([.. items.Select(i => JsonValue.Create(i))]);
}
