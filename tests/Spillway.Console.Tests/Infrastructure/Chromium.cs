namespace Spillway.Console.Tests.Infrastructure;

/// <summary>
/// The browser under test is Debian's <c>chromium</c>: Playwright's own browser download needs the internet, which a
/// test run must not. scripts/test.sh installs it when missing and exports its path in <c>SPILLWAY_TEST_CHROMIUM</c>;
/// without a browser the console tests fail (they never skip or pass silently).
/// </summary>
public static class Chromium
{
    public const string Variable = "SPILLWAY_TEST_CHROMIUM";

    private static readonly string[] KnownPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    public static string ExecutablePath
    {
        get
        {
            if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path)
            {
                return File.Exists(path)
                    ? path
                    : throw new InvalidOperationException($"{Variable} names {path}, which does not exist.");
            }

            return KnownPaths.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException(
                    $"No chromium found: run the tests with scripts/test.sh, which installs Debian's chromium, or set {Variable} to its path.");
        }
    }
}
