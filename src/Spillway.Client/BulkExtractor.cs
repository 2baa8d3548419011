using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>
/// Runs a plan of <see cref="ExtractionWindow"/>s: creates and enqueues a job per window with up to
/// <see cref="BulkExtractionOptions.MaxJobsInFlight"/> in flight (waiting out a full queue), polls each job,
/// downloads and verifies each file, and records finished windows in a state file so that a rerun after the
/// process died skips them (and reuses jobs still in flight).
/// </summary>
public sealed class BulkExtractor
{
    private const long ProgressStep = 1 << 20;

    private readonly MarketoBulkClient _client;
    private readonly BulkExtractionOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _stateLock = new(1, 1);
    private ExtractionState _state = new();
    private int _totalWindows;
    private int _completedWindows;
    private int _inFlight;
    private ExportQuotaExceededException? _quotaStop;

    /// <summary>Creates the extractor.</summary>
    /// <param name="client">The client (its pacing covers every call of the run).</param>
    /// <param name="options">What to export and where.</param>
    /// <param name="timeProvider">The clock for the poll interval; the system clock by default.</param>
    public BulkExtractor(MarketoBulkClient client, BulkExtractionOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxJobsInFlight < 1 || options.MaxJobAttempts < 1 || options.PollInterval < TimeSpan.Zero
            || options.LoopbackPollInterval < TimeSpan.Zero || options.RemotePollInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("MaxJobsInFlight and MaxJobAttempts must be positive, the poll intervals not negative.", nameof(options));
        }

        if (options.Target == BulkExtractTarget.Leads && options.Fields is not { Count: > 0 })
        {
            throw new ArgumentException("A lead extraction needs Fields: the lead export has no default columns.", nameof(options));
        }

