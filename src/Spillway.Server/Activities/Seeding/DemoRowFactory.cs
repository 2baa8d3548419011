using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Seeding;

/// <summary>Builds one demo activity at a time; all pools are built once, up front.</summary>
internal sealed class DemoRowFactory
{
    /// <summary>
    /// The type mix, in 1/10000ths (sums to 10000), and the percentage of rows of each type without a campaign
    /// (web behaviour is not done by a smart campaign; sends are).
    /// </summary>
    internal static readonly (int TypeId, int Weight, int NoCampaignPercent)[] Mix =
    [
        (1, 2300, 85),   // Visit Webpage
        (6, 1400, 2),    // Send Email
        (7, 1300, 2),    // Email Delivered
        (10, 1000, 5),   // Open Email
        (13, 900, 30),   // Change Data Value
        (22, 650, 10),   // Change Score
        (11, 400, 5),    // Click Email
        (3, 300, 85),    // Click Link
        (2, 300, 70),    // Fill Out Form
        (24, 300, 30),   // Add to List
        (104, 300, 10),  // Change Status in Progression
        (12, 200, 60),   // New Lead
        (46, 150, 20),   // Interesting Moment
        (27, 80, 10),    // Email Bounced Soft
        (8, 70, 10),     // Email Bounced
        (25, 60, 30),    // Remove from List
        (19, 60, 30),    // Sync Lead to SFDC
        (47, 50, 0),     // Request Campaign
        (113, 40, 10),   // Add to Nurture
        (101, 40, 30),   // Change Revenue Stage
        (9, 30, 10),     // Unsubscribe Email
        (23, 30, 30),    // Change Owner
        (110, 30, 10),   // Call Webhook
        (32, 10, 60),    // Merge Leads
    ];

    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    private static readonly byte[] TypeSlots = BuildTypeSlots();

    private readonly DemoRandom _rng;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _w;
    private readonly StringBuilder _sb = new(256);
    private readonly long[] _leads;
    private long _nextLeadId;
    private readonly (long Id, string Name)[] _campaigns;
    private readonly (long Id, string Name)[] _mailings;
    private readonly string[] _ips;
    private readonly Asset[] _programs;
    private readonly Asset[] _lists;
    private readonly Asset[] _forms;
    private readonly (Asset Field, string[] Values)[] _dataChanges;
    private readonly int[] _dataChangeSlots;
    private readonly Asset[] _scoreFields;
    private readonly int[] _scoreSlots;
    private readonly Asset[] _nurturePrograms;

    // Per row.
    private string? _hard;
    private long? _primaryId;
    private string? _primaryValue;
    private long _leadId;
    private long _now;

