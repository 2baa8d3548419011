using System.Text.Json.Serialization;

namespace Spillway.Contracts;

/// <summary>The body of a successful <c>/identity/oauth/token</c> call (plain OAuth JSON, not the envelope).</summary>
public sealed record AccessTokenResponse
{
    /// <summary>The bearer token.</summary>
    [JsonPropertyName("access_token")] public string AccessToken { get; init; } = "";

    /// <summary>Always <c>bearer</c>.</summary>
    [JsonPropertyName("token_type")] public string TokenType { get; init; } = "bearer";

    /// <summary>Seconds the token has left.</summary>
    [JsonPropertyName("expires_in")] public long ExpiresIn { get; init; }

    /// <summary>The API user's email.</summary>
    [JsonPropertyName("scope")] public string Scope { get; init; } = "";
}

/// <summary>The body of a failed <c>/identity/oauth/token</c> call (HTTP 401).</summary>
public sealed record OAuthErrorResponse
{
    /// <summary>The OAuth error, e.g. <c>invalid_client</c>.</summary>
    [JsonPropertyName("error")] public string Error { get; init; } = "";

    /// <summary>A description such as <c>Bad client credentials</c>.</summary>
    [JsonPropertyName("error_description")] public string ErrorDescription { get; init; } = "";
}
