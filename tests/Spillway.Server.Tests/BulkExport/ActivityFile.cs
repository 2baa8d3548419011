using Spillway.Server.Activities.Export;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Tests.BulkExport;

/// <summary>
/// An activity export file put together as the export job does it: an <see cref="ExportFileWriter"/> with the activity
/// columns' header texts, and the <see cref="ActivityRowWriter"/> that maps each row onto its cells.
/// </summary>
public sealed class ActivityFile : IDisposable
{
    public ActivityFile(
        Stream output,
        ExportFormat format,
        IReadOnlyList<ExportField> fields,
        IReadOnlyDictionary<ExportField, string>? headerNames,
        byte ssvDelimiter = (byte)' ',
        int bufferSize = ExportFileWriter.DefaultBufferSize,
        bool writeBehind = false)
    {
        File = new ExportFileWriter(output, format, ActivityRowWriter.ColumnNames(fields, headerNames), ssvDelimiter, bufferSize, writeBehind);
        try
        {
            Rows = new ActivityRowWriter(File, fields);
        }
        catch
        {
            File.Dispose();
            throw;
        }
    }

    public ExportFileWriter File { get; }

    /// <summary>The sink a store streams the window into.</summary>
    public ActivityRowWriter Rows { get; }

    public void WriteHeader() => File.WriteHeader();

    public void WriteRecord(ActivityRecord record) => Rows.WriteRecord(record);

    public void Flush() => File.Flush();

    public ExportFileSummary Complete() => File.Complete();

    public void Dispose() => File.Dispose();
}
