using System.Text.Json.Serialization;

namespace Spillway.Contracts;

/// <summary>
/// An activity export job as the bulk endpoints return it (Marketo's <c>ExportResponse</c>).
/// Members that do not apply to the job's status are absent, never null on the wire.
/// </summary>
public sealed record ExportJob
{
    /// <summary>The job id, a lowercase hyphenated UUID.</summary>
    [JsonPropertyOrder(0)] public string ExportId { get; init; } = "";

    /// <summary>The file format: <c>CSV</c>, <c>TSV</c> or <c>SSV</c>.</summary>
    [JsonPropertyOrder(1)] public string Format { get; init; } = ExportFileFormats.Csv;

    /// <summary>The status; see <see cref="ExportJobStatuses"/>.</summary>
    [JsonPropertyOrder(2)] public string Status { get; init; } = "";

    /// <summary>When the job was created.</summary>
    [JsonPropertyOrder(3)] public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job was enqueued.</summary>
    [JsonPropertyOrder(4)] public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>When processing started.</summary>
    [JsonPropertyOrder(5)] public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job completed or failed.</summary>
    [JsonPropertyOrder(6)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Data rows in the file (the header is not counted); only when Completed.</summary>
    [JsonPropertyOrder(7)] public long? NumberOfRecords { get; init; }

    /// <summary>The exact byte length of the file; only when Completed.</summary>
    [JsonPropertyOrder(8)] public long? FileSize { get; init; }

    /// <summary><c>sha256:</c> and the lowercase hex SHA-256 of the file; only when Completed.</summary>
    [JsonPropertyOrder(9)] public string? FileChecksum { get; init; }

    /// <summary>Why the job failed; only when Failed.</summary>
    [JsonPropertyOrder(10)] public string? ErrorMsg { get; init; }
}

/// <summary>The status names as they appear on the wire.</summary>
public static class ExportJobStatuses
{
    /// <summary>Created, not yet in the queue.</summary>
    public const string Created = "Created";
    /// <summary>Waiting for a processing slot.</summary>
    public const string Queued = "Queued";
    /// <summary>Being written.</summary>
    public const string Processing = "Processing";
    /// <summary>The file is ready.</summary>
    public const string Completed = "Completed";
    /// <summary>The job failed; see <see cref="ExportJob.ErrorMsg"/>.</summary>
    public const string Failed = "Failed";
    /// <summary>The job was cancelled (Marketo's spelling on the wire).</summary>
    public const string Cancelled = "Cancelled";

    /// <summary>Every status, in lifecycle order.</summary>
    public static IReadOnlyList<string> All { get; } = Array.AsReadOnly([Created, Queued, Processing, Completed, Failed, Cancelled]);

    /// <summary>
    /// Parses a status name leniently, as a status filter does: any case, and both <c>cancelled</c> and <c>canceled</c>.
    /// No trimming.
    /// </summary>
    /// <param name="text">The name.</param>
    /// <param name="status">The wire name, e.g. <c>Cancelled</c> for <c>CANCELED</c>.</param>
    /// <returns>Whether the text names a status.</returns>
    public static bool TryParse(string? text, out string status)
    {
        // Lower-cased the invariant way (not compared ignoring case), so every spelling a status filter took still parses.
        status = text?.ToLowerInvariant() switch
        {
            "created" => Created,
            "queued" => Queued,
            "processing" => Processing,
            "completed" => Completed,
            "failed" => Failed,
            "cancelled" or "canceled" => Cancelled,
            _ => "",
        };
        return status.Length > 0;
    }
}
