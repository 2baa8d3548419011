using System.Net.Sockets;
using System.Text;

namespace Spillway.Server.Tests.Fuzz;

/// <summary>
/// Seeded malformed HTTP/1.1 framing sent over a raw socket (what HttpClient refuses to send): overflowing and
/// non-hex chunk sizes, chunks shorter than declared, a body shorter than its Content-Length, Content-Length with
/// Transfer-Encoding, header lines without a colon, bare LF line ends, bad request lines. The server may answer 4xx or
/// close the connection; it must never answer 5xx (but 505 to an HTTP version it does not speak), and it must keep serving.
/// </summary>
public static class FuzzFraming
{
    private static readonly string[] Targets =
    [
        "/bulk/v1/activities/export/create.json", "/rest/v1/activities/external.json", "/rest/v1/leads.json",
        "/identity/oauth/token", "/_spillway/admin/subscriptions", "/bulk/v1/leads/export/create.json",
    ];

    /// <summary>Sends one malformed request; returns what was wrong with the answer, or null.</summary>
    public static async Task<string?> SendAsync(Uri server, Random random, string token, CancellationToken ct = default)
    {
        var target = Targets[random.Next(Targets.Length)];
        var body = "{\"input\":[{\"leadId\":1}],\"filter\":{\"createdAt\":{\"startAt\":\"2026-02-01\",\"endAt\":\"2026-02-02\"}}}";
        var head = $"POST {target} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n";
        var kind = random.Next(10);
        var request = kind switch
        {
            0 => head + "Transfer-Encoding: chunked\r\n\r\n" + "FFFFFFFFFFFFFFFFFFFF\r\n" + body + "\r\n0\r\n\r\n",
            1 => head + "Transfer-Encoding: chunked\r\n\r\n" + "zz\r\n" + body + "\r\n0\r\n\r\n",
            2 => head + "Transfer-Encoding: chunked\r\n\r\n" + "400\r\n" + body,
            3 => head + $"Content-Length: {body.Length + 500}\r\n\r\n" + body,
            4 => head + $"Content-Length: {body.Length}\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
            5 => head + "X-No-Colon-Here\r\n\r\n",
            6 => head.Replace("\r\n", "\n", StringComparison.Ordinal) + $"Content-Length: {body.Length}\n\n" + body,
            7 => $"P\u00d6ST {target} HTTP/1.1\r\nHost: x\r\n\r\n",
            8 => $"POST {target} HTTP/9.9\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            _ => head + $"Content-Length: {body.Length}, {body.Length}\r\nContent-Length: 3\r\n\r\n" + body,
        };

        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, ct);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.Latin1.GetBytes(request), ct);
            if (kind is 2 or 3)
            {
                // The body is shorter than declared: stop sending, as a client that died would.
                client.Client.Shutdown(SocketShutdown.Send);
            }
        }
        catch (IOException)
        {
            return null; // refused before the whole request was sent
        }

        var buffer = new byte[256];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        int read;
        try
        {
            read = await stream.ReadAsync(buffer, timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return null; // closed or reset: a refusal
        }

        if (read == 0)
        {
            return null;
        }

        var statusLine = Encoding.Latin1.GetString(buffer, 0, read).Split("\r\n")[0];
        var parts = statusLine.Split(' ');
        // 505 is HTTP's own answer to a version it does not speak (RFC 9110 15.6.6), not a server failure.
        return parts.Length >= 2 && int.TryParse(parts[1], out var status) && status >= 500 && !(status == 505 && kind == 8)
            ? $"framing case {kind} to {target}: {statusLine}"
            : null;
    }
}
