using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Spillway.Cli.Commands;

/// <summary>
/// <c>spillway control ...</c>: steer a running server through its admin API (the controls live in the server's
/// memory, so unlike <c>subscription</c> and <c>user</c> these talk HTTP): reset, clock, progression, manual job
/// moves, fault rules and the request log. Prints the server's JSON answer.
/// </summary>
internal static class ControlCommands
{
    private static readonly Option<string?> Url = new("--url")
    {
        Description = "The server's base address (default: $SPILLWAY_URL, else http://127.0.0.1:5171).",
        Recursive = true,
    };

    // The old name of --url, kept working for existing scripts; deprecated and out of the help.
    private static readonly Option<string?> ServerAlias = new("--server") { Hidden = true, Recursive = true };

    /// <summary>The server address: --url, the deprecated --server, SPILLWAY_URL, the deprecated SPILLWAY_SERVER, then the local default.</summary>
    internal static string ServerUrl(ParseResult r) => ServerUrl(r.GetValue(Url) ?? r.GetValue(ServerAlias));

    /// <summary>The server address from an option's value, else SPILLWAY_URL, the deprecated SPILLWAY_SERVER, then the local default.</summary>
    internal static string ServerUrl(string? option) =>
        option ?? Environment.GetEnvironmentVariable("SPILLWAY_URL") ?? Environment.GetEnvironmentVariable("SPILLWAY_SERVER") ?? "http://127.0.0.1:5171";

    /// <summary>The admin key: the option's value, else SPILLWAY_ADMIN_KEY, else the admin.key file of the data folder (default ./spillway-data); null when none.</summary>
    internal static async Task<string?> AdminKeyAsync(string? option, string? dataFolder, CancellationToken ct)
    {
        var key = option ?? Environment.GetEnvironmentVariable("SPILLWAY_ADMIN_KEY");
        if (string.IsNullOrEmpty(key))
        {
            var file = Path.Combine(dataFolder ?? "spillway-data", "admin.key");
            key = File.Exists(file) ? (await File.ReadAllTextAsync(file, ct)).Trim() : null;
        }

        return string.IsNullOrEmpty(key) ? null : key;
    }

    private static readonly Option<string?> AdminKey = new("--admin-key")
    {
        Description = "The admin key (default: $SPILLWAY_ADMIN_KEY, else the admin.key file of --data or ./spillway-data).",
        Recursive = true,
    };

    private static readonly Option<string?> DataFolder = new("--data")
    {
        Description = "The server's data folder, to read its admin.key.",
        Recursive = true,
    };

    private static readonly Option<bool> Json = new("--json")
    {
        Description = "Print exactly one JSON document on stdout, also for an answer without a body ({\"status\":204}); errors go to stderr.",
        Recursive = true,
    };

    public static Command Create()
    {
        var root = new Command("control", "Steer a running server: reset, clock, progression, jobs, faults, request log.")
        {
            Url, ServerAlias, AdminKey, DataFolder, Json,
            Reset(), Clock(), Progression(), Job(), Fault(), Requests(),
        };
        return root;
    }

    private static Argument<string> Munchkin() => new("munchkin-id") { Description = "The subscription, like 123-ABC-456." };

    private static Command Reset()
    {
        var munchkin = Munchkin();
        var command = new Command("reset", "Remove a subscription's jobs, files, activities, call counters and controls (its API users stay).") { munchkin };
        command.SetAction((r, ct) => SendAsync(r, HttpMethod.Post, $"subscriptions/{r.GetValue(munchkin)}/reset", null, ct));
        return command;
    }

    private static Command Clock()
    {
        var munchkin = Munchkin();
        var advance = new Option<string?>("--advance") { Description = "Move the subscription's clock by a span: 90s, 15m, 2h, 1d (negative allowed)." };
        var set = new Option<DateTimeOffset?>("--set") { Description = "Set the subscription's now (ISO 8601)." };
        var reset = new Option<bool>("--reset") { Description = "Back to the server's clock." };
        var command = new Command("clock", "Show, set or advance a subscription's clock (only that subscription's 'now' moves).")
        {
            munchkin, advance, set, reset,
        };
        command.SetAction(async (r, ct) =>
        {
            var path = $"subscriptions/{r.GetValue(munchkin)}/clock";
            if (r.GetValue(advance) is null && r.GetValue(set) is null && !r.GetValue(reset))
            {
                return await SendAsync(r, HttpMethod.Get, path, null, ct);
            }

            double? seconds = null;
            if (r.GetValue(advance) is { } text)
            {
                if (!TryParseSpan(text, out var span))
                {
                    Console.Error.WriteLine($"Cannot read the span '{text}': use 90s, 15m, 2h, 1d or 2w.");
                    return ExitCodes.Usage;
                }

                seconds = span.TotalSeconds;
            }

            return await SendAsync(r, HttpMethod.Post, path, new JsonObject
            {
                ["now"] = r.GetValue(set)?.ToString("O", CultureInfo.InvariantCulture),
                ["advanceSeconds"] = seconds,
                ["reset"] = r.GetValue(reset),
            }, ct);
        });
        return command;
    }

