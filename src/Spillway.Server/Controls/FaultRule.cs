using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Spillway.Contracts;

namespace Spillway.Server.Controls;

/// <summary>One fault rule of a subscription, validated. Matching and firing are called under the subscription's lock.</summary>
internal sealed class FaultRule
{
    private static readonly Dictionary<string, string> ShortNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["create"] = "/bulk/v1/activities/export/create.json",
        ["enqueue"] = "/bulk/v1/activities/export/*/enqueue.json",
        ["status"] = "/bulk/v1/activities/export/*/status.json",
        ["file"] = "/bulk/v1/activities/export/*/file.json",
        ["cancel"] = "/bulk/v1/activities/export/*/cancel.json",
        ["list"] = "/bulk/v1/activities/export.json",
        ["activities"] = "/rest/v1/activities**",
        ["bulk"] = "/bulk/**",
        ["rest"] = "/rest/**",
    };

    private readonly Regex? _path;
    private readonly Random _random;
    private int? _remaining;
    private int _skip;
    private long _matched;
    private long _fired;

    private FaultRule(string id, FaultRuleBody body, string kind, string? endpoint, Regex? path, MarketoError? error)
    {
        Id = id;
        Body = body;
        Kind = kind;
        Endpoint = endpoint;
        _path = path;
        ApiUser = string.IsNullOrWhiteSpace(body.ApiUser) || body.ApiUser.Trim() == "*" ? null : body.ApiUser.Trim();
        Probability = body.Probability ?? 1;
        _remaining = body.Count;
        _skip = body.Skip ?? 0;
        InitialSkip = _skip;
        _random = new Random(body.Seed ?? 1);
        Error = error;
        Status = body.Status;
        LatencyMs = body.LatencyMs;
        AfterBytes = body.AfterBytes;
        ErrorMsg = body.ErrorMsg;
    }

    public string Id { get; }

    /// <summary>The body the rule was made from (the shared store keeps it, and every node makes the rule from it).</summary>
    public FaultRuleBody Body { get; }

    /// <summary>The count the rule started with (null: open-ended).</summary>
    public int? InitialCount => Body.Count;

    public string Kind { get; }

    public string? Endpoint { get; }

    public string? ApiUser { get; }

    public double Probability { get; }

    public int InitialSkip { get; }

    public MarketoError? Error { get; }

    public int? Status { get; }

    public int? LatencyMs { get; }

    public long? AfterBytes { get; }

    public string? ErrorMsg { get; }

    public bool Matches(string path, string email) =>
        (_path is null || _path.IsMatch(path)) && (ApiUser is null || string.Equals(ApiUser, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>Counts a match and decides whether the rule fires on it.</summary>
    public bool TryFire()
    {
        _matched++;
        if (_remaining is <= 0)
        {
            return false;
        }

        if (_skip > 0)
        {
            _skip--;
            return false;
        }

        if (_remaining is null && Probability < 1 && _random.NextDouble() >= Probability)
        {
            return false;
        }

        if (_remaining is not null)
        {
            _remaining--;
        }

        _fired++;
        return true;
    }

    /// <summary>The node's draw for a rule without a count (the shared store decides the rest): true when it would fire.</summary>
    public bool Chance() => Probability >= 1 || _random.NextDouble() < Probability;

    /// <summary>The rule with the counters the cluster shares.</summary>
    public FaultRuleView View(int? remaining, long matched, long fired) => View() with { Remaining = remaining, Matched = matched, Fired = fired };

    public FaultRuleView View() => new(Id, Kind, Endpoint, ApiUser, Probability, _remaining, InitialSkip, Error?.Code, Error?.Message,
        Status, LatencyMs, AfterBytes, ErrorMsg, _matched, _fired);

    /// <summary>Validates a rule body; the error says what is wrong.</summary>
    public static (FaultRule? Rule, string? Error) Create(FaultRuleBody body, string? id = null)
    {
        var kind = FaultKinds.All.FirstOrDefault(k => string.Equals(k, body.Kind?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (kind is null)
        {
            return (null, $"kind must be one of: {string.Join(", ", FaultKinds.All)}.");
        }

        if (body.Probability is { } p && (!double.IsFinite(p) || p is < 0 or > 1))
        {
            return (null, "probability is between 0 and 1.");
        }

        if (body.Count is < 0 || body.Skip is < 0)
        {
            return (null, "count and skip are not negative.");
        }

        var endpoint = body.Endpoint?.Trim();
        if (string.IsNullOrEmpty(endpoint) || endpoint == "*")
        {
            endpoint = kind switch
            {
                FaultKinds.Cut or FaultKinds.FileGone => "file",
                FaultKinds.FailJob => "enqueue",
                _ => null,
            };
        }

        Regex? path = null;
        if (endpoint is not null)
        {
            var pattern = ShortNames.GetValueOrDefault(endpoint, endpoint);
            if (!pattern.StartsWith('/') || pattern.Length > 500)
            {
                return (null, $"endpoint is a path pattern starting with '/' or one of: {string.Join(", ", ShortNames.Keys)}.");
            }

            path = Glob(pattern);
        }

        MarketoError? error = null;
        switch (kind)
        {
            case FaultKinds.Error:
                error = ErrorFor(body.Code?.Trim(), body.Variant?.Trim(), body.Message);
                if (error is null)
                {
                    return (null, "code is one of 601, 602, 603, 604, 606, 607, 608, 611, 615, 1029 (variant queueFull, alreadyQueued or quota), or any code with a message.");
                }

                break;
            case FaultKinds.Http when body.Status is not (>= 400 and <= 599):
                return (null, "status is an HTTP status from 400 to 599.");
            case FaultKinds.Latency when body.LatencyMs is not (>= 0 and <= 600_000):
                return (null, "latencyMs is from 0 to 600000.");
            case FaultKinds.Cut when body.AfterBytes is not >= 0:
                return (null, "afterBytes is 0 or more.");
            case FaultKinds.FailJob when body.ErrorMsg is null || body.ErrorMsg.Length > 2000:
                return (null, "errorMsg is required (at most 2000 characters).");
        }

        id ??= Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        return (new FaultRule(id, body, kind, endpoint, path, error), null);
    }

    /// <summary>Marketo's error of a code; 1029 in its three messages, chosen by <paramref name="variant"/>.</summary>
    public static MarketoError? ErrorFor(string? code, string? variant, string? message)
    {
        if (string.IsNullOrEmpty(code) || code.Length > 10 || !code.All(char.IsAsciiDigit))
        {
            return null;
        }

        if (message is { Length: > 0 and <= 2000 })
        {
            return new MarketoError(code, message);
        }

        return code switch
        {
            "601" => MarketoErrors.AccessTokenInvalid,
            "602" => MarketoErrors.AccessTokenExpired,
            "603" => MarketoErrors.AccessDenied,
            "604" => MarketoErrors.RequestTimeout,
            "606" => MarketoErrors.RateLimitExceeded(100, 20),
            "607" => MarketoErrors.DailyQuotaReached,
            "608" => MarketoErrors.TemporarilyUnavailable,
            "611" => MarketoErrors.SystemError,
            "615" => MarketoErrors.ConcurrentAccessLimit(10),
            "1029" => variant?.ToLowerInvariant() switch
            {
                null or "" or "queuefull" or "queue" => MarketoErrors.TooManyJobsInQueue,
                "alreadyqueued" or "already" => MarketoErrors.JobAlreadyQueued,
                "quota" => MarketoErrors.ExportDailyQuotaExceeded(500),
                _ => null,
            },
            _ => null,
        };
    }

    private static Regex Glob(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '*')
            {
                if (i + 1 < pattern.Length && pattern[i + 1] == '*')
                {
                    regex.Append(".*");
                    i++;
                }
                else
                {
                    regex.Append("[^/]*");
                }
            }
            else
            {
                regex.Append(Regex.Escape(pattern[i].ToString(CultureInfo.InvariantCulture)));
            }
        }

        // Linear in the path whatever the pattern (no backtracking), so no timeout is needed: a timeout fired on a busy
        // machine (the soak saw one) and turned a plain call into 611.
        return new Regex(regex.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking,
            Regex.InfiniteMatchTimeout);
    }
}