        _client = client;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Runs the plan.</summary>
    /// <param name="plan">The windows, from <see cref="ExtractionPlanner.Plan"/>.</param>
    /// <param name="progress">Receives a report whenever a window changes phase or a download makes progress.</param>
    /// <param name="cancellationToken">Stops the run; jobs in flight are left running and a rerun picks them up.</param>
    /// <returns>The finished windows and their verified files.</returns>
    /// <exception cref="ExportQuotaExceededException">
    /// The daily export quota ran out. Windows with a job already queued were finished first and are in the state
    /// file; a rerun after <see cref="ExportQuotaExceededException.ResetsAt"/> continues with the rest.
    /// </exception>
    /// <exception cref="InvalidOperationException">The state file belongs to an extraction with other settings.</exception>
    public async Task<ExtractionResult> RunAsync(IReadOnlyList<ExtractionWindow> plan, IProgress<ExtractionProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Directory.CreateDirectory(_options.OutputDirectory);
        _state = await LoadStateAsync(cancellationToken).ConfigureAwait(false);
        _totalWindows = plan.Count;
        _completedWindows = 0;
        _inFlight = 0;
        _quotaStop = null;

        var entries = plan.Select(EntryFor).ToList();
        var results = new ExtractedWindow?[plan.Count];
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(_options.MaxJobsInFlight, _options.MaxJobsInFlight);
        var tasks = new List<Task>();
        try
        {
            for (var i = 0; i < plan.Count; i++)
            {
                var window = plan[i];
                var entry = entries[i];
                if (IsDone(entry))
                {
                    Interlocked.Increment(ref _completedWindows);
                    entry.BytesOnDisk = entry.FileSize!.Value;
                    results[i] = ToResult(window, entry, fromEarlierRun: true);
                    Report(progress, window, ExtractionPhase.AlreadyDone, entry);
                    continue;
                }

                // Windows start in plan order, each as soon as a slot is free.
                await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                var index = i;
                Interlocked.Increment(ref _inFlight);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        results[index] = await RunWindowAsync(window, entry, progress, failed.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        Report(progress, window, ExtractionPhase.Failed, entry, ex.Message);
                        await failed.CancelAsync().ConfigureAwait(false); // a fatal error would repeat for every window
                        throw;
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _inFlight);
                        slots.Release();
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested)
        {
            // Stop starting windows; the ones running finish or stop below.
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (tasks.Any(t => t.IsFaulted))
        {
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException);
            if (first is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            }

            throw;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (_quotaStop is not null)
        {
            throw _quotaStop;
        }

        return new ExtractionResult(results.Select(r => r!).ToList(), _options.Format, _options.ColumnHeaderNames);
    }

    /// <summary>
    /// Reads the rows of every window file in plan order as typed records, leaving out a row whose marketoGUID was
    /// already read when <paramref name="deduplicate"/> is set (memory grows with the number of distinct GUIDs).
    /// </summary>
    /// <param name="result">The result of <see cref="RunAsync"/>.</param>
    /// <param name="deduplicate">Leave out repeated marketoGUIDs.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records.</returns>
    public static async IAsyncEnumerable<ExportedActivity> ReadRecordsAsync(ExtractionResult result, bool deduplicate = true,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var seen = deduplicate ? new HashSet<string>(StringComparer.Ordinal) : null;
        foreach (var window in result.Windows)
        {
            await using var reader = ExportFileReader.OpenFile(window.FilePath, result.ReaderOptions());
            await foreach (var record in reader.ReadRecordsAsync(cancellationToken).ConfigureAwait(false))
            {
                if (seen is null || seen.Add(record.MarketoGuid))
                {
                    yield return record;
                }
            }
        }
    }

    /// <summary>
    /// Concatenates the window files into one file in the same format, with the header once, leaving out a row whose
    /// marketoGUID was already written when <paramref name="deduplicate"/> is set. The output is written to a
    /// temporary name and renamed into place.
    /// </summary>
    /// <param name="result">The result of <see cref="RunAsync"/>.</param>
    /// <param name="outputPath">The merged file.</param>
    /// <param name="deduplicate">Leave out repeated marketoGUIDs (needs the marketoGUID column).</param>
    /// <param name="cancellationToken">Cancels the merge.</param>
    /// <returns>Rows written and duplicates left out.</returns>
    public static async Task<MergeSummary> MergeAsync(ExtractionResult result, string outputPath, bool deduplicate = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        var temp = outputPath + ".part";
        long written = 0, skipped = 0;
        var seen = deduplicate ? new HashSet<string>(StringComparer.Ordinal) : null;
        IReadOnlyList<string>? header = null;
        await using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        await using (var writer = new MergedFileWriter(output, ExportFileFormats.Delimiter(result.Format)))
        {
            foreach (var window in result.Windows)
            {
                await using var reader = ExportFileReader.OpenFile(window.FilePath, result.ReaderOptions());
                var fileHeader = await reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
                if (header is null)
                {
                    header = fileHeader;
                    await writer.WriteRowAsync(header, cancellationToken).ConfigureAwait(false);
                }
                else if (!header.SequenceEqual(fileHeader, StringComparer.Ordinal))
                {
                    throw new InvalidDataException($"{window.FilePath} has another header than the first file.");
                }

                var guidColumn = -1;
                for (var i = 0; i < reader.Fields!.Count; i++)
                {
                    if (string.Equals(reader.Fields[i], ActivityExportFields.MarketoGuid, StringComparison.OrdinalIgnoreCase))
                    {
                        guidColumn = i;
                    }
                }

                if (seen is not null && guidColumn < 0)
                {
                    throw new InvalidOperationException("Deduplication needs the marketoGUID column.");
                }

                while (await reader.ReadRowAsync(cancellationToken).ConfigureAwait(false) is { } row)
                {
                    if (seen is not null && !seen.Add(row[guidColumn] ?? ""))
                    {
                        skipped++;
                        continue;
                    }

                    await writer.WriteRowAsync(row, cancellationToken).ConfigureAwait(false);
                    written++;
                }
            }
        }

        File.Move(temp, outputPath, overwrite: true);
        return new MergeSummary(written, skipped);
    }

    private async Task<ExtractedWindow?> RunWindowAsync(ExtractionWindow window, WindowState entry, IProgress<ExtractionProgress>? progress,
        CancellationToken cancellationToken)
    {
        string? lastProblem = null;
        for (var attempt = 1; attempt <= _options.MaxJobAttempts; attempt++)
        {
            var job = await ResumeOrCreateAsync(window, entry, progress, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                return null; // stopped by the quota; RunAsync throws it
            }

            try
            {
                if (job.Status == ExportJobStatuses.Created)
                {
                    job = await (Leads
                        ? _client.EnqueueLeadExportAsync(job.ExportId, cancellationToken)
                        : _client.EnqueueExportAsync(job.ExportId, cancellationToken)).ConfigureAwait(false);
                    Report(progress, window, PhaseOf(job.Status), entry);
                }
            }
            catch (ExportQuotaExceededException ex)
            {
                // The job stays Created and is in the state file: a rerun after the reset enqueues it.
                StopForQuota(ex, progress, window, entry);
                return null;
            }

            var lastStatus = job.Status;
            while (job.Status is ExportJobStatuses.Queued or ExportJobStatuses.Processing)
            {
                await Task.Delay(_options.PollIntervalFor(_client.BaseUrl), _time, cancellationToken).ConfigureAwait(false);
                job = await StatusAsync(job.ExportId, cancellationToken).ConfigureAwait(false);
                if (job.Status != lastStatus)
                {
                    lastStatus = job.Status;
                    Report(progress, window, PhaseOf(job.Status), entry, job.ErrorMsg);
                }
            }

            if (job.Status == ExportJobStatuses.Completed)
            {
                var path = Path.GetFullPath(Path.Combine(_options.OutputDirectory, FileName(window)));
                Report(progress, window, ExtractionPhase.Downloading, entry);
                long lastReported = 0;
                var bytes = new SyncProgress(b =>
                {
                    Interlocked.Exchange(ref entry.BytesOnDisk, b);
                    if (b - lastReported >= ProgressStep || b == job.FileSize)
                    {
                        lastReported = b;
                        Report(progress, window, ExtractionPhase.Downloading, entry);
                    }
                });
                DownloadedFile file;
                try
                {
                    file = await (Leads
                        ? _client.DownloadLeadFileAsync(job, path, bytes, cancellationToken)
                        : _client.DownloadFileAsync(job, path, bytes, cancellationToken)).ConfigureAwait(false);
                }
                catch (ExportFileNotAvailableException ex)
                {
                    lastProblem = ex.Message;
                    await ForgetJobAsync(entry, cancellationToken).ConfigureAwait(false);
                    Report(progress, window, ExtractionPhase.Retrying, entry, ex.Message);
                    continue;
                }

                await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    entry.Completed = true;
                    entry.File = Path.GetFileName(file.Path); // relative to the output folder, so the folder can move
                    entry.FileSize = file.Size;
                    entry.FileChecksum = file.Checksum;
                    entry.NumberOfRecords = job.NumberOfRecords ?? 0;
                    entry.BytesOnDisk = file.Size;
                    await SaveStateLockedAsync().ConfigureAwait(false);
                }
                finally
                {
                    _stateLock.Release();
                }

                Interlocked.Increment(ref _completedWindows);
                Report(progress, window, ExtractionPhase.Completed, entry);
                return ToResult(window, entry, fromEarlierRun: false);
            }

            // Failed or Cancelled (by someone else): create the job again.
            lastProblem = job.Status == ExportJobStatuses.Failed ? $"job {job.ExportId} failed: {job.ErrorMsg}" : $"job {job.ExportId} is {job.Status}";
            await ForgetJobAsync(entry, cancellationToken).ConfigureAwait(false);
            Report(progress, window, ExtractionPhase.Retrying, entry, lastProblem);
        }

        throw new MarketoApiException("export", $"Window {window} did not complete after {_options.MaxJobAttempts} jobs; last: {lastProblem}");
    }

    /// <summary>Picks up the job recorded for the window if it still exists, or creates one; null when the quota stops the run.</summary>
    private async Task<ExportJob?> ResumeOrCreateAsync(ExtractionWindow window, WindowState entry, IProgress<ExtractionProgress>? progress,
        CancellationToken cancellationToken)
    {
        if (entry.ExportId is { } existing)
        {
            try
            {
                var job = await StatusAsync(existing, cancellationToken).ConfigureAwait(false);
                if (job.Status is not (ExportJobStatuses.Failed or ExportJobStatuses.Cancelled))
                {
                    Report(progress, window, PhaseOf(job.Status), entry);
                    return job;
                }
            }
            catch (MarketoApiException ex) when (ex is not ExportQuotaExceededException && ex.Code is "610" or "1003" or "404")
            {
                // The job is gone (older than 30 days, or another user's): create a new one.
            }

            await ForgetJobAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        if (_quotaStop is not null)
        {
            Report(progress, window, ExtractionPhase.StoppedByQuota, entry, _quotaStop.Message);
            return null;
        }

        try
        {
            var created = await (Leads
                ? _client.CreateLeadExportAsync(BuildLeadRequest(window), cancellationToken)
                : _client.CreateExportAsync(BuildRequest(window), cancellationToken)).ConfigureAwait(false);
            await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                entry.ExportId = created.ExportId;
                await SaveStateLockedAsync().ConfigureAwait(false);
            }
            finally
            {
                _stateLock.Release();
            }

            Report(progress, window, ExtractionPhase.Created, entry);
            return created;
        }
        catch (ExportQuotaExceededException ex)
        {
            StopForQuota(ex, progress, window, entry);
            return null;
        }
    }

    private void StopForQuota(ExportQuotaExceededException ex, IProgress<ExtractionProgress>? progress, ExtractionWindow window, WindowState entry)
    {
        Interlocked.CompareExchange(ref _quotaStop, ex, null);
        Report(progress, window, ExtractionPhase.StoppedByQuota, entry, ex.Message);
    }

    private async Task ForgetJobAsync(WindowState entry, CancellationToken cancellationToken)
    {
        await _stateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            entry.ExportId = null;
            entry.Completed = false;
            await SaveStateLockedAsync().ConfigureAwait(false);
        }
        finally
        {
            _stateLock.Release();
        }
    }

