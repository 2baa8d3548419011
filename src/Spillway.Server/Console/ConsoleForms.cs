using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Server.BulkExport;
using Spillway.Server.Storage;

namespace Spillway.Server.Console;

/// <summary>Reading the console's forms and query strings, and turning the admin API's answers into a page's outcome.</summary>
internal static class ConsoleForms
{
    /// <summary>The posted form (read once, then cached by ASP.NET Core), or null when the body is not a readable form.</summary>
    public static async Task<IFormCollection?> ReadAsync(HttpContext http, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType)
        {
            return null;
        }

        try
        {
            return await http.Request.ReadFormAsync(ct);
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return null;
        }
    }

    public static string Text(IFormCollection? form, string name) => form?[name].ToString().Trim() ?? "";

    public static string Query(HttpContext http, string name) => http.Request.Query[name].ToString().Trim();

    /// <summary>
    /// The <c>after</c> query of a paged member list: the lead id the page starts after, 0 when absent. Anything but a
    /// whole number from 0 sets <paramref name="error"/> and gives 0.
    /// </summary>
    public static long AfterLeadId(HttpContext http, ref string? error)
    {
        var text = Query(http, "after");
        if (text.Length == 0)
        {
            return 0;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var after))
        {
            return after;
        }

        error ??= "after is a lead id, a whole number from 0.";
        return 0;
    }

    /// <summary>An optional whole number: empty is null; anything else must parse, or <paramref name="error"/> says why.</summary>
    public static long? Long(IFormCollection? form, string name, ref string? error)
    {
        var text = Text(form, name);
        if (text.Length == 0)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        error ??= $"{name} is a whole number.";
        return null;
    }

    /// <summary>An optional whole number that fits an int.</summary>
    public static int? Int(IFormCollection? form, string name, ref string? error)
    {
        var value = Long(form, name, ref error);
        if (value is null or (>= int.MinValue and <= int.MaxValue))
        {
            return (int?)value;
        }

        error ??= $"{name} is a whole number from {int.MinValue} to {int.MaxValue}.";
        return null;
    }

    public static double? Double(IFormCollection? form, string name, ref string? error)
    {
        var text = Text(form, name);
        if (text.Length == 0)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
        {
            return value;
        }

        error ??= $"{name} is a number.";
        return null;
    }

    /// <summary>The detail of a problem the admin API answered, or null when it answered success.</summary>
    public static string? ProblemOf(IResult result) => result switch
    {
        ProblemHttpResult p => p.ProblemDetails.Detail ?? p.ProblemDetails.Title ?? "Refused.",
        INestedHttpResult { Result: ProblemHttpResult p } => p.ProblemDetails.Detail ?? p.ProblemDetails.Title ?? "Refused.",
        _ => null,
    };

    /// <summary>The HTTP status the admin API answered (the console page answers the same).</summary>
    public static int StatusOf(IResult result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult { StatusCode: { } status } => status,
        _ => StatusCodes.Status200OK,
    };

    /// <summary>The value the admin API answered on success.</summary>
    public static T? ValueOf<T>(IResult result) where T : class => result switch
    {
        INestedHttpResult nested => ValueOf<T>(nested.Result),
        IValueHttpResult<T> value => value.Value,
        _ => null,
    };

    public static bool TryParseExportId(string text, out Guid id) => ExportIds.TryParse(text, out id);

    /// <summary>Parses a job status name as Marketo spells it (Created, Queued, ...).</summary>
    public static bool TryParseStatus(string text, out ExportJobStatus status) => ExportJobView.TryParseStatus(text, out status);
}
