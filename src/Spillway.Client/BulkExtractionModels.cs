using System.Text.Json.Serialization;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>The bulk extract a <see cref="BulkExtractor"/> runs per window.</summary>
public enum BulkExtractTarget
{
    /// <summary>Bulk Activity Extract: windows over the activity date.</summary>
    Activities = 0,

    /// <summary>Bulk Lead Extract: windows over <see cref="BulkExtractionOptions.LeadWindowField"/>.</summary>
    Leads = 1,
}

/// <summary>The lead date a lead extraction's windows filter on.</summary>
public enum LeadWindowField
{
    /// <summary>When the lead was created.</summary>
    CreatedAt = 0,

    /// <summary>When a field value of the lead last changed.</summary>
    UpdatedAt = 1,
}

/// <summary>What <see cref="BulkExtractor"/> exports and where it puts the files.</summary>
public sealed class BulkExtractionOptions
{
    /// <summary>The folder for the window files (created if missing).</summary>
    public string OutputDirectory { get; set; } = ".";

    /// <summary>The state file; <c>spillway-export-state.json</c> in <see cref="OutputDirectory"/> by default.</summary>
    public string? StateFilePath { get; set; }

    /// <summary>The file format.</summary>
    public ExportFileFormat Format { get; set; } = ExportFileFormat.Csv;

    /// <summary>What each window's job exports: activities (the default) or leads.</summary>
    public BulkExtractTarget Target { get; set; } = BulkExtractTarget.Activities;

    /// <summary>For a lead extraction: the lead date each window filters on (createdAt by default).</summary>
    public LeadWindowField LeadWindowField { get; set; } = LeadWindowField.CreatedAt;

    /// <summary>The columns, in order; null for the 8 default columns of an activity extraction (a lead extraction needs them).</summary>
    public IReadOnlyList<string>? Fields { get; set; }

    /// <summary>Replacement header text by field name.</summary>
    public IReadOnlyDictionary<string, string>? ColumnHeaderNames { get; set; }

    /// <summary>Only these activity types; null for all.</summary>
    public IReadOnlyList<int>? ActivityTypeIds { get; set; }

    /// <summary>Only these primary attribute value ids (needs <see cref="ActivityTypeIds"/>).</summary>
    public IReadOnlyList<long>? PrimaryAttributeValueIds { get; set; }

    /// <summary>Only these primary attribute values (needs <see cref="ActivityTypeIds"/>).</summary>
    public IReadOnlyList<string>? PrimaryAttributeValues { get; set; }

    /// <summary>
    /// At most this many windows have a job at once (Marketo's queue holds 10, shared by every integration of the
    /// subscription; a full queue is waited out).
    /// </summary>
    public int MaxJobsInFlight { get; set; } = 10;

    private TimeSpan? _pollInterval;

    /// <summary>
    /// The pause between two status polls of a job, for every server. Left unset, the pause adapts to the server (see
    /// <see cref="PollIntervalFor"/>); read while unset, it is <see cref="RemotePollInterval"/>.
    /// </summary>
    public TimeSpan PollInterval
    {
        get => _pollInterval ?? RemotePollInterval;
        set => _pollInterval = value;
    }

    /// <summary>
    /// The pause between polls of a server on a loopback address while <see cref="PollInterval"/> is unset: a local
    /// Spillway finishes a job in moments, so waiting Marketo's cadence there only slows tests down.
    /// </summary>
    public TimeSpan LoopbackPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The pause between polls of any other server while <see cref="PollInterval"/> is unset: Marketo's cadence (it
    /// refreshes a job's status at most once a minute, and every poll counts against the daily call limit).
    /// </summary>
    public TimeSpan RemotePollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The pause the extractor waits between two polls of a job on <paramref name="baseUrl"/>: <see cref="PollInterval"/>
    /// when it was set, else <see cref="LoopbackPollInterval"/> for a loopback host (localhost, 127.0.0.0/8, ::1) and
    /// <see cref="RemotePollInterval"/> for any other.
    /// </summary>
    /// <param name="baseUrl">The server's base URL.</param>
    /// <returns>The pause between two status polls.</returns>
    public TimeSpan PollIntervalFor(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return _pollInterval ?? (baseUrl.IsLoopback ? LoopbackPollInterval : RemotePollInterval);
    }

    /// <summary>How often a window's job is created again after it Failed, was Cancelled, or its file expired.</summary>
    public int MaxJobAttempts { get; set; } = 3;

    internal string EffectiveStateFilePath => StateFilePath ?? Path.Combine(OutputDirectory, "spillway-export-state.json");
}

/// <summary>Where a window stands.</summary>
public enum ExtractionPhase
{
    /// <summary>Finished in an earlier run; its verified file is reused.</summary>
    AlreadyDone,