    public DemoRowFactory(int seed, long count)
    {
        _rng = new DemoRandom(seed, 2);
        _w = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = Encoder, SkipValidation = true });

        // Leads: a pool of existing leads, ids ascending with gaps, then shuffled so activity is not tied to age.
        var poolSize = (int)Math.Clamp(count / 25, 100, 250_000);
        _leads = new long[poolSize];
        var id = 1000L + _rng.Next(5000);
        for (var i = 0; i < poolSize; i++)
        {
            _leads[i] = id;
            id += _rng.Next(100) < 20 ? 1 + _rng.Next(1, 50) : 1;
        }

        for (var i = poolSize - 1; i > 0; i--)
        {
            var j = _rng.Next(i + 1);
            (_leads[i], _leads[j]) = (_leads[j], _leads[i]);
        }

        _nextLeadId = id + 1000;

        var catalog = AssetCatalog.Standard;
        _programs = [.. catalog.In(AssetGroup.MarketingProgram)];
        _lists = [.. catalog.In(AssetGroup.StaticList)];
        _forms = [.. catalog.In(AssetGroup.WebForm)];
        _nurturePrograms = [catalog.FindById(AssetGroup.MarketingProgram, 1149)!, catalog.FindById(AssetGroup.MarketingProgram, 1186)!];

        // Campaigns and emails come from the marketing world so that every id a row names resolves over REST.
        _campaigns = [.. MarketingWorld.Campaigns.Select(c => (c.Id, c.Name))];
        _mailings = [.. MarketingWorld.Emails.Select(e => (e.Id, e.Name))];

        // Documentation address ranges (RFC 5737, RFC 3849): realistic shape, nobody's real address.
        _ips = new string[1024];
        string[] v4 = ["192.0.2.", "198.51.100.", "203.0.113."];
        for (var k = 0; k < _ips.Length; k++)
        {
            _ips[k] = k % 16 == 15
                ? string.Create(CultureInfo.InvariantCulture, $"2001:db8:{_rng.Next(0x10000):x}::{_rng.Next(0x10000):x}")
                : string.Create(CultureInfo.InvariantCulture, $"{v4[_rng.Next(3)]}{_rng.Next(1, 255)}");
        }

        (_dataChanges, _dataChangeSlots) = BuildDataChanges(catalog);
        (_scoreFields, _scoreSlots) = BuildScoreFields(catalog);
    }

    public ActivityRecord Create(long marketoGuid, long unixSeconds)
    {
        var (typeId, _, noCampaign) = Mix[TypeSlots[_rng.Next(TypeSlots.Length)]];
        _now = unixSeconds;
        _leadId = _leads[PickSkewed(_leads.Length, 3)];
        _primaryId = null;
        _primaryValue = null;
        _hard = null;
        string? hardPrimary = null;
        var freePrimary = HasFreeTextPrimary(typeId);
        if (_rng.Next(100) == 0)
        {
            var hard = _rng.Pick(DemoText.Hard);
            if (freePrimary && _rng.Next(2) == 0)
            {
                hardPrimary = hard;
            }
            else
            {
                _hard = hard;
            }
        }

        _buffer.ResetWrittenCount();
        _w.Reset(_buffer);
        _w.WriteStartObject();
        WriteType(typeId);
        _w.WriteEndObject();
        _w.Flush();

        if (_hard is not null && freePrimary)
        {
            hardPrimary = _hard;
        }

        if (hardPrimary is not null)
        {
            _primaryValue = hardPrimary;
        }

        long? campaignId = _rng.Next(100) < noCampaign ? null : _campaigns[PickSkewed(_campaigns.Length, 2)].Id;
        var r = _rng.Next(100);
        var actionResult = r < 90 ? "succeeded" : r < 95 ? "skipped" : r < 98 ? "failed" : null;
        var attributes = _buffer.WrittenCount == 2 ? "{}" : JsonText(_buffer.WrittenSpan);
        return new ActivityRecord(marketoGuid, _leadId, DateTimeOffset.FromUnixTimeSeconds(unixSeconds), typeId, campaignId,
            _primaryId, _primaryValue, attributes, actionResult);
    }

    /// <summary>
    /// The JSON as a string. UnsafeRelaxedJsonEscaping keeps BMP text (CJK, accents) raw but still escapes
    /// characters outside the BMP (emoji) as surrogate pairs; those are turned back into raw UTF-8 here so that all
    /// non-ASCII text is stored raw. Only escapes the encoder produced are touched (an escaped backslash is skipped).
    /// </summary>
    internal static string JsonText(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf("\\uD"u8) < 0)
        {
            return Encoding.UTF8.GetString(json);
        }

        var output = new byte[json.Length];
        var length = 0;
        for (var i = 0; i < json.Length; i++)
        {
            var b = json[i];
            if (b == (byte)'\\' && i + 1 < json.Length)
            {
                if (json[i + 1] == (byte)'u' && i + 11 < json.Length && json[i + 6] == (byte)'\\' && json[i + 7] == (byte)'u'
                    && TryHex(json.Slice(i + 2, 4), out var high) && char.IsHighSurrogate((char)high)
                    && TryHex(json.Slice(i + 8, 4), out var low) && char.IsLowSurrogate((char)low))
                {
                    var rune = new Rune(char.ConvertToUtf32((char)high, (char)low));
                    length += rune.EncodeToUtf8(output.AsSpan(length));
                    i += 11;
                    continue;
                }

                output[length++] = b;
                output[length++] = json[++i];
                continue;
            }

            output[length++] = b;
        }

        return Encoding.UTF8.GetString(output, 0, length);
    }

    private static bool TryHex(ReadOnlySpan<byte> hex, out int value) =>
        int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);

    /// <summary>Types whose primaryAttributeValue is free text rather than an asset-group name.</summary>
    private static bool HasFreeTextPrimary(int typeId) => typeId is 1 or 3 or 6 or 7 or 8 or 9 or 10 or 11 or 27 or 32 or 47 or 110;

    private void WriteType(int typeId)
    {
        switch (typeId)
        {
            case 1: VisitWebpage(); break;
            case 2: FillOutForm(); break;
            case 3: ClickLink(); break;
            case 6 or 7: SendOrDelivered(); break;
            case 8: Bounce(DemoText.HardBounces); break;
            case 27: Bounce(DemoText.SoftBounces); break;
            case 9: Unsubscribe(); break;
            case 10: OpenEmail(); break;
            case 11: ClickEmail(); break;
            case 12: NewLead(); break;
            case 13: ChangeDataValue(); break;
            case 22: ChangeScore(); break;
            case 24 or 25: ListMembership(typeId); break;
            case 104: ChangeStatusInProgression(); break;
            case 46: InterestingMoment(); break;
            case 47: RequestCampaign(); break;
            case 113: AddToNurture(); break;
            case 23: ChangeOwner(); break;
            case 19: SyncLeadToSfdc(); break;
            case 101: ChangeRevenueStage(); break;
            case 32: MergeLeads(); break;
            case 110: CallWebhook(); break;
            default: throw new InvalidOperationException($"No demo data for type {typeId}.");
        }
    }

    // ---- per type ----

    private void VisitWebpage()
    {
        var page = _rng.Pick(DemoText.Pages);
        _primaryId = page.Id;
        _primaryValue = page.Page;
        S(N.ClientIp, Ip());
        B(N.PersonalizedUrl, false);
        var query = _rng.Next(100) < 25 ? _rng.Pick(DemoText.QueryParameters) : null;
        var hard = TakeHard();
        if (hard is not null || query is not null)
        {
            S(N.QueryParameters, hard ?? query!);
        }

        var referrer = _rng.Next(100) < 60 ? _rng.Pick(DemoText.Referrers) : null;
        if (referrer is not null)
        {
            S(N.ReferrerUrl, referrer);
            if (referrer == "https://www.google.com/" && _rng.Next(100) < 30)
            {
                S(N.SearchEngine, "Google");
                S(N.SearchQuery, _rng.Pick(DemoText.SearchQueries));
            }
        }

        S(N.UserAgent, Browser());
        S(N.WebpageUrl, page.Path);
    }

    private void FillOutForm()
    {
        var form = _forms[PickSkewed(_forms.Length, 2)];
        _primaryId = form.Id;
        _primaryValue = form.Name;
        S(N.ClientIp, Ip());
        var comment = TakeHard() ?? (_rng.Next(100) < 20 ? "Please contact me about pricing." : null);
        S(N.FormFields, FormFields(comment));
        if (_rng.Next(100) < 30)
        {
            S(N.QueryParameters, _rng.Pick(DemoText.QueryParameters));
        }

        if (_rng.Next(100) < 50)
        {
            S(N.ReferrerUrl, _rng.Pick(DemoText.Referrers));
        }

        S(N.UserAgent, Browser());
        I(N.WebpageId, _rng.Pick(DemoText.Pages).Id);
    }

    private void ClickLink()
    {
        var link = _rng.Pick(DemoText.Links);
        _primaryId = link.Id;
        _primaryValue = link.Url;
        S(N.ClientIp, Ip());
        var query = TakeHard() ?? (_rng.Next(100) < 20 ? _rng.Pick(DemoText.QueryParameters) : null);
        if (query is not null)
        {
            S(N.QueryParameters, query);
        }

        if (_rng.Next(100) < 70)
        {
            S(N.ReferrerUrl, "https://" + _rng.Pick(DemoText.Pages).Page);
        }

        S(N.UserAgent, Browser());
        I(N.WebpageId, _rng.Pick(DemoText.Pages).Id);
    }

    private void SendOrDelivered()
    {
        Mailing();
        EmailStep(N.ChoiceNumber, N.HasPredictive);
    }

    private void Bounce((string Category, string Subcategory, string Details)[] kinds)
    {
        Mailing();
        var kind = _rng.Pick(kinds);
        I(N.CampaignRunId, CampaignRunId());
        S(N.Category, kind.Category);
        I(N.ChoiceNumber, ChoiceNumber());
        S(N.Details, Txt(kind.Details));
        S(N.Email, LeadEmail(_leadId));
        B(N.HasPredictive, false);
        I(N.StepId, _rng.Next(1, 40));
        S(N.Subcategory, kind.Subcategory);
        I(N.TestVariant, TestVariant());
    }

    private void Unsubscribe()
    {
        Mailing();
        I(N.CampaignRunId, CampaignRunId());
        S(N.ClientIp, Ip());
        S(N.FormFields, Php(("Email", LeadEmail(_leadId)), ("Unsubscribed", "yes"), ("UnsubscribedReason", Txt("Too many emails"))));
        B(N.HasPredictive, false);
        S(N.QueryParameters, "mkt_unsubscribe=1&mkt_tok=NDI2LVhZQS0yNzMAAAGTk3z");
        S(N.ReferrerUrl, "https://info.example.com/UnsubscribePage.html");
        I(N.TestVariant, TestVariant());
        S(N.UserAgent, Browser());
        I(N.WebformId, 2213);
        I(N.WebpageId, 7011);
    }

    private void OpenEmail()
    {
        Mailing();
        var client = _rng.Pick(DemoText.MailClients);
        I(N.CampaignRunId, CampaignRunId());
        I(N.ChoiceNumber, ChoiceNumber());
        S(N.Device, Txt(client.Device));
        B(N.HasPredictive, false);
        B(N.IsMobileDevice, client.Mobile);
        S(N.Platform, client.Platform);
        I(N.StepId, _rng.Next(1, 40));
        I(N.TestVariant, TestVariant());
        S(N.UserAgent, client.Agent);
    }

    private void ClickEmail()
    {
        Mailing();
        var client = _rng.Pick(DemoText.MailClients);
        var link = _rng.Pick(DemoText.Links);
        I(N.CampaignRunId, CampaignRunId());
        I(N.ChoiceNumber, ChoiceNumber());
        S(N.Device, client.Device);
        B(N.IsMobileDevice, client.Mobile);
        B(N.IsPredictive, false);
        S(N.Link, Txt(link.Url));
        S(N.LinkId, link.Id.ToString(CultureInfo.InvariantCulture));
        S(N.Platform, client.Platform);
        I(N.StepId, _rng.Next(1, 40));
        I(N.TestVariant, TestVariant());
        S(N.UserAgent, client.Agent);
    }

    private void NewLead()
    {
        // A new lead joins the population (replacing one that goes quiet) and is active from now on.
        var id = _nextLeadId;
        _nextLeadId += _rng.Next(100) < 10 ? 1 + _rng.Next(1, 5) : 1;
        _leads[PickSkewed(_leads.Length, 3)] = id;
        _leadId = id;
        _primaryId = id;
        _primaryValue = null;
        S(N.CreatedDate, DateTimeOffset.FromUnixTimeSeconds(_now).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var source = Txt(_rng.Pick(DemoText.LeadSources));
        switch (_rng.Next(4))
        {
            case 0:
                S(N.FormName, _forms[PickSkewed(_forms.Length, 2)].QualifiedName);
                S(N.LeadSource, source);
                S(N.SourceType, "Web form fillout");
                break;
            case 1:
                S(N.LeadSource, source);
                S(N.ListName, _rng.Pick(_lists).Name);
                S(N.SourceType, "List import");
                S(N.ModifyingUser, _rng.Pick(DemoText.MarketoUsers));
                break;
            case 2:
                S(N.LeadSource, source);
                S(N.SfdcType, _rng.Next(3) == 0 ? "Contact" : "Lead");
                S(N.SourceType, "SFDC sync");
                break;
            default:
                S(N.LeadSource, source);
                S(N.SourceType, "Web service API");
                S(N.ApiMethodName, "syncLead");
                S(N.ModifyingUser, _rng.Pick(DemoText.ApiUsers));
                S(N.RequestId, RequestId());
                break;
        }
    }

    private void ChangeDataValue()
    {
        var (field, values) = _dataChanges[_dataChangeSlots[_rng.Next(_dataChangeSlots.Length)]];
        _primaryId = field.Id;
        _primaryValue = field.Name;
        var newIndex = _rng.Next(values.Length);
        S(N.NewValue, Txt(values[newIndex]));
        if (_rng.Next(100) < 80)
        {
            S(N.OldValue, values[(newIndex + 1 + _rng.Next(values.Length - 1)) % values.Length]);
        }

        switch (_rng.Next(5))
        {
            case 0 or 1:
                S(N.Reason, "Changed by Smart Campaign " + _rng.Pick(_campaigns).Name + " action Change Data Value");
                S(N.Source, "Marketo Flow Action");
                break;
            case 2:
                S(N.Reason, "Form fill-out");
                S(N.Source, "Web form fillout");
                break;
            case 3:
                S(N.Reason, "Web service API");
                S(N.Source, "Web service API");
                S(N.ApiMethodName, _rng.Next(2) == 0 ? "syncLead" : "updateLead");
                S(N.ModifyingUser, _rng.Pick(DemoText.ApiUsers));
                S(N.RequestId, RequestId());
                break;
            default:
                S(N.Reason, "Sales update");
                S(N.Source, "Salesforce.com");
                break;
        }
    }

    private static readonly (string Text, int Delta)[] ScoreChanges =
        [("+5", 5), ("+10", 10), ("+10", 10), ("+15", 15), ("+25", 25), ("+50", 50), ("-5", -5), ("-10", -10), ("-25", -25)];

    private void ChangeScore()
    {
        var field = _scoreFields[_scoreSlots[_rng.Next(_scoreSlots.Length)]];
        _primaryId = field.Id;
        _primaryValue = field.Name;
        var change = _rng.Pick(ScoreChanges);
        var old = _rng.Next(0, 150);
        S(N.ChangeValue, change.Text);
        I(N.NewValue, old + change.Delta);
        I(N.OldValue, old);
        S(N.Reason, Txt("Changed by Smart Campaign " + _rng.Pick(_campaigns).Name + " action Change Score"));
        if (_rng.Next(100) < 20)
        {
            I(N.Priority, _rng.Next(0, 100));
            _w.WriteNumber(N.Urgency, _rng.Next(0, 10000) / 100.0);
            I(N.RelativeScore, _rng.Next(1, 4));
            I(N.RelativeUrgency, _rng.Next(1, 4));
        }
    }

    private void ListMembership(int typeId)
    {
        var list = _lists[PickSkewed(_lists.Length, 2)];
        _primaryId = list.Id;
        _primaryValue = list.Name;
        switch (_rng.Next(3))
        {
            case 0:
                S(N.Source, Txt("Marketo Flow Action"));
                break;
            case 1:
                S(N.Source, Txt("Web service API"));
                S(N.ApiMethodName, typeId == 24 ? "addLeadsToList" : "removeLeadsFromList");
                S(N.ModifyingUser, _rng.Pick(DemoText.ApiUsers));
                S(N.RequestId, RequestId());
                break;
            default:
                S(N.Source, Txt("Marketo UI"));
                S(N.ModifyingUser, _rng.Pick(DemoText.MarketoUsers));
                break;
        }
    }

    private void ChangeStatusInProgression()
    {
        var program = _programs[PickSkewed(_programs.Length, 2)];
        _primaryId = program.Id;
        _primaryValue = program.Name;
        var step = _rng.Pick(DemoText.ProgressionSteps);
        S(N.Reason, Txt("Changed by Smart Campaign " + program.Name + "." + _rng.Pick(DemoText.CampaignStems) + " action Change Program Status"));
        I(N.ProgramMemberId, 3_240_000 + _rng.Next(500_000));
        B(N.AcquiredBy, _rng.Next(100) < 10);
        S(N.OldStatus, step.Old);
        S(N.NewStatus, step.New);
        I(N.OldStatusId, step.OldId);
        I(N.NewStatusId, step.NewId);
        B(N.Success, _rng.Next(100) < 95);
    }

    private void InterestingMoment()
    {
        var moment = _rng.Pick(DemoText.Moments);
        S(N.Type, moment.Type);
        S(N.Description, Txt(moment.Description));
        S(N.Source, moment.Type == "Milestone" ? "Marketo" : moment.Type);
        S(N.Date, DateTimeOffset.FromUnixTimeSeconds(_now).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }

    private void RequestCampaign()
    {
        var campaign = _campaigns[PickSkewed(_campaigns.Length, 2)];
        _primaryId = campaign.Id;
        _primaryValue = campaign.Name;
        S(N.Source, Txt(_rng.Next(2) == 0 ? "Web service API" : "Marketo Flow Action"));
    }

    private void AddToNurture()
    {
        var program = _rng.Pick(_nurturePrograms);
        _primaryId = program.Id;
        _primaryValue = program.Name;
        var track = _rng.Next(DemoText.NurtureTracks.Length);
        I(N.TrackId, 900 + track);
        S(N.TrackName, Txt(DemoText.NurtureTracks[track]));
    }

    private void ChangeOwner()
    {
        var newOwner = _rng.Next(DemoText.Owners.Length);
        _primaryId = 100 + newOwner;
        _primaryValue = DemoText.Owners[newOwner];
        S(N.NewOwner, Txt(DemoText.Owners[newOwner]));
        if (_rng.Next(100) < 70)
        {
            S(N.OldOwner, DemoText.Owners[(newOwner + 1) % DemoText.Owners.Length]);
        }
    }

    private void SyncLeadToSfdc()
    {
        S(N.AssignTo, Txt(_rng.Pick(DemoText.Owners)));
        S(N.SyncType, _rng.Next(3) == 0 ? "Create" : "Update");
    }

    private void ChangeRevenueStage()
    {
        _primaryId = 1;
        _primaryValue = "Default Revenue Model";
        var stage = _rng.Next(1, DemoText.RevenueStages.Length);
        var (newId, newName) = DemoText.RevenueStages[stage];
        var (oldId, oldName) = DemoText.RevenueStages[stage - 1];
        I(N.NewStageId, newId);
        I(N.OldStageId, oldId);
        S(N.NewStage, newName);
        S(N.OldStage, oldName);
        S(N.Reason, Txt("Changed by Smart Campaign Operational - Lead Lifecycle.Lifecycle - Set " + newName));
    }

    private void MergeLeads()
    {
        var loser = _leads[_rng.Next(_leads.Length)];
        _primaryId = _leadId;
        _primaryValue = LeadFirstName(_leadId) + " " + LeadLastName(_leadId);
        S(N.MergeIds, string.Create(CultureInfo.InvariantCulture, $"{_leadId},{loser}"));
        B(N.MergedInSales, _rng.Next(100) < 30);
        S(N.MergeSource, Txt(_rng.Next(2) == 0 ? "Marketo UI" : "Web service API"));
        B(N.MasterUpdated, _rng.Next(2) == 0);
    }

    private void CallWebhook()
    {
        var hook = _rng.Pick(DemoText.Webhooks);
        _primaryId = hook.Id;
        _primaryValue = hook.Name;
        if (_rng.Next(100) < 90)
        {
            S(N.WebhookResponse, Txt("{\"status\":\"ok\",\"updated\":true}"));
        }
        else
        {
            S(N.WebhookResponse, Txt("<html><body>Service Unavailable</body></html>"));
            S(N.ErrorType, "HTTP 503");
        }
    }

    // ---- helpers ----

    private void Mailing()
    {
        var mailing = _mailings[PickSkewed(_mailings.Length, 2)];
        _primaryId = mailing.Id;
        _primaryValue = mailing.Name;
    }

    private void EmailStep(JsonEncodedText choice, JsonEncodedText predictive)
    {
        I(N.CampaignRunId, CampaignRunId());
        I(choice, ChoiceNumber());
        B(predictive, _rng.Next(100) < 2);
        I(N.StepId, _rng.Next(1, 40));
        I(N.TestVariant, TestVariant());
    }

    private int CampaignRunId() => 100_000 + _rng.Next(900_000);

    private int ChoiceNumber() => _rng.Next(100) < 80 ? 0 : _rng.Next(1, 4);

    private int TestVariant() => _rng.Next(100) < 85 ? 0 : _rng.Next(1, 3);

    private string RequestId() =>
        string.Create(CultureInfo.InvariantCulture, $"{_rng.Next(0x10000):x}#{(_now * 1000) + _rng.Next(1000):x}");

    private string Ip() => _rng.Next(100) < 80 ? _ips[(int)((ulong)_leadId * 2654435761UL % (ulong)_ips.Length)] : _ips[_rng.Next(_ips.Length)];

    private string Browser() => _rng.Next(100) < 85
        ? DemoText.UserAgents[(int)(_leadId % DemoText.UserAgents.Length)]
        : _rng.Pick(DemoText.UserAgents);

    private int PickSkewed(int length, int power)
    {
        var u = _rng.NextDouble();
        var x = power == 3 ? u * u * u : u * u;
        return (int)(x * length);
    }

    private string? TakeHard()
    {
        var hard = _hard;
        _hard = null;
        return hard;
    }

    private string Txt(string normal) => TakeHard() ?? normal;

    private static string LeadFirstName(long id) => DemoText.FirstNames[(int)(id % DemoText.FirstNames.Length)];

    private static string LeadLastName(long id) => DemoText.LastNames[(int)(id / DemoText.FirstNames.Length % DemoText.LastNames.Length)];

    private static string LeadEmail(long id) => string.Create(CultureInfo.InvariantCulture,
        $"{LeadFirstName(id).ToLowerInvariant()}.{LeadLastName(id).Replace(" ", "", StringComparison.Ordinal).Replace("'", "", StringComparison.Ordinal).ToLowerInvariant()}{id % 1000}@{DemoText.Domains[(int)(id / 7 % DemoText.Domains.Length)]}");

    private string FormFields(string? comment)
    {
        var company = DemoText.Companies[(int)(_leadId / 3 % DemoText.Companies.Length)];
        return comment is null
            ? Php(("FirstName", LeadFirstName(_leadId)), ("LastName", LeadLastName(_leadId)), ("Email", LeadEmail(_leadId)), ("Company", company))
            : Php(("FirstName", LeadFirstName(_leadId)), ("LastName", LeadLastName(_leadId)), ("Email", LeadEmail(_leadId)), ("Company", company), ("Comments", comment));
    }

    /// <summary>Form fields as Marketo stores them: a PHP-serialized array (string lengths in UTF-8 bytes).</summary>
    private string Php(params (string Key, string Value)[] fields)
    {
        var sb = _sb.Clear();
        sb.Append("a:").Append(fields.Length).Append(":{");
        foreach (var (key, value) in fields)
        {
            sb.Append("s:").Append(Encoding.UTF8.GetByteCount(key)).Append(":\"").Append(key).Append("\";");
            sb.Append("s:").Append(Encoding.UTF8.GetByteCount(value)).Append(":\"").Append(value).Append("\";");
        }

        return sb.Append('}').ToString();
    }

    private void S(JsonEncodedText name, string value) => _w.WriteString(name, value);

    private void I(JsonEncodedText name, long value) => _w.WriteNumber(name, value);

    private void B(JsonEncodedText name, bool value) => _w.WriteBoolean(name, value);

    private static byte[] BuildTypeSlots()
    {
        var total = 0;
        foreach (var entry in Mix)
        {
            total += entry.Weight;
        }

        var slots = new byte[total];
        var at = 0;
        for (var i = 0; i < Mix.Length; i++)
        {
            Array.Fill(slots, (byte)i, at, Mix[i].Weight);
            at += Mix[i].Weight;
        }

        return slots;
    }

    private static readonly string[] Phones =
        ["+1 312 555 0142", "+1 (212) 555-0199", "+44 20 7946 0958", "+49 30 901820", "+81 3-1234-5678", "312.555.0123"];

    private static readonly string[] Employees = ["10", "50", "200", "500", "1000", "5000", "25000"];

    private static readonly string[] Revenues = ["1000000", "5000000", "25000000", "100000000", "2500000000"];

    private static readonly string[] PostalCodes = ["60601", "10001", "94105", "SW1A 1AA", "10115", "100-0001", "75001"];

    private static readonly string[] Websites = ["https://www.northwind.example", "https://contoso.example", "www.fabrikam.example"];

    private static ((Asset, string[])[] Changes, int[] Slots) BuildDataChanges(AssetCatalog catalog)
    {
        var emails = new string[12];
        for (var i = 0; i < emails.Length; i++)
        {
            emails[i] = LeadEmail(1000 + (i * 37));
        }

        (string RestName, int Weight, string[] Values)[] spec =
        [
            ("leadStatus", 20, DemoText.LeadStatuses), ("title", 8, DemoText.Titles), ("leadSource", 8, DemoText.LeadSources),
            ("company", 6, DemoText.Companies), ("phone", 5, Phones), ("city", 5, DemoText.Cities),
            ("country", 5, DemoText.Countries), ("unsubscribed", 5, DemoText.Booleans), ("industry", 4, DemoText.Industries),
            ("rating", 4, DemoText.Ratings), ("state", 3, DemoText.States), ("emailInvalid", 3, DemoText.Booleans),
            ("numberOfEmployees", 3, Employees), ("leadRole", 3, DemoText.Roles), ("department", 3, DemoText.Departments),
            ("firstName", 2, DemoText.FirstNames), ("lastName", 2, DemoText.LastNames), ("email", 2, emails),
            ("postalCode", 2, PostalCodes), ("leadPersonTimeZone", 2, DemoText.TimeZones), ("mobilePhone", 2, Phones),
            ("marketingSuspended", 1, DemoText.Booleans), ("annualRevenue", 1, Revenues), ("website", 1, Websites),
            ("doNotCall", 1, DemoText.Booleans),
        ];
        var changes = new (Asset, string[])[spec.Length];
        var slots = new List<int>();
        for (var i = 0; i < spec.Length; i++)
        {
            changes[i] = (FieldAsset(catalog, spec[i].RestName), spec[i].Values);
            slots.AddRange(Enumerable.Repeat(i, spec[i].Weight));
        }

        return (changes, slots.ToArray());
    }

    private static (Asset[] Fields, int[] Slots) BuildScoreFields(AssetCatalog catalog)
    {
        Asset[] fields =
        [
            FieldAsset(catalog, "leadScore"), FieldAsset(catalog, "priority"), FieldAsset(catalog, "urgency"),
            FieldAsset(catalog, "relativeScore"), FieldAsset(catalog, "relativeUrgency"),
        ];
        int[] weights = [84, 4, 4, 4, 4];
        var slots = new List<int>();
        for (var i = 0; i < fields.Length; i++)
        {
            slots.AddRange(Enumerable.Repeat(i, weights[i]));
        }

        return (fields, slots.ToArray());
    }

    private static Asset FieldAsset(AssetCatalog catalog, string restName)
    {
        var field = LeadFields.FindByRestName(restName) ?? throw new InvalidOperationException($"No lead field '{restName}'.");
        return catalog.FindById(AssetGroup.AttributeName, field.Id) ?? throw new InvalidOperationException($"No asset for '{restName}'.");
    }

    /// <summary>Attribute names, encoded once.</summary>
    private static class N
    {
        private static JsonEncodedText E(string name) => JsonEncodedText.Encode(name, Encoder);

        public static readonly JsonEncodedText AcquiredBy = E("Acquired By");
        public static readonly JsonEncodedText ApiMethodName = E("API Method Name");
        public static readonly JsonEncodedText AssignTo = E("Assign To");
        public static readonly JsonEncodedText CampaignRunId = E("Campaign Run ID");
        public static readonly JsonEncodedText Category = E("Category");
        public static readonly JsonEncodedText ChangeValue = E("Change Value");
        public static readonly JsonEncodedText ChoiceNumber = E("Choice Number");
        public static readonly JsonEncodedText ClientIp = E("Client IP Address");
        public static readonly JsonEncodedText CreatedDate = E("Created Date");
        public static readonly JsonEncodedText Date = E("Date");
        public static readonly JsonEncodedText Description = E("Description");
        public static readonly JsonEncodedText Details = E("Details");
        public static readonly JsonEncodedText Device = E("Device");
        public static readonly JsonEncodedText Email = E("Email");
        public static readonly JsonEncodedText ErrorType = E("Error Type");
        public static readonly JsonEncodedText FormFields = E("Form Fields");
        public static readonly JsonEncodedText FormName = E("Form Name");
        public static readonly JsonEncodedText HasPredictive = E("Has Predictive");
        public static readonly JsonEncodedText IsMobileDevice = E("Is Mobile Device");
        public static readonly JsonEncodedText IsPredictive = E("Is Predictive");
        public static readonly JsonEncodedText LeadSource = E("Lead Source");
        public static readonly JsonEncodedText Link = E("Link");
        public static readonly JsonEncodedText LinkId = E("Link ID");
        public static readonly JsonEncodedText ListName = E("List Name");
        public static readonly JsonEncodedText MasterUpdated = E("Master Updated");
        public static readonly JsonEncodedText MergedInSales = E("Merged in Sales");
        public static readonly JsonEncodedText MergeIds = E("Merge IDs");
        public static readonly JsonEncodedText MergeSource = E("Merge Source");
        public static readonly JsonEncodedText ModifyingUser = E("Modifying User");
        public static readonly JsonEncodedText NewOwner = E("New Owner");
        public static readonly JsonEncodedText NewStage = E("New Stage");
        public static readonly JsonEncodedText NewStageId = E("New Stage ID");
        public static readonly JsonEncodedText NewStatus = E("New Status");
        public static readonly JsonEncodedText NewStatusId = E("New Status ID");
        public static readonly JsonEncodedText NewValue = E("New Value");
        public static readonly JsonEncodedText OldOwner = E("Old Owner");
        public static readonly JsonEncodedText OldStage = E("Old Stage");
        public static readonly JsonEncodedText OldStageId = E("Old Stage ID");
        public static readonly JsonEncodedText OldStatus = E("Old Status");
        public static readonly JsonEncodedText OldStatusId = E("Old Status ID");
        public static readonly JsonEncodedText OldValue = E("Old Value");
        public static readonly JsonEncodedText PersonalizedUrl = E("Personalized URL");
        public static readonly JsonEncodedText Platform = E("Platform");
        public static readonly JsonEncodedText Priority = E("Priority");
        public static readonly JsonEncodedText ProgramMemberId = E("Program Member ID");
        public static readonly JsonEncodedText QueryParameters = E("Query Parameters");
        public static readonly JsonEncodedText Reason = E("Reason");
        public static readonly JsonEncodedText ReferrerUrl = E("Referrer URL");
        public static readonly JsonEncodedText RelativeScore = E("Relative Score");
        public static readonly JsonEncodedText RelativeUrgency = E("Relative Urgency");
        public static readonly JsonEncodedText RequestId = E("Request Id");
        public static readonly JsonEncodedText SearchEngine = E("Search Engine");
        public static readonly JsonEncodedText SearchQuery = E("Search Query");
        public static readonly JsonEncodedText SfdcType = E("SFDC Type");
        public static readonly JsonEncodedText Source = E("Source");
        public static readonly JsonEncodedText SourceType = E("Source Type");
        public static readonly JsonEncodedText StepId = E("Step ID");
        public static readonly JsonEncodedText Subcategory = E("Subcategory");
        public static readonly JsonEncodedText Success = E("Success");
        public static readonly JsonEncodedText SyncType = E("Sync Type");
        public static readonly JsonEncodedText TestVariant = E("Test Variant");
        public static readonly JsonEncodedText TrackId = E("Track ID");
        public static readonly JsonEncodedText TrackName = E("Track Name");
        public static readonly JsonEncodedText Type = E("Type");
        public static readonly JsonEncodedText Urgency = E("Urgency");
        public static readonly JsonEncodedText UserAgent = E("User Agent");
        public static readonly JsonEncodedText WebformId = E("Webform ID");
        public static readonly JsonEncodedText WebhookResponse = E("Webhook Response");
        public static readonly JsonEncodedText WebpageId = E("Webpage ID");
        public static readonly JsonEncodedText WebpageUrl = E("Webpage URL");
    }
}
