namespace Spillway.Server.BulkExport;

/// <summary>What an export file writer produced: rows after the header, bytes, and <c>sha256:</c> + lowercase hex of those bytes.</summary>
public sealed record ExportFileSummary(long NumberOfRecords, long FileSize, string FileChecksum);