    private static Command Progression()
    {
        var munchkin = Munchkin();
        var mode = new Argument<string?>("mode") { Description = "immediate, realistic or manual (omit to show).", Arity = ArgumentArity.ZeroOrOne };
        var latency = new Option<double?>("--start-latency") { Description = "Realistic: seconds a Queued job waits before it may start (default 30)." };
        var refresh = new Option<double?>("--status-refresh") { Description = "Realistic: the status refreshes at most this often, in seconds (default 60)." };
        var command = new Command("progression", "Show or set how a subscription's jobs progress.") { munchkin, mode, latency, refresh };
        command.SetAction((r, ct) => r.GetValue(mode) is { } m
            ? SendAsync(r, HttpMethod.Put, $"subscriptions/{r.GetValue(munchkin)}/progression", new JsonObject
            {
                ["mode"] = m,
                ["startLatencySeconds"] = r.GetValue(latency),
                ["statusRefreshSeconds"] = r.GetValue(refresh),
            }, ct)
            : SendAsync(r, HttpMethod.Get, $"subscriptions/{r.GetValue(munchkin)}/progression", null, ct));
        return command;
    }

    private static Command Job()
    {
        Command Move(string verb, string description, bool withMessage)
        {
            var id = new Argument<string>("export-id") { Description = "The job's exportId." };
            var message = new Option<string?>("--error-msg") { Description = "The errorMsg the job fails with." };
            var command = new Command(verb, description) { id };
            if (withMessage)
            {
                command.Options.Add(message);
            }

            command.SetAction((r, ct) => SendAsync(r, HttpMethod.Post, $"jobs/{r.GetValue(id)}/{verb}",
                withMessage ? new JsonObject { ["errorMsg"] = r.GetValue(message) } : null, ct));
            return command;
        }

        return new Command("job", "Move a job by hand (manual progression).")
        {
            Move("start", "Queued → Processing (within the 2-slot limit).", false),
            Move("complete", "Run the export now and complete the job.", false),
            Move("fail", "Fail the job with an errorMsg.", true),
        };
    }

