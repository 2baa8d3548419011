using Spillway.Contracts;

namespace Spillway.Client;

/// <summary>One page of <c>GET /bulk/v1/activities/export.json</c>.</summary>
/// <param name="Jobs">The jobs on this page.</param>
/// <param name="NextPageToken">The token of the next page; null on the last page.</param>
public sealed record ExportJobPage(IReadOnlyList<ExportJob> Jobs, string? NextPageToken);

/// <summary>A downloaded and verified export file.</summary>
/// <param name="Path">The full path of the file.</param>
/// <param name="Size">Its length in bytes, equal to the job's <c>fileSize</c>.</param>
/// <param name="Checksum">Its checksum, <c>sha256:</c> and lowercase hex, equal to the job's <c>fileChecksum</c>.</param>
public sealed record DownloadedFile(string Path, long Size, string Checksum);

/// <summary>Why the client waits before trying a call again.</summary>
public sealed class MarketoRetryEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    /// <param name="operation">The operation, such as <c>enqueue</c>.</param>
    /// <param name="reason">The Marketo code or HTTP status or failure kind that caused the wait.</param>
    /// <param name="message">A readable description.</param>
    /// <param name="attempt">The number of this retry (1 for the first).</param>
    /// <param name="delay">How long the client waits before it tries again.</param>
    public MarketoRetryEventArgs(string operation, string reason, string message, int attempt, TimeSpan delay)
    {
        Operation = operation;
        Reason = reason;
        Message = message;
        Attempt = attempt;
        Delay = delay;
    }

    /// <summary>The operation, such as <c>enqueue</c>.</summary>
    public string Operation { get; }

    /// <summary>The Marketo code, HTTP status or failure kind that caused the wait.</summary>
    public string Reason { get; }

    /// <summary>A readable description.</summary>
    public string Message { get; }

    /// <summary>The number of this retry (1 for the first).</summary>
    public int Attempt { get; }

    /// <summary>How long the client waits before it tries again.</summary>
    public TimeSpan Delay { get; }
}
