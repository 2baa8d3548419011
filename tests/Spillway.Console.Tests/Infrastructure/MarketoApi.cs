using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Spillway.Testing;

namespace Spillway.Console.Tests.Infrastructure;

/// <summary>The Marketo bulk activity extract API of the server under test, called as a real client calls it.</summary>
public sealed class MarketoApi(SpillwayServer server)
{
    private const string Bulk = "bulk/v1/activities/export/";

    /// <summary>Calls one endpoint with a fresh token and returns Marketo's envelope (HTTP 200 expected).</summary>
    public async Task<JsonElement> CallAsync(HttpMethod method, string path, object? body = null)
    {
        var token = await server.GetAccessTokenAsync();
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Creates an activity export job over the last two days (CSV); returns its exportId.</summary>
    public async Task<string> CreateExportAsync(DateTimeOffset now)
    {
        var created = await CallAsync(HttpMethod.Post, Bulk + "create.json", new
        {
            format = "CSV",
            filter = new { createdAt = new { startAt = now.AddDays(-2).ToString("O"), endAt = now.ToString("O") } },
        });
        return OneResult(created).GetProperty("exportId").GetString()!;
    }

    public async Task<JsonElement> EnqueueAsync(string exportId) =>
        OneResult(await CallAsync(HttpMethod.Post, $"{Bulk}{exportId}/enqueue.json"));

    public async Task<JsonElement> StatusAsync(string exportId) =>
        OneResult(await CallAsync(HttpMethod.Get, $"{Bulk}{exportId}/status.json"));

    /// <summary>The one result of a successful call; fails with the envelope otherwise.</summary>
    public static JsonElement OneResult(JsonElement envelope)
    {
        Assert.True(envelope.GetProperty("success").GetBoolean(), envelope.GetRawText());
        return Assert.Single(envelope.GetProperty("result").EnumerateArray().ToArray());
    }

    /// <summary>The code of the one error of a failed call.</summary>
    public static string ErrorCode(JsonElement envelope)
    {
        Assert.False(envelope.GetProperty("success").GetBoolean(), envelope.GetRawText());
        return Assert.Single(envelope.GetProperty("errors").EnumerateArray().ToArray()).GetProperty("code").GetString()!;
    }
}