    private bool Leads => _options.Target == BulkExtractTarget.Leads;

    private Task<ExportJob> StatusAsync(string exportId, CancellationToken cancellationToken) =>
        Leads ? _client.GetLeadExportStatusAsync(exportId, cancellationToken) : _client.GetExportStatusAsync(exportId, cancellationToken);

    private ExportLeadRequest BuildLeadRequest(ExtractionWindow window) => new()
    {
        Format = ExportFileFormats.ToWireName(_options.Format),
        Fields = _options.Fields ?? [],
        ColumnHeaderNames = _options.ColumnHeaderNames,
        Filter = _options.LeadWindowField == LeadWindowField.UpdatedAt
            ? new ExportLeadFilter { UpdatedAt = window.ToDateRange() }
            : new ExportLeadFilter { CreatedAt = window.ToDateRange() },
    };

    private ExportActivityRequest BuildRequest(ExtractionWindow window) => new()
    {
        Format = ExportFileFormats.ToWireName(_options.Format),
        Fields = _options.Fields,
        ColumnHeaderNames = _options.ColumnHeaderNames,
        Filter = new ExportActivityFilter
        {
            CreatedAt = window.ToDateRange(),
            ActivityTypeIds = _options.ActivityTypeIds,
            PrimaryAttributeValueIds = _options.PrimaryAttributeValueIds,
            PrimaryAttributeValues = _options.PrimaryAttributeValues,
        },
    };

