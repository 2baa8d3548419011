using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Storage;

namespace Spillway.Server.BulkExport;

/// <summary>
/// One kind of Marketo bulk extract (activities, leads, program members, custom objects). The engine owns what the
/// kinds share: the six endpoints, the job lifecycle, one queue, one set of processing slots and one daily export quota
/// per subscription across every kind, the worker, and the file's publication and download. A kind brings its routes,
/// its permission, the validation of its create body, and the rows and columns of its file.
/// </summary>
/// <remarks>Register a kind as a singleton <see cref="IExtractKind"/>; <see cref="ExportEndpoints.MapBulkExtracts"/> maps each one.</remarks>
public interface IExtractKind
{
    /// <summary>The name stored with the kind's jobs, e.g. <c>activities</c>. Never changes once jobs exist.</summary>
    string Name { get; }

    /// <summary>
    /// The path the kind's endpoints hang under, e.g. <c>/bulk/v1/activities/export</c>: <c>create.json</c> and
    /// <c>{exportId}/enqueue.json</c>, <c>status.json</c>, <c>file.json</c>, <c>cancel.json</c> under it; the job list is
    /// this path plus <c>.json</c>.
    /// </summary>
    string RoutePrefix { get; }

    /// <summary>The permission every endpoint of the kind requires (its Read-Write sibling grants it too); 603 without it.</summary>
    string Permission { get; }

    /// <summary>The nouns Marketo's OpenAPI names of the kind's operations are made of.</summary>
    ExtractOpenApiNames OpenApi { get; }

    /// <summary>
    /// Validates a create body (any JSON value: the kind says when it is not an object). Accepted: the job's format and
    /// the spec its file will be written from, stored with the job as JSON. Rejected: the error the create call answers.
    /// </summary>
    ValueTask<CreateOutcome> ParseCreateAsync(JsonElement body, ApiCaller caller, CancellationToken ct);

    /// <summary>
    /// Writes the job's whole file, header first, to <paramref name="output"/> (which it neither closes nor flushes to
    /// disk), counting rows and bytes and hashing them in the same pass. The engine publishes the file afterwards.
    /// </summary>
    Task<ExportFileSummary> WriteFileAsync(ExportJobRecord job, Stream output, CancellationToken ct);
}

/// <summary>
/// The nouns of a kind's OpenAPI names, as Marketo's own document spells them: ("Activities", "Activity") gives
/// <c>createExportActivitiesUsingPOST</c>, "Create Export Activity Job" and the tag "Bulk Export Activities".
/// </summary>
public sealed record ExtractOpenApiNames(string Plural, string Singular)
{
    public string Tag => $"Bulk Export {Plural}";
}

/// <summary>What a kind made of a create body: the job's format and spec, or the error the create call answers.</summary>
public sealed class CreateOutcome
{
    private CreateOutcome(ExportFormat format, string? specJson, MarketoError? error) => (Format, SpecJson, Error) = (format, specJson, error);

    [MemberNotNullWhen(true, nameof(SpecJson))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsAccepted => Error is null;

    public ExportFormat Format { get; }

    public string? SpecJson { get; }

    public MarketoError? Error { get; }

    public static CreateOutcome Accepted(ExportFormat format, string specJson) => new(format, specJson ?? throw new ArgumentNullException(nameof(specJson)), null);

    public static CreateOutcome Rejected(MarketoError error) => new(default, null, error ?? throw new ArgumentNullException(nameof(error)));
}

/// <summary>The registered extract kinds, by the name their jobs carry.</summary>
public sealed class ExtractKinds
{
    private readonly FrozenDictionary<string, IExtractKind> _byName;

    public ExtractKinds(IEnumerable<IExtractKind> kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        All = [.. kinds];
        var byName = new Dictionary<string, IExtractKind>(StringComparer.Ordinal);
        foreach (var kind in All)
        {
            if (!byName.TryAdd(kind.Name, kind))
            {
                throw new InvalidOperationException($"Two extract kinds are named '{kind.Name}'.");
            }
        }

        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IReadOnlyList<IExtractKind> All { get; }

    /// <summary>The kind of a stored job. A job whose kind is not registered here cannot be written (its run fails).</summary>
    public IExtractKind Get(string name) =>
        _byName.TryGetValue(name, out var kind) ? kind : throw new InvalidOperationException($"No extract kind '{name}' is registered on this server.");
}

/// <summary>The bytes rules every kind's file shares.</summary>
public static class ExportFileRules
{
    /// <summary>The SSV delimiter: the configured one when it is a single ASCII character, else a space.</summary>
    public static byte SsvDelimiter(SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Worker.SsvDelimiter is { Length: 1 } d && d[0] < 128 ? (byte)d[0] : (byte)' ';
    }
}