    /// <summary>The job was created.</summary>
    Created,

    /// <summary>The job is in the queue.</summary>
    Queued,

    /// <summary>The job is being written.</summary>
    Processing,

    /// <summary>The file is being downloaded.</summary>
    Downloading,

    /// <summary>The file is downloaded and verified.</summary>
    Completed,

    /// <summary>The job failed, was cancelled or its file expired; a new job is created.</summary>
    Retrying,

    /// <summary>The window was not started because the daily export quota is used up.</summary>
    StoppedByQuota,

    /// <summary>The window failed.</summary>
    Failed,
}

/// <summary>A progress report of <see cref="BulkExtractor"/>: what changed, and the totals.</summary>
public sealed record ExtractionProgress
{
    /// <summary>The window this report is about.</summary>
    public required ExtractionWindow Window { get; init; }

    /// <summary>Its phase.</summary>
    public required ExtractionPhase Phase { get; init; }

    /// <summary>Its export job, once created.</summary>
    public string? ExportId { get; init; }

    /// <summary>Bytes of this window's file on disk.</summary>
    public long WindowBytes { get; init; }

    /// <summary>Extra detail, such as a job's <c>errorMsg</c>.</summary>
    public string? Message { get; init; }

    /// <summary>Windows in the plan.</summary>
    public int TotalWindows { get; init; }

    /// <summary>Windows finished (this run or earlier).</summary>
    public int CompletedWindows { get; init; }

    /// <summary>Windows with a job in progress.</summary>
    public int WindowsInFlight { get; init; }

    /// <summary>Bytes on disk over all windows.</summary>
    public long BytesDownloaded { get; init; }

    /// <summary>Rows in the finished windows (the jobs' <c>numberOfRecords</c>).</summary>
    public long RecordsExported { get; init; }
}

/// <summary>A finished window: its job and its verified file.</summary>
/// <param name="Window">The window.</param>
/// <param name="ExportId">The job that produced the file.</param>
/// <param name="FilePath">The verified file.</param>
/// <param name="FileSize">Its size, as the job reported and the download verified.</param>
/// <param name="FileChecksum">Its <c>sha256:</c> checksum, as the job reported and the download verified.</param>
/// <param name="NumberOfRecords">Its data rows, as the job reported.</param>
/// <param name="FromEarlierRun">Whether an earlier run had already finished it.</param>
public sealed record ExtractedWindow(ExtractionWindow Window, string ExportId, string FilePath, long FileSize, string FileChecksum,
    long NumberOfRecords, bool FromEarlierRun);

/// <summary>The outcome of <see cref="BulkExtractor.RunAsync"/>.</summary>
/// <param name="Windows">The finished windows, in plan order.</param>
/// <param name="Format">The files' format.</param>
/// <param name="ColumnHeaderNames">The header renames the files were made with.</param>
public sealed record ExtractionResult(IReadOnlyList<ExtractedWindow> Windows, ExportFileFormat Format,
    IReadOnlyDictionary<string, string>? ColumnHeaderNames)
{
    /// <summary>Rows over all windows, as the jobs reported them.</summary>
    public long TotalRecords => Windows.Sum(w => w.NumberOfRecords);

    /// <summary>Bytes over all files.</summary>
    public long TotalBytes => Windows.Sum(w => w.FileSize);

    /// <summary>Reader options that match the files.</summary>
    /// <returns>The options.</returns>
    public ExportFileReaderOptions ReaderOptions() => new() { Format = Format, ColumnHeaderNames = ColumnHeaderNames };
}

/// <summary>What <see cref="BulkExtractor.MergeAsync"/> wrote.</summary>
/// <param name="RowsWritten">Data rows written.</param>
/// <param name="DuplicatesSkipped">Rows left out because their marketoGUID was already written.</param>
public sealed record MergeSummary(long RowsWritten, long DuplicatesSkipped);

/// <summary>The state file of an extraction.</summary>
internal sealed class ExtractionState
{
    public int Version { get; set; } = 1;

    public string Fingerprint { get; set; } = "";

    public List<WindowState> Windows { get; set; } = [];
}

/// <summary>One window in the state file.</summary>
internal sealed class WindowState
{
    public string Key { get; set; } = "";

    public DateTimeOffset StartAt { get; set; }

    public DateTimeOffset EndAt { get; set; }

    public string? ExportId { get; set; }

    public bool Completed { get; set; }

    public string? File { get; set; }

    public long? FileSize { get; set; }

    public string? FileChecksum { get; set; }

    public long? NumberOfRecords { get; set; }

    [JsonIgnore]
    public long BytesOnDisk;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExtractionState))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