    private string FileName(ExtractionWindow window) =>
        $"{(Leads ? "leads" : "activities")}_{window.Key}.{ExportFileFormats.ToWireName(_options.Format).ToLowerInvariant()}";

    private static ExtractionPhase PhaseOf(string status) => status switch
    {
        ExportJobStatuses.Created => ExtractionPhase.Created,
        ExportJobStatuses.Queued => ExtractionPhase.Queued,
        ExportJobStatuses.Processing => ExtractionPhase.Processing,
        ExportJobStatuses.Completed => ExtractionPhase.Downloading,
        _ => ExtractionPhase.Retrying,
    };

    private bool IsDone(WindowState entry) =>
        entry.Completed && entry.File is not null && entry.FileSize is { } size && entry.FileChecksum is not null
        && File.Exists(FullPath(entry)) && new FileInfo(FullPath(entry)).Length == size;

    private string FullPath(WindowState entry) => Path.GetFullPath(Path.Combine(_options.OutputDirectory, entry.File!));

    private ExtractedWindow ToResult(ExtractionWindow window, WindowState entry, bool fromEarlierRun) =>
        new(window, entry.ExportId ?? "", FullPath(entry), entry.FileSize!.Value, entry.FileChecksum!, entry.NumberOfRecords ?? 0, fromEarlierRun);

