using System.Net;
using System.Text;
using System.Text.Json;

namespace Spillway.Server.Tests.Infrastructure;

/// <summary>Helpers that read Marketo envelopes and drive the bulk flow over HTTP.</summary>
public static class Marketo
{
    public static async Task<JsonElement> EnvelopeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    public static async Task<JsonElement> SuccessAsync(HttpResponseMessage response)
    {
        var envelope = await EnvelopeAsync(response);
        Assert.True(envelope.GetProperty("success").GetBoolean(), envelope.ToString());
        Assert.False(envelope.TryGetProperty("errors", out _));
        return envelope;
    }

    /// <summary>Asserts a failure envelope with exactly one error of <paramref name="code"/>; returns its message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, string code)
    {
        var envelope = await EnvelopeAsync(response);
        Assert.False(envelope.GetProperty("success").GetBoolean(), envelope.ToString());
        Assert.False(envelope.TryGetProperty("result", out _));
        var error = Assert.Single(envelope.GetProperty("errors").EnumerateArray());
        Assert.Equal(JsonValueKind.String, error.GetProperty("code").ValueKind);
        Assert.Equal(code, error.GetProperty("code").GetString());
        return error.GetProperty("message").GetString()!;
    }

    public static JsonElement Job(JsonElement envelope) => Assert.Single(envelope.GetProperty("result").EnumerateArray());

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static string Window(DateTimeOffset start, DateTimeOffset end, string extraFilter = "", string extraBody = "") =>
        $$"""{"filter":{"createdAt":{"startAt":"{{start:yyyy-MM-ddTHH:mm:ssZ}}","endAt":"{{end:yyyy-MM-ddTHH:mm:ssZ}}"}{{extraFilter}}}{{extraBody}}}""";

    public static async Task<string> CreateAsync(HttpClient client, string body)
    {
        var envelope = await SuccessAsync(await client.PostAsync("/bulk/v1/activities/export/create.json", Json(body)));
        var job = Job(envelope);
        Assert.Equal("Created", job.GetProperty("status").GetString());
        return job.GetProperty("exportId").GetString()!;
    }

    public static async Task<JsonElement> EnqueueAsync(HttpClient client, string exportId) =>
        Job(await SuccessAsync(await client.PostAsync($"/bulk/v1/activities/export/{exportId}/enqueue.json", null)));

    public static async Task<JsonElement> StatusAsync(HttpClient client, string exportId) =>
        Job(await SuccessAsync(await client.GetAsync($"/bulk/v1/activities/export/{exportId}/status.json")));

    /// <summary>Polls until the job reaches one of <paramref name="statuses"/> (default: a terminal status).</summary>
    public static async Task<JsonElement> WaitAsync(HttpClient client, string exportId, params string[] statuses)
    {
        if (statuses.Length == 0)
        {
            statuses = ["Completed", "Failed", "Cancelled"];
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = await StatusAsync(client, exportId);
            if (statuses.Contains(job.GetProperty("status").GetString()))
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Job {exportId} still {job.GetProperty("status")} after 60 s");
            // Fast at first, then gently: a long job must not run a test into the 100-calls-per-20-s limit.
            await Task.Delay(DateTime.UtcNow < deadline.AddSeconds(-58) ? 50 : 300);
        }
    }

