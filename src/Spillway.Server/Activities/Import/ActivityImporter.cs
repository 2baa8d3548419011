using System.Threading.Channels;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Import;

/// <summary>What an import did: records read, activities added (new by marketoGUID), lines rejected.</summary>
public sealed record ImportSummary(long Read, long Added, long Rejected)
{
    /// <summary>Read but already stored (same marketoGUID): an import run again, or a duplicate inside the file.</summary>
    public long AlreadyPresent => Read - Added;
}

/// <summary>How far an import got: bytes of the input consumed, records read, activities added.</summary>
public readonly record struct ImportProgress(long Bytes, long Read, long Added, long Rejected);

/// <summary>
/// Loads an activity file into a subscription: parsing on one thread, appending batches on another, so both cores
/// work. Idempotent by marketoGUID (the store skips what the subscription has), so an interrupted import is simply run
/// again. A bad line is reported through <c>onIssue</c> and the rest still loads. With <c>checkOnly</c> it parses and
/// reports without storing anything.
/// </summary>
public sealed class ActivityImporter(IActivityStore store)
{
    public const int DefaultBatchSize = 100_000;

    public async Task<ImportSummary> ImportAsync(int subscriptionId, Stream input, ActivityFileFormat format, Action<ImportIssue> onIssue,
        IProgress<ImportProgress>? progress, CancellationToken ct, int batchSize = DefaultBatchSize, bool checkOnly = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var batches = Channel.CreateBounded<List<ActivityRecord>>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        long read = 0, rejected = 0, added = 0;
        long Position() => input.CanSeek ? input.Position : 0;

        var parser = Task.Run(async () =>
        {
            try
            {
                var batch = new List<ActivityRecord>(batchSize);
                foreach (var (activity, issue) in ActivityFileReader.Read(input, format))
                {
                    if (activity is null)
                    {
                        Interlocked.Increment(ref rejected);
                        onIssue(issue!);
                        continue;
                    }

                    batch.Add(activity);
                    if (batch.Count == batchSize)
                    {
                        Interlocked.Add(ref read, batch.Count);
                        await batches.Writer.WriteAsync(batch, ct);
                        batch = new List<ActivityRecord>(batchSize);
                    }
                }

                if (batch.Count > 0)
                {
                    Interlocked.Add(ref read, batch.Count);
                    await batches.Writer.WriteAsync(batch, ct);
                }

                batches.Writer.Complete();
            }
            catch (Exception ex)
            {
                batches.Writer.Complete(ex);
            }
        }, ct);

        await foreach (var batch in batches.Reader.ReadAllAsync(ct))
        {
            added += checkOnly ? 0 : await store.AppendAsync(subscriptionId, batch, ct);
            progress?.Report(new ImportProgress(Position(), Interlocked.Read(ref read), added, Interlocked.Read(ref rejected)));
        }

        await parser;
        progress?.Report(new ImportProgress(Position(), read, added, rejected));
        return new ImportSummary(read, added, rejected);
    }
}
