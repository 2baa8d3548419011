using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Spillway.Server.Admin;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway snapshot save|restore</c>: a running server's whole data folder as one <c>.tar.gz</c> (through the
/// admin API, consistent while it serves), and back into a new folder a server then starts on.
/// </summary>
internal static class SnapshotCommand
{
    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "The server (default: $SPILLWAY_URL, else http://127.0.0.1:5171)." };
        var adminKey = new Option<string?>("--admin-key")
        {
            Description = "The admin key (default: $SPILLWAY_ADMIN_KEY, else the admin.key file of --data or ./spillway-data).",
        };
        var data = new Option<string?>("--data") { Description = "save: where to read admin.key; restore: the new data folder (must not exist or be empty)." };
        var saveFile = new Argument<string>("file") { Description = "The archive to write (.tar.gz); - writes to stdout." };
        var save = new Command("save", "Save a running server's store and export files as one .tar.gz (consistent while it runs).")
        {
            saveFile, url, adminKey, data, JsonOutput.Json,
        };
        save.SetAction(async (r, ct) => await SaveAsync(r.GetValue(saveFile)!, r.GetValue(url), r.GetValue(adminKey), r.GetValue(data), r.GetValue(JsonOutput.Json), ct));

        var restoreFile = new Argument<string>("file") { Description = "An archive written by snapshot save." };
        var restoreData = new Option<string>("--data") { Description = "The data folder to create (must not exist or be empty).", Required = true };
        var restore = new Command("restore", "Restore a snapshot into a new data folder; then run spillway serve --data on it.") { restoreFile, restoreData, JsonOutput.Json };
        restore.SetAction(async (r, ct) => await RestoreAsync(r.GetValue(restoreFile)!, r.GetValue(restoreData)!, r.GetValue(JsonOutput.Json), ct));

        return new Command("snapshot", "Save a running server's data folder, or restore one.") { save, restore };
    }

    private static async Task<int> SaveAsync(string file, string? url, string? key, string? data, bool json, CancellationToken ct)
    {
        if (json && file == "-")
        {
            await Console.Error.WriteLineAsync("--json and - both want stdout: write the archive to a file, or leave out --json.");
            return 2;
        }

        key = await ControlCommands.AdminKeyAsync(key, data, ct);
        if (key is null)
        {
            await Console.Error.WriteLineAsync("No admin key: pass --admin-key, set SPILLWAY_ADMIN_KEY, or point --data at the server's data folder.");
            return 2;
        }

        var server = ControlCommands.ServerUrl(url).TrimEnd('/');
        if (!Uri.TryCreate(server + "/", UriKind.Absolute, out var baseAddress))
        {
            await Console.Error.WriteLineAsync($"--url {server} is not an absolute URL.");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "_spillway/admin/snapshot");
        request.Headers.Add("X-Spillway-Admin-Key", key);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/gzip"));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"Cannot reach {server}: {e.Message} Is the server running (spillway serve)?");
            return 4;
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(ct);
                await Console.Error.WriteLineAsync($"The server refused the snapshot ({(int)response.StatusCode}): {OneLine(body)}");
                return response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? 2 : 1;
            }

            var toStdout = file == "-";
            var temporary = toStdout ? null : file + ".partial";
            await using (var output = toStdout ? Console.OpenStandardOutput() : File.Create(temporary!))
            {
                await response.Content.CopyToAsync(output, ct);
            }

            if (!toStdout)
            {
                File.Move(temporary!, file, overwrite: true);
                await Console.Error.WriteLineAsync($"Saved {new FileInfo(file).Length:N0} bytes to {file}.");
                if (json)
                {
                    JsonOutput.Write(new JsonObject { ["file"] = Path.GetFullPath(file), ["bytes"] = new FileInfo(file).Length });
                }
            }
        }

        return 0;
    }

    private static async Task<int> RestoreAsync(string file, string data, bool json, CancellationToken ct)
    {
        if (!File.Exists(file))
        {
            await Console.Error.WriteLineAsync($"No snapshot file {file}.");
            return 2;
        }

        try
        {
            await using var input = File.OpenRead(file);
            await SnapshotArchive.RestoreAsync(input, data, ct);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }

        await Console.Error.WriteLineAsync($"Restored {file} into {Path.GetFullPath(data)}; start it with: spillway serve --data {data}");
        if (json)
        {
            JsonOutput.Write(new JsonObject { ["file"] = Path.GetFullPath(file), ["data"] = Path.GetFullPath(data) });
        }
        return 0;
    }

    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 300 ? line : line[..300] + "...";
    }
}