    private WindowState EntryFor(ExtractionWindow window)
    {
        var entry = _state.Windows.FirstOrDefault(w => w.Key == window.Key);
        if (entry is null)
        {
            entry = new WindowState { Key = window.Key, StartAt = window.StartAt, EndAt = window.EndAt };
            _state.Windows.Add(entry);
        }
        else if (entry.Completed && !IsDone(entry))
        {
            entry.Completed = false; // the file was moved or changed: fetch it again (from the same job if it still has it)
        }

        return entry;
    }

    private void Report(IProgress<ExtractionProgress>? progress, ExtractionWindow window, ExtractionPhase phase, WindowState entry, string? message = null)
    {
        if (progress is null)
        {
            return;
        }

        long bytes = 0, records = 0;
        foreach (var w in _state.Windows.ToArray())
        {
            bytes += Interlocked.Read(ref w.BytesOnDisk);
            records += w.Completed ? w.NumberOfRecords ?? 0 : 0;
        }

        progress.Report(new ExtractionProgress
        {
            Window = window,
            Phase = phase,
            ExportId = entry.ExportId,
            WindowBytes = Interlocked.Read(ref entry.BytesOnDisk),
            Message = message,
            TotalWindows = _totalWindows,
            CompletedWindows = Volatile.Read(ref _completedWindows),
            WindowsInFlight = Volatile.Read(ref _inFlight),
            BytesDownloaded = bytes,
            RecordsExported = records,
        });
    }

    private string Fingerprint()
    {
        var text = string.Join('\n',
            ExportFileFormats.ToWireName(_options.Format),
            string.Join(',', _options.Fields ?? []),
            string.Join(',', (_options.ColumnHeaderNames ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")),
            string.Join(',', _options.ActivityTypeIds ?? []),
            string.Join(',', _options.PrimaryAttributeValueIds ?? []),
            string.Join(',', _options.PrimaryAttributeValues ?? []));
        if (Leads)
        {
            // Appended only for leads, so the state files of activity extractions keep their fingerprint.
            text += $"\nleads:{_options.LeadWindowField}";
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private async Task<ExtractionState> LoadStateAsync(CancellationToken cancellationToken)
    {
        var path = _options.EffectiveStateFilePath;
        var fingerprint = Fingerprint();
        if (!File.Exists(path))
        {
            return new ExtractionState { Fingerprint = fingerprint };
        }

        await using var stream = File.OpenRead(path);
        ExtractionState? state;
        try
        {
            state = await JsonSerializer.DeserializeAsync(stream, ClientJsonContext.Default.ExtractionState, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The state file {path} is not readable: {ex.Message}", ex);
        }

        if (state is null || state.Fingerprint != fingerprint)
        {
            throw new InvalidOperationException(
                $"The state file {path} belongs to an extraction with another format, fields, headers or filter. Use another output folder or state file, or delete it to start over.");
        }

        return state;
    }

    private async Task SaveStateLockedAsync()
    {
        var path = _options.EffectiveStateFilePath;
        var temp = path + ".tmp";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            // Not cancellable: a state file half written would lose the finished windows.
            await JsonSerializer.SerializeAsync(stream, _state, ClientJsonContext.Default.ExtractionState, CancellationToken.None).ConfigureAwait(false);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>A progress that runs its handler on the reporting thread, in order (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class SyncProgress(Action<long> handler) : IProgress<long>
    {
        public void Report(long value) => handler(value);
    }
}
