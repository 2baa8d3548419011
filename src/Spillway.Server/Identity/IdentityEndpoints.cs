using Microsoft.AspNetCore.Http.HttpResults;
using Spillway.Contracts;

namespace Spillway.Server.Identity;

/// <summary>
/// <c>/identity/oauth/token</c>: client credentials in the query string or a form body, GET or POST.
/// Plain OAuth JSON, not the Marketo envelope; not counted against the API limits.
/// </summary>
internal static class IdentityEndpoints
{
    public static RouteGroupBuilder MapIdentityEndpoints(this IEndpointRouteBuilder app)
    {
        var identity = app.MapGroup("/identity").WithTags("Identity");
        identity.MapMethods("/oauth/token", [HttpMethods.Get, HttpMethods.Post], IssueTokenAsync)
            .WithName("GetAccessToken")
            .WithSummary("Issues (or returns the still valid) access token of a client id/secret pair.");
        return identity;
    }

    internal static async Task<Results<JsonHttpResult<AccessTokenResponse>, JsonHttpResult<OAuthErrorResponse>>> IssueTokenAsync(
        HttpContext context, TokenService tokens, TimeProvider clock)
    {
        var request = context.Request;
        IFormCollection? form = null;
        if (request.HasFormContentType)
        {
            try
            {
                form = await request.ReadFormAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is InvalidDataException || ex is IOException and not BadHttpRequestException) // a malformed multipart body: no form
            {
                form = null;
            }
        }

        string Param(string name)
        {
            var q = request.Query[name].ToString();
            return q.Length > 0 ? q : form?[name].ToString() ?? "";
        }

        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";

        var grantType = Param("grant_type");
        if (!string.Equals(grantType, "client_credentials", StringComparison.Ordinal))
        {
            return TypedResults.Json(new OAuthErrorResponse
            {
                Error = grantType.Length == 0 ? "invalid_request" : "unsupported_grant_type",
                ErrorDescription = grantType.Length == 0 ? "Missing grant type" : "Unsupported grant type",
            }, MarketoJsonContext.Wire.OAuthErrorResponse, Hosting.MarketoHttp.JsonContentType, StatusCodes.Status400BadRequest);
        }

        var issued = await tokens.IssueAsync(Param("client_id"), Param("client_secret"), context.RequestAborted);
        if (issued is not { } ok)
        {
            return TypedResults.Json(new OAuthErrorResponse { Error = "invalid_client", ErrorDescription = "Bad client credentials" },
                MarketoJsonContext.Wire.OAuthErrorResponse, Hosting.MarketoHttp.JsonContentType, StatusCodes.Status401Unauthorized);
        }

        var remaining = (long)Math.Floor((ok.Token.ExpiresAt - clock.GetUtcNow()).TotalSeconds);
        return TypedResults.Json(new AccessTokenResponse
        {
            AccessToken = ok.Token.Token,
            TokenType = "bearer",
            ExpiresIn = Math.Max(0, remaining),
            Scope = ok.User.Email,
        }, MarketoJsonContext.Wire.AccessTokenResponse, Hosting.MarketoHttp.JsonContentType);
    }
}
