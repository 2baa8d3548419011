using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Spillway.Server.Hosting;

/// <summary>
/// A request body whose framing is broken is a bad request (400), wherever it is read. Kestrel reports some framing
/// errors (a chunk size past 2^31, say) as a plain <see cref="IOException"/>, which would otherwise reach the 611
/// handler; this stream turns every read failure into <see cref="BadHttpRequestException"/>.
/// </summary>
internal sealed class BadFramingGuardStream(Stream inner) : Stream
{
    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => inner.Position = value; }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return inner.Read(buffer, offset, count);
        }
        catch (IOException ex) when (ex is not BadHttpRequestException)
        {
            throw Bad(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException ex) when (ex is not BadHttpRequestException)
        {
            throw Bad(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static BadHttpRequestException Bad(IOException ex) =>
        new($"The request body could not be read: {ex.Message}", StatusCodes.Status400BadRequest, ex);
}

/// <summary>
/// The admin API (controls included) binds its JSON bodies to records; a string that is not text would fail deep in
/// the binder. Its bodies are checked first and refused with a 400 problem body; a 400 that the binder answers
/// without a body gets one too, so an admin client always learns why.
/// </summary>
internal static class AdminBodyChecks
{
    private const string Prefix = "/_spillway/admin";

    public static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Whether this is one of the admin API's two import routes (<c>POST .../subscriptions/{munchkinId}/import/activities</c>
    /// or <c>/import/leads</c>), whose body is a whole data file streamed into the store, so the 1 MB limit does not apply.
    /// </summary>
    public static bool IsImport(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method) || !request.Path.StartsWithSegments(Prefix + "/subscriptions", StringComparison.Ordinal, out var rest))
        {
            return false;
        }

        var segments = (rest.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments is [_, "import", "activities" or "leads"];
    }

    /// <summary>Answers 400 (and returns true) when the JSON body holds a string that is not text.</summary>
    public static async Task<bool> RefuseNotTextAsync(HttpContext context)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || request.ContentLength == 0)
        {
            return false;
        }

        request.EnableBuffering();
        string? problem;
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
            problem = JsonText.AdminError(document.RootElement);
        }
        catch (JsonException)
        {
            problem = null; // malformed JSON: the binder answers it
        }

        request.Body.Position = 0;
        if (problem is null)
        {
            return false;
        }

        await WriteProblemAsync(context, problem);
        return true;
    }

    /// <summary>Gives a bodiless 400 of the admin API a problem body.</summary>
    public static async Task ExplainBareBadRequestAsync(HttpContext context)
    {
        if (context.Response is { StatusCode: StatusCodes.Status400BadRequest, HasStarted: false })
        {
            await WriteProblemAsync(context, "The request body or a parameter could not be read (malformed JSON or a value of the wrong type).");
        }
    }

    private static Task WriteProblemAsync(HttpContext context, string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(context);
}
