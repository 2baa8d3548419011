namespace Spillway.Server.BulkExport;

/// <summary>
/// The one reader of export ids from the wire. Only the form the server hands out is an id: the lower-case UUID
/// 8-4-4-4-12. <see cref="Guid.TryParseExact(string, string, out Guid)"/> also takes upper case and surrounding white
/// space (a trailing <c>%20</c> in the path), which would make one job reachable under many names.
/// </summary>
internal static class ExportIds
{
    private const int Length = 36;

    public static bool TryParse(string? text, out Guid id)
    {
        id = Guid.Empty;
        if (text is not { Length: Length })
        {
            return false;
        }

        for (var i = 0; i < Length; i++)
        {
            var c = text[i];
            var ok = i is 8 or 13 or 18 or 23 ? c == '-' : c is (>= '0' and <= '9') or (>= 'a' and <= 'f');
            if (!ok)
            {
                return false;
            }
        }

        return Guid.TryParseExact(text, "D", out id);
    }
}
