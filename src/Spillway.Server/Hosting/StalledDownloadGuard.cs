using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Spillway.Server.Hosting;

/// <summary>
/// Cuts a file download whose client stops taking data. A download holds one of the subscription's concurrent-call
/// slots until it ends, so a few clients that open downloads and never read would lock every API user of the
/// subscription out with 615. Kestrel's minimum response rate does not help here: it grants each 64 KB write
/// 64 KB / 240 B/s = 273 s. This guard sends the file itself and gives every block
/// <see cref="DownloadOptions.StallSeconds"/> to leave; a block that does not aborts the connection, which ends the
/// call and frees its slot.
/// </summary>
internal sealed class StalledDownloadGuard(IHttpResponseBodyFeature inner, HttpContext context, TimeSpan stall) : IHttpResponseBodyFeature
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Makes the file sent on <paramref name="context"/>'s response subject to the stall limit.</summary>
    public static void Attach(HttpContext context)
    {
        var seconds = context.RequestServices.GetRequiredService<IOptions<SpillwayOptions>>().Value.Downloads.StallSeconds;
        if (seconds > 0 && double.IsFinite(seconds) && context.Features.Get<IHttpResponseBodyFeature>() is { } body)
        {
            context.Features.Set<IHttpResponseBodyFeature>(new StalledDownloadGuard(body, context, TimeSpan.FromSeconds(seconds)));
        }
    }

    public Stream Stream => inner.Stream;

    public PipeWriter Writer => inner.Writer;

    public Task CompleteAsync() => inner.CompleteAsync();

    public void DisableBuffering() => inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        file.Seek(offset, SeekOrigin.Begin);
        var remaining = count ?? file.Length - offset;
        var writer = inner.Writer;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (remaining > 0)
        {
            var memory = writer.GetMemory((int)Math.Min(BlockSize, remaining));
            var read = await file.ReadAsync(memory[..(int)Math.Min(memory.Length, remaining)], cancellationToken);
            if (read == 0)
            {
                throw new IOException($"The export file ended {remaining} bytes early.");
            }

            writer.Advance(read);
            remaining -= read;
            timer.CancelAfter(stall);
            FlushResult flushed;
            try
            {
                flushed = await writer.FlushAsync(timer.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The client took nothing for the whole stall period: drop the connection (the caller sees it aborted).
                context.Abort();
                throw new DownloadStalledException(stall);
            }

            timer.CancelAfter(Timeout.InfiniteTimeSpan);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                return; // the connection is gone
            }
        }
    }
}

/// <summary>A download cut by <see cref="StalledDownloadGuard"/>: the client's doing, logged as information, never a 611.</summary>
internal sealed class DownloadStalledException(TimeSpan stall)
    : OperationCanceledException($"The client took no data for {stall.TotalSeconds:0.#} s; the download was cut.");