    private static Command Fault()
    {
        var munchkin = Munchkin();
        var kind = new Argument<string>("kind") { Description = "error, http, latency, cut, failJob or fileGone." };
        var endpoint = new Option<string?>("--endpoint") { Description = "A path pattern (* within a segment, ** across) or create, enqueue, status, file, cancel, list, activities." };
        var user = new Option<string?>("--user") { Description = "Only calls of this API user (email); default any." };
        var probability = new Option<double?>("--probability") { Description = "Fire with this probability (0-1); default 1." };
        var count = new Option<int?>("--count") { Description = "Fire on the next N matching calls only (deterministic)." };
        var skip = new Option<int?>("--skip") { Description = "Let the first N matching calls through first." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the probability draws." };
        var code = new Option<string?>("--code") { Description = "error: 601, 602, 606, 607, 611, 615, 1029 ..." };
        var variant = new Option<string?>("--variant") { Description = "error 1029: queueFull, alreadyQueued or quota." };
        var message = new Option<string?>("--message") { Description = "error: a message of your own." };
        var status = new Option<int?>("--status") { Description = "http: the HTTP status (500, 502, 503 ...)." };
        var latencyMs = new Option<int?>("--latency-ms") { Description = "latency: milliseconds added." };
        var afterBytes = new Option<long?>("--after-bytes") { Description = "cut: bytes of the file sent before the connection drops." };
        var errorMsg = new Option<string?>("--error-msg") { Description = "failJob: the errorMsg." };
        var add = new Command("add", "Add a fault rule.")
        {
            munchkin, kind, endpoint, user, probability, count, skip, seed, code, variant, message, status, latencyMs, afterBytes, errorMsg,
        };
        add.SetAction((r, ct) => SendAsync(r, HttpMethod.Post, $"subscriptions/{r.GetValue(munchkin)}/faults", new JsonObject
        {
            ["kind"] = r.GetValue(kind),
            ["endpoint"] = r.GetValue(endpoint),
            ["apiUser"] = r.GetValue(user),
            ["probability"] = r.GetValue(probability),
            ["count"] = r.GetValue(count),
            ["skip"] = r.GetValue(skip),
            ["seed"] = r.GetValue(seed),
            ["code"] = r.GetValue(code),
            ["variant"] = r.GetValue(variant),
            ["message"] = r.GetValue(message),
            ["status"] = r.GetValue(status),
            ["latencyMs"] = r.GetValue(latencyMs),
            ["afterBytes"] = r.GetValue(afterBytes),
            ["errorMsg"] = r.GetValue(errorMsg),
        }, ct));

        var listMunchkin = Munchkin();
        var list = new Command("list", "List a subscription's fault rules, with how often each matched and fired.") { listMunchkin };
        list.SetAction((r, ct) => SendAsync(r, HttpMethod.Get, $"subscriptions/{r.GetValue(listMunchkin)}/faults", null, ct));

        var removeMunchkin = Munchkin();
        var ruleId = new Argument<string>("rule-id") { Description = "The rule's id, or 'all'." };
        var remove = new Command("remove", "Remove a fault rule (or all).") { removeMunchkin, ruleId };
        remove.SetAction((r, ct) => SendAsync(r, HttpMethod.Delete, r.GetValue(ruleId) == "all"
            ? $"subscriptions/{r.GetValue(removeMunchkin)}/faults"
            : $"subscriptions/{r.GetValue(removeMunchkin)}/faults/{Uri.EscapeDataString(r.GetValue(ruleId)!)}", null, ct));

        return new Command("fault", "Inject faults: add, list, remove rules.") { add, list, remove };
    }

    private static Command Requests()
    {
        var munchkin = Munchkin();
        var limit = new Option<int?>("--limit") { Description = "The last N calls (default: all kept, at most 1000)." };
        var clear = new Option<bool>("--clear") { Description = "Empty the log instead." };
        var command = new Command("requests", "Show a subscription's request log (method, path, status, code, time, API user).") { munchkin, limit, clear };
        command.SetAction((r, ct) => r.GetValue(clear)
            ? SendAsync(r, HttpMethod.Delete, $"subscriptions/{r.GetValue(munchkin)}/requests", null, ct)
            : SendAsync(r, HttpMethod.Get, $"subscriptions/{r.GetValue(munchkin)}/requests{(r.GetValue(limit) is { } n ? $"?limit={n}" : "")}", null, ct));
        return command;
    }

    /// <summary>A span in the common duration syntax (90s, 15m, 2h, 1d, 2w); a bare number still means seconds.</summary>
    internal static bool TryParseSpan(string text, out TimeSpan span)
    {
        if (Durations.TryParse(text, out span))
        {
            return true;
        }

        if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds)
            && Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds / 2)
        {
            span = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return false;
    }

    private static async Task<int> SendAsync(ParseResult r, HttpMethod method, string path, JsonObject? body, CancellationToken ct)
    {
        var key = await AdminKeyAsync(r.GetValue(AdminKey), r.GetValue(DataFolder), ct);
        if (key is null)
        {
            Console.Error.WriteLine("No admin key: pass --admin-key, set SPILLWAY_ADMIN_KEY, or point --data at the server's data folder.");
            return 2;
        }

        using var http = new HttpClient { BaseAddress = new Uri(ServerUrl(r).TrimEnd('/') + "/_spillway/admin/") };
        http.DefaultRequestHeaders.Add("X-Spillway-Admin-Key", key);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            foreach (var name in body.Where(p => p.Value is null).Select(p => p.Key).ToList())
            {
                body.Remove(name);
            }

            request.Content = JsonContent.Create(body);
        }
        else if (method == HttpMethod.Post || method == HttpMethod.Put)
        {
            request.Content = JsonContent.Create(new JsonObject());
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            Console.Error.WriteLine($"The server at {ServerUrl(r)} does not answer ({ex.Message}). Start it, or check --url / SPILLWAY_URL.");
            return ExitCodes.Environment;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (text.Length > 0)
            {
                try
                {
                    text = JsonNode.Parse(text)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
                }
                catch (JsonException)
                {
                }
            }

            if (text.Length == 0 && response.IsSuccessStatusCode && r.GetValue(Json))
            {
                text = $"{{\"status\":{(int)response.StatusCode}}}";
            }

            (response.IsSuccessStatusCode ? Console.Out : Console.Error).WriteLine(text.Length > 0 ? text : $"{(int)response.StatusCode} {response.ReasonPhrase}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
    }
}
