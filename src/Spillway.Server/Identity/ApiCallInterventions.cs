namespace Spillway.Server.Identity;

/// <summary>
/// What the API access filter lets a test rig do with every call it admits: name the call for a request log, answer
/// instead of the endpoint (a fault rule), and log the answer. The filter knows nothing of the rig; the default does
/// nothing, and the controls replace it.
/// </summary>
public interface IApiCallInterventions
{
    /// <summary>Names the call's subscription and API user, once the token says who calls.</summary>
    void Identify(HttpContext http, int subscriptionId, string email);

    /// <summary>An answer to give instead of the endpoint's, or null to go on (may also delay or cut the call).</summary>
    ValueTask<IResult?> ApplyFaultsAsync(HttpContext http, int subscriptionId, int apiUserId, string email);

    /// <summary>Remembers the answer an endpoint produced and the filter executed itself.</summary>
    void NoteResult(HttpContext http, IResult result);

    /// <summary>Logs the call once its answer is known (<paramref name="returned"/> is what the filter returned).</summary>
    ValueTask RecordAsync(HttpContext http, object? returned, long startedTimestamp);
}

/// <summary>No rig: calls go straight to their endpoints and nothing is logged.</summary>
public sealed class NoApiCallInterventions : IApiCallInterventions
{
    public void Identify(HttpContext http, int subscriptionId, string email)
    {
    }

    public ValueTask<IResult?> ApplyFaultsAsync(HttpContext http, int subscriptionId, int apiUserId, string email) => ValueTask.FromResult<IResult?>(null);

    public void NoteResult(HttpContext http, IResult result)
    {
    }

    public ValueTask RecordAsync(HttpContext http, object? returned, long startedTimestamp) => ValueTask.CompletedTask;
}
