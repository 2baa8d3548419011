using Microsoft.Net.Http.Headers;

namespace Spillway.Server.BulkExport;

/// <summary>
/// <c>If-Range</c> on the file: a range is served only when the validator names this very file, by its strong ETag or
/// by its exact Last-Modified date; anything else (another ETag, a weak one, a different date, text that is neither)
/// gets the whole file, as RFC 9110 §13.1.5 requires. ASP.NET's own check serves the range for an If-Range it cannot
/// parse and for any date later than the file's, so a client resuming a different file would splice two files.
/// </summary>
internal static class IfRangeCheck
{
    /// <summary>Drops the Range header of <paramref name="request"/> when its If-Range does not match the file.</summary>
    public static void Apply(HttpRequest request, EntityTagHeaderValue etag, DateTimeOffset? lastModified)
    {
        var ifRange = request.Headers.IfRange.ToString();
        if (ifRange.Length == 0 || request.Headers.Range.Count == 0)
        {
            return;
        }

        if (!Matches(ifRange.Trim(), etag, lastModified))
        {
            request.Headers.Remove(HeaderNames.Range);
        }
    }

    private static bool Matches(string ifRange, EntityTagHeaderValue etag, DateTimeOffset? lastModified)
    {
        if (ifRange.StartsWith('"') || ifRange.StartsWith("W/", StringComparison.Ordinal))
        {
            return !etag.IsWeak && string.Equals(ifRange, etag.Tag.ToString(), StringComparison.Ordinal);
        }

        return lastModified is { } modified
            && HeaderUtilities.TryParseDate(ifRange, out var date)
            && date.UtcTicks == modified.UtcTicks - (modified.UtcTicks % TimeSpan.TicksPerSecond);
    }
}