    /// <summary>Create, enqueue, wait for Completed, download: the whole flow; returns the file bytes and the final status.</summary>
    public static async Task<(byte[] File, JsonElement Job)> ExportAsync(HttpClient client, string body)
    {
        var id = await CreateAsync(client, body);
        await EnqueueAsync(client, id);
        var job = await WaitAsync(client, id);
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        var file = await client.GetAsync($"/bulk/v1/activities/export/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        return (await file.Content.ReadAsByteArrayAsync(), job);
    }

    public const string CreatePath = "/bulk/v1/activities/export/create.json";

    public static Task<HttpResponseMessage> PostCreateAsync(HttpClient client, string body) => client.PostAsync(CreatePath, Json(body));

    /// <summary>Posts a create body and returns the 1003 message (asserting the code).</summary>
    public static async Task<string> CreateErrorAsync(HttpClient client, string body, string code = "1003") =>
        await ErrorAsync(await PostCreateAsync(client, body), code);

    public static Task<HttpResponseMessage> PostEnqueueAsync(HttpClient client, string exportId) =>
        client.PostAsync($"/bulk/v1/activities/export/{exportId}/enqueue.json", null);

    public static Task<HttpResponseMessage> PostCancelAsync(HttpClient client, string exportId) =>
        client.PostAsync($"/bulk/v1/activities/export/{exportId}/cancel.json", null);

    public static async Task<JsonElement> CancelAsync(HttpClient client, string exportId) =>
        Job(await SuccessAsync(await PostCancelAsync(client, exportId)));

    public static Task<HttpResponseMessage> GetFileAsync(HttpClient client, string exportId) =>
        client.GetAsync($"/bulk/v1/activities/export/{exportId}/file.json");

    /// <summary>Create, enqueue, wait for Completed; returns the export id and the final status.</summary>
    public static async Task<(string Id, JsonElement Job)> CompleteAsync(HttpClient client, string body)
    {
        var id = await CreateAsync(client, body);
        await EnqueueAsync(client, id);
        var job = await WaitAsync(client, id);
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        return (id, job);
    }

    /// <summary>The file's lines (split on LF; the empty string after the final LF is dropped, after asserting it is there).</summary>
    public static string[] Lines(byte[] file)
    {
        var text = Encoding.UTF8.GetString(file);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    /// <summary>The marketoGUID column (the first of the default columns) of every data row.</summary>
    public static long[] Guids(byte[] file) => [.. Lines(file).Skip(1).Select(l => long.Parse(l.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>An activity with plain defaults: lead 1, Visit Webpage, no campaign.</summary>
    public static Spillway.Contracts.ActivityRecord Activity(long guid, DateTimeOffset date, int type = 1, long? primaryId = 1,
        string? primaryValue = "page", string attributes = "{}", long leadId = 1, long? campaignId = null, string? actionResult = null) =>
        new(guid, leadId, date, type, campaignId, primaryId, primaryValue, attributes, actionResult);
}

/// <summary>Helpers that look at the raw wire: exact header values, member order, raw request targets.</summary>
public static class Wire
{
    public const string JsonContentType = "application/json;charset=UTF-8";

    /// <summary>The Content-Type header exactly as the server sent it (no re-formatting by HttpClient).</summary>
    public static string? RawContentType(HttpResponseMessage response) =>
        response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values) ? values.ToString() : null;

    /// <summary>The member names of a JSON object in the order they appear in the text.</summary>
    public static IReadOnlyList<string> MemberNames(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    /// <summary>Parses the body and returns the root (the body must be JSON).</summary>
    public static async Task<(string Text, JsonElement Root)> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return (text, json.RootElement.Clone());
    }

    /// <summary>
    /// A request whose target is sent exactly as written (no dot-segment removal by <see cref="Uri"/>), to test what the
    /// server itself does with paths such as <c>/rest/../bulk/v1/...</c>.
    /// </summary>
    public static HttpRequestMessage RawRequest(HttpMethod method, Uri baseAddress, string pathAndQuery)
    {
        var uri = new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + pathAndQuery,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        return new HttpRequestMessage(method, uri);
    }

    /// <summary>A form body.</summary>
    public static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Key, f.Value)));
}

/// <summary>
/// A request body that sends its first bytes, then waits until <see cref="Release"/> before sending the rest: the call
/// stays in flight on the server for exactly as long as the test wants (chunked, no Content-Length).
/// </summary>
public sealed class HeldContent : HttpContent
{
    private readonly byte[] _head;
    private readonly byte[] _tail;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HeldContent(string body, string mediaType = "application/json", int headLength = 1)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        _head = bytes[..headLength];
        _tail = bytes[headLength..];
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
    }

    public void Release() => _release.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        await stream.WriteAsync(_head);
        await stream.FlushAsync();
        await _release.Task;
        await stream.WriteAsync(_tail);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
