using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Spillway.Contracts;
using static Spillway.Client.Tests.LoopbackServer;

namespace Spillway.Client.Tests;

/// <summary>
/// Just enough of the bulk activity export, in the test, for the extractor: jobs move Queued → Processing → Completed
/// one step per status poll, the queue holds <see cref="MaxQueued"/> jobs, files are built from seeded activities
/// with inclusive createdAt bounds, and faults can be switched on.
/// </summary>
internal sealed class MiniMarketo
{
    private readonly Lock _gate = new();
    private int _creates;
    private int _nextId;

    public sealed record Activity(string Guid, long LeadId, DateTimeOffset Date, int TypeId, string? Primary);

    private sealed class Job
    {
        public required string Id { get; init; }
        public required DateTimeOffset Start { get; init; }
        public required DateTimeOffset End { get; init; }
        public string Status { get; set; } = ExportJobStatuses.Created;
        public byte[]? File { get; set; }
        public bool CutOnce { get; set; }
    }

    private readonly ConcurrentDictionary<string, Job> _jobs = new();

    public List<Activity> Activities { get; } = [];

    public int MaxQueued { get; set; } = 10;

    /// <summary>Creates beyond this number fail with the daily quota error.</summary>
    public int QuotaAfterCreates { get; set; } = int.MaxValue;

    /// <summary>The first job of a window starting at one of these instants fails.</summary>
    public HashSet<DateTimeOffset> FailFirstJobOf { get; } = [];

    /// <summary>Cut the connection in the middle of the first download of every file.</summary>
    public bool CutFiles { get; set; }

    public int Creates => Volatile.Read(ref _creates);

    public int QueueFullAnswers;

    public int MaxQueuedSeen;

    public Task Handle(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value!;
        if (path == "/identity/oauth/token")
        {
            return Token(ctx, "tok");
        }

        if (path == "/bulk/v1/activities/export/create.json")
        {
            return CreateAsync(ctx);
        }

        var parts = path.Split('/');
        if (parts.Length != 7 || !_jobs.TryGetValue(parts[5], out var job))
        {
            return Error(ctx, "610", "Requested resource not found");
        }

        lock (_gate)
        {
            switch (parts[6])
            {
                case "enqueue.json":
                    var busy = _jobs.Values.Count(j => j.Status is ExportJobStatuses.Queued or ExportJobStatuses.Processing);
                    if (busy >= MaxQueued)
                    {
                        Interlocked.Increment(ref QueueFullAnswers);
                        return Error(ctx, "1029", "Too many jobs in queue");
                    }

                    job.Status = ExportJobStatuses.Queued;
                    MaxQueuedSeen = Math.Max(MaxQueuedSeen, busy + 1);
                    return Respond(ctx, job);
                case "status.json":
                    Advance(job);
                    return Respond(ctx, job);
                case "file.json" when job.Status == ExportJobStatuses.Completed:
                    var cut = job.CutOnce;
                    job.CutOnce = false;
                    return ServeFileAsync(ctx, job.File!, cut);
                case "file.json":
                    ctx.Response.StatusCode = 404;
                    return ctx.Response.WriteAsync("Not found");
                default:
                    return Error(ctx, "610", "Requested resource not found");
            }
        }
    }

    private async Task CreateAsync(HttpContext ctx)
    {
        using var body = await JsonDocument.ParseAsync(ctx.Request.Body);
        if (Interlocked.Increment(ref _creates) > QuotaAfterCreates)
        {
            await Error(ctx, "1029", "Export daily quota 500MB exceeded.");
            return;
        }

        var createdAt = body.RootElement.GetProperty("filter").GetProperty("createdAt");
        Assert.True(MarketoDateTime.TryParse(createdAt.GetProperty("startAt").GetString()!, out var start));
        Assert.True(MarketoDateTime.TryParse(createdAt.GetProperty("endAt").GetString()!, out var end));
        Assert.True(end - start <= TimeSpan.FromDays(31), "createdAt range exceeds 31 days");
        var job = new Job { Id = $"job-{Interlocked.Increment(ref _nextId):D3}", Start = start, End = end, CutOnce = CutFiles };
        _jobs[job.Id] = job;
        await Respond(ctx, job);
    }

    private void Advance(Job job)
    {
        switch (job.Status)
        {
            case ExportJobStatuses.Queued:
                job.Status = ExportJobStatuses.Processing;
                break;
            case ExportJobStatuses.Processing when FailFirstJobOf.Remove(job.Start):
                job.Status = ExportJobStatuses.Failed;
                break;
            case ExportJobStatuses.Processing:
                job.File = BuildFile(job.Start, job.End);
                job.Status = ExportJobStatuses.Completed;
                break;
        }
    }

    private byte[] BuildFile(DateTimeOffset start, DateTimeOffset end)
    {
        var text = new StringBuilder("marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes\n");
        foreach (var a in Activities.Where(a => a.Date >= start && a.Date <= end).OrderBy(a => a.Date).ThenBy(a => a.Guid, StringComparer.Ordinal))
        {
            var primary = a.Primary is null ? "null" : "\"" + a.Primary.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            text.Append(CultureInfo.InvariantCulture,
                $"{a.Guid},{a.LeadId},{MarketoDateTime.Format(a.Date)},{a.TypeId},null,7,{primary},\"{{\"\"n\"\":{a.LeadId}}}\"\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private Task Respond(HttpContext ctx, Job job)
    {
        var completed = job.Status == ExportJobStatuses.Completed;
        var records = completed ? Activities.Count(a => a.Date >= job.Start && a.Date <= job.End) : (long?)null;
        return LoopbackServer.Job(ctx, JobJson(job.Id, job.Status,
            completed ? job.File!.Length : null,
            completed ? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(job.File!)) : null,
            records,
            job.Status == ExportJobStatuses.Failed ? "Simulated failure" : null));
    }

    private static async Task ServeFileAsync(HttpContext ctx, byte[] data, bool cut)
    {
        ctx.Response.ContentType = "text/csv;charset=UTF-8";
        var from = 0;
        var range = ctx.Request.Headers.Range.ToString();
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = int.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers[HeaderNames.ContentRange] = $"bytes {from}-{data.Length - 1}/{data.Length}";
        }

        ctx.Response.ContentLength = data.Length - from;
        var end = cut ? from + ((data.Length - from) / 2) : data.Length;
        await ctx.Response.Body.WriteAsync(data.AsMemory(from, end - from));
        if (cut)
        {
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(10);
            ctx.Abort();
        }
    }
}
