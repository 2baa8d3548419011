using Spillway.Server.Activities.Import;
using Spillway.Server.Storage;

namespace Spillway.Server.Leads.Import;

/// <summary>What a lead import did: records read, leads added (new id), replaced (changed), unchanged, records refused.</summary>
public sealed record LeadImportSummary(long Read, long Added, long Replaced, long Unchanged, long Refused);

/// <summary>
/// Loads a lead file into a subscription's lead database. The <c>id</c> decides: a record whose id the subscription
/// has replaces that lead's given fields, any other record adds a lead with that id. A record equal to the stored lead
/// writes nothing, so importing the same file again leaves the store as it is. Fields the file does not give keep
/// their stored values; <c>createdAt</c> and <c>updatedAt</c> are kept as given (a missing <c>createdAt</c> is the stored
/// lead's, else the import time; a missing <c>updatedAt</c> the stored lead's, else <c>createdAt</c>). No activity
/// is written. Leads go to the store in batches, each in one transaction.
/// </summary>
public sealed class LeadImporter(ILeadStore store, TimeProvider clock, ILeadFieldStore? fields = null)
{
    public const int DefaultBatchSize = 1_000;

    public async Task<LeadImportSummary> ImportAsync(int subscriptionId, Stream input, ActivityFileFormat format, Action<ImportIssue> onIssue,
        IProgress<ImportProgress>? progress, CancellationToken ct, int batchSize = DefaultBatchSize, bool checkOnly = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(onIssue);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        long read = 0, refused = 0, added = 0, replaced = 0, unchanged = 0;
        var batch = new Dictionary<long, LeadImportRecord>(batchSize);
        var order = new List<LeadImportRecord>(batchSize);

        async Task FlushAsync()
        {
            if (order.Count == 0)
            {
                return;
            }

            var (a, r, u) = await WriteAsync(subscriptionId, order, checkOnly, ct);
            added += a;
            replaced += r;
            unchanged += u;
            batch.Clear();
            order.Clear();
            progress?.Report(new ImportProgress(input.CanSeek ? input.Position : 0, read, added + replaced, refused));
        }

        // The subscription's custom fields may be columns of the file, as its lead extracts write them.
        IReadOnlyList<LeadColumn> custom = fields is null ? [] : [.. (await fields.ListCustomFieldsAsync(subscriptionId, ct)).Select(LeadCustomFields.Column)];

        // The reader is synchronous (it streams the file); each batch is written before the next is read.
        foreach (var (lead, issue) in LeadFileReader.Read(input, format, custom))
        {
            if (lead is null)
            {
                refused++;
                onIssue(issue!);
                continue;
            }

            read++;
            if (batch.ContainsKey(lead.Id))
            {
                // The same id twice: the later record applies after the earlier one, as two imports would.
                await FlushAsync();
            }

            batch[lead.Id] = lead;
            order.Add(lead);
            if (order.Count == batchSize)
            {
                await FlushAsync();
            }
        }

        await FlushAsync();
        return new LeadImportSummary(read, added, replaced, unchanged, refused);
    }

    private async Task<(long Added, long Replaced, long Unchanged)> WriteAsync(int subscriptionId, List<LeadImportRecord> records, bool checkOnly,
        CancellationToken ct)
    {
        var stored = (await store.GetByIdsAsync(subscriptionId, [.. records.Select(r => r.Id)], ct)).ToDictionary(l => l.Id);
        var now = clock.GetUtcNow();
        now = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var puts = new List<LeadRecord>(records.Count);
        long added = 0, replaced = 0, unchanged = 0;
        foreach (var record in records)
        {
            var existing = stored.GetValueOrDefault(record.Id);
            var merged = Merge(record, existing, now);
            if (existing is null)
            {
                added++;
            }
            else if (SameLead(existing, merged))
            {
                unchanged++;
                continue;
            }
            else
            {
                replaced++;
            }

            puts.Add(merged);
        }

        if (!checkOnly && puts.Count > 0)
        {
            await store.PutAsync(subscriptionId, puts, ct);
        }

        return (added, replaced, unchanged);
    }

    private static LeadRecord Merge(LeadImportRecord record, LeadRecord? existing, DateTimeOffset now)
    {
        var fields = existing is null ? new Dictionary<string, object>(StringComparer.Ordinal) : new Dictionary<string, object>(existing.Fields, StringComparer.Ordinal);
        foreach (var (name, value) in record.Values)
        {
            if (value is null)
            {
                fields.Remove(name);
            }
            else
            {
                fields[name] = value;
            }
        }

        var created = record.CreatedAt ?? existing?.CreatedAt ?? now;
        var updated = record.UpdatedAt ?? existing?.UpdatedAt ?? created;

        // The hidden time of the last field change moves only when a field value does; a file cannot carry it, so a
        // new or changed lead takes its updatedAt.
        var fieldsUpdated = existing is not null && SameFields(existing.Fields, fields) ? existing.FieldsUpdatedAt : updated;
        return new LeadRecord(record.Id, created, updated, fieldsUpdated, fields);
    }

    private static bool SameLead(LeadRecord a, LeadRecord b) =>
        a.CreatedAt == b.CreatedAt && a.UpdatedAt == b.UpdatedAt && a.FieldsUpdatedAt == b.FieldsUpdatedAt && SameFields(a.Fields, b.Fields);

    private static bool SameFields(IReadOnlyDictionary<string, object> a, IReadOnlyDictionary<string, object> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var other) && Equals(pair.Value, other));
}
