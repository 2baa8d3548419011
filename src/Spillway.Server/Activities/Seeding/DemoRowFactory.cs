using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;

namespace Spillway.Server.Activities.Seeding;

/// <summary>
/// Builds one demo activity at a time; all pools are built once, up front. Rows name only leads of the plan that exist
/// at their date; list membership and program status are tracked, so a Remove from List follows an Add to List of the
/// same lead and list, and a lead's status in a program only moves forward.
/// </summary>
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
    private static readonly int[] NoCampaignPercent = BuildNoCampaignPercent();

    private readonly DemoRandom _rng;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _w;
    private readonly StringBuilder _sb = new(256);
    private readonly DemoLeadPlan _plan;
    private int _known;
    private readonly (long Id, string Name)[] _campaigns;
    private readonly (long Id, string Name)[] _mailings;
    private readonly string[] _ips;
    private readonly Asset[] _programs;
    private readonly Asset[] _lists;
    private readonly Asset[] _forms;
    private readonly Asset[] _scoreFields;
    private readonly int[] _scoreSlots;
    private readonly Asset[] _nurturePrograms;

    // List membership (lead index, list index) as the rows so far leave it, with O(1) removal of a random member.
    private readonly List<(int Lead, int List)> _members = [];
    private readonly Dictionary<(int Lead, int List), int> _memberAt = [];

    // Program status per (lead index, program index): the status id and the program member id.
    private readonly Dictionary<(int Lead, int Program), (int StatusId, int MemberId)> _statuses = [];
    private int _nextMemberId = 3_240_000;

    // Per row.
    private string? _hard;
    private long? _primaryId;
    private string? _primaryValue;
    private int _lead;
    private long _leadId;
    private int _change;
    private long _now;

    public DemoRowFactory(int seed, DemoLeadPlan plan)
    {
        _rng = new DemoRandom(seed, 2);
        _w = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = Encoder, SkipValidation = true });
        _plan = plan;

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

        (_scoreFields, _scoreSlots) = BuildScoreFields(catalog);
    }

    /// <summary>An activity of a type drawn from the mix (never New Lead or Change Data Value, which the plan places).</summary>
    public ActivityRecord Create(long marketoGuid, long unixSeconds)
    {
        var typeId = Mix[TypeSlots[_rng.Next(TypeSlots.Length)]].TypeId;
        while (_known < _plan.Count && _plan.Created[_known] <= unixSeconds)
        {
            _known++;
        }

        return Row(marketoGuid, unixSeconds, typeId, _plan.PickActive(_rng, _known));
    }

    /// <summary>The New Lead row of lead <paramref name="lead"/>, at its creation.</summary>
    public ActivityRecord NewLead(long marketoGuid, int lead) =>
        Row(marketoGuid, _plan.Created[lead], StandardActivityTypes.NewLead, lead);

    /// <summary>The Change Data Value row of planned change <paramref name="change"/>.</summary>
    public ActivityRecord ChangeDataValue(long marketoGuid, int change) =>
        Row(marketoGuid, _plan.Changes[change].Time, 13, _plan.Changes[change].Lead, change);

    private ActivityRecord Row(long marketoGuid, long unixSeconds, int typeId, int lead, int change = -1)
    {
        _now = unixSeconds;
        _lead = lead;
        _leadId = _plan.Ids[lead];
        _change = change;
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
        typeId = WriteType(typeId);
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

        long? campaignId = _rng.Next(100) < NoCampaignPercent[typeId] ? null : _campaigns[PickSkewed(_campaigns.Length, 2)].Id;
        var r = _rng.Next(100);
        var actionResult = r < 90 ? "succeeded" : r < 95 ? "skipped" : r < 98 ? "failed" : null;
        var attributes = _buffer.WrittenCount == 2 ? "{}" : JsonText(_buffer.WrittenSpan);
        return new ActivityRecord(marketoGuid, _plan.Ids[_lead], DateTimeOffset.FromUnixTimeSeconds(unixSeconds), typeId, campaignId,
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

    /// <summary>Writes the attributes of a row of this type; returns the type written (list and program rows may change it).</summary>
    private int WriteType(int typeId)
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
            case 12: WriteNewLead(); break;
            case 13: WriteChangeDataValue(); break;
            case 22: ChangeScore(); break;
            case 24 or 25: return ListMembership(typeId);
            case 104: return ChangeStatusInProgression();
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

        return typeId;
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
        S(N.Email, DemoLeadProfile.EmailOf(_leadId));
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
        S(N.FormFields, Php(("Email", DemoLeadProfile.EmailOf(_leadId)), ("Unsubscribed", "yes"), ("UnsubscribedReason", Txt("Too many emails"))));
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

    private void WriteNewLead()
    {
        // The row says how the lead arrived, as its profile (and so its original source fields) does.
        var profile = _plan.Profile(_lead);
        _primaryId = _leadId;
        _primaryValue = null;
        S(N.CreatedDate, DateTimeOffset.FromUnixTimeSeconds(_now).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        switch (profile.SourceKind)
        {
            case 0:
                S(N.FormName, profile.Form.QualifiedName);
                S(N.LeadSource, profile.LeadSource);
                S(N.SourceType, "Web form fillout");
                break;
            case 1:
                S(N.LeadSource, profile.LeadSource);
                S(N.ListName, profile.List.Name);
                S(N.SourceType, "List import");
                S(N.ModifyingUser, Txt(_rng.Pick(DemoText.MarketoUsers)));
                break;
            case 2:
                S(N.LeadSource, profile.LeadSource);
                S(N.SfdcType, profile.SfdcContact ? "Contact" : "Lead");
                S(N.SourceType, "SFDC sync");
                break;
            default:
                S(N.LeadSource, profile.LeadSource);
                S(N.SourceType, "Web service API");
                S(N.ApiMethodName, "syncLead");
                S(N.ModifyingUser, Txt(_rng.Pick(DemoText.ApiUsers)));
                S(N.RequestId, RequestId());
                break;
        }
    }

    private void WriteChangeDataValue()
    {
        var change = _plan.Changes[_change];
        var field = _plan.Fields[change.Field].Asset;
        _primaryId = field.Id;
        _primaryValue = field.Name;
        S(N.NewValue, change.New);
        if (change.Old is not null)
        {
            S(N.OldValue, change.Old);
        }

        switch (_rng.Next(5))
        {
            case 0 or 1:
                S(N.Reason, Txt("Changed by Smart Campaign " + _rng.Pick(_campaigns).Name + " action Change Data Value"));
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
                S(N.ModifyingUser, Txt(_rng.Pick(DemoText.ApiUsers)));
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

    private int ListMembership(int typeId)
    {
        int list;
        if (typeId == 25 && _members.Count > 0)
        {
            // Only a member leaves a list.
            (_lead, list) = _members[_rng.Next(_members.Count)];
            RemoveMember(_lead, list);
        }
        else
        {
            typeId = 24;
            list = PickSkewed(_lists.Length, 2);
            for (var attempt = 0; _memberAt.ContainsKey((_lead, list)); attempt++)
            {
                if (attempt == 8)
                {
                    // This busy lead is on every list drawn: it leaves one instead.
                    typeId = 25;
                    RemoveMember(_lead, list);
                    break;
                }

                list = PickSkewed(_lists.Length, 2);
            }

            if (typeId == 24)
            {
                _memberAt[(_lead, list)] = _members.Count;
                _members.Add((_lead, list));
            }
        }

        _leadId = _plan.Ids[_lead];
        _primaryId = _lists[list].Id;
        _primaryValue = _lists[list].Name;
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

        return typeId;
    }

    private void RemoveMember(int lead, int list)
    {
        var at = _memberAt[(lead, list)];
        var last = _members[^1];
        _members[at] = last;
        _memberAt[last] = at;
        _members.RemoveAt(_members.Count - 1);
        _memberAt.Remove((lead, list));
    }

    private int ChangeStatusInProgression()
    {
        // A status only moves forward: the step starts at the lead's current status in the program. A lead whose
        // status is final in the drawn program is tried in another program, then another lead is drawn.
        for (var attempt = 0; attempt < 32; attempt++)
        {
            if (attempt is 8 or 16 or 24)
            {
                _lead = _plan.PickActive(_rng, Math.Max(_known, _lead + 1));
            }

            var program = PickSkewed(_programs.Length, 2);
            var current = _statuses.TryGetValue((_lead, program), out var state) ? state : (StatusId: 20, MemberId: 0);
            var first = -1;
            var options = 0;
            for (var i = 0; i < DemoText.ProgressionSteps.Length; i++)
            {
                if (DemoText.ProgressionSteps[i].OldId == current.StatusId)
                {
                    first = options == 0 ? i : first;
                    options++;
                }
            }

            if (options == 0)
            {
                continue;
            }

            var pick = _rng.Next(options);
            var stepIndex = first;
            for (var i = first; ; i++)
            {
                if (DemoText.ProgressionSteps[i].OldId == current.StatusId && pick-- == 0)
                {
                    stepIndex = i;
                    break;
                }
            }

            var step = DemoText.ProgressionSteps[stepIndex];
            var memberId = current.MemberId == 0 ? _nextMemberId++ : current.MemberId;
            _statuses[(_lead, program)] = (step.NewId, memberId);
            _leadId = _plan.Ids[_lead];
            var asset = _programs[program];
            _primaryId = asset.Id;
            _primaryValue = asset.Name;
            S(N.Reason, Txt("Changed by Smart Campaign " + asset.Name + "." + _rng.Pick(DemoText.CampaignStems) + " action Change Program Status"));
            I(N.ProgramMemberId, memberId);
            B(N.AcquiredBy, current.MemberId == 0 && _rng.Next(100) < 30);
            S(N.OldStatus, step.Old);
            S(N.NewStatus, step.New);
            I(N.OldStatusId, step.OldId);
            I(N.NewStatusId, step.NewId);
            B(N.Success, true);
            return 104;
        }

        VisitWebpage();
        return 1;
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
        // The loser of a merge is deleted, so it is an id that is no lead: a hole in the sequence.
        _primaryId = _leadId;
        _primaryValue = DemoLeadProfile.FirstNameOf(_leadId) + " " + DemoLeadProfile.LastNameOf(_leadId);
        S(N.MergeIds, _plan.Gaps.Length == 0
            ? _leadId.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{_leadId},{_plan.Gaps[_rng.Next(_plan.Gaps.Length)]}"));
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

    private string FormFields(string? comment)
    {
        var company = DemoLeadProfile.CompanyOf(_leadId);
        var first = DemoLeadProfile.FirstNameOf(_leadId);
        var last = DemoLeadProfile.LastNameOf(_leadId);
        var email = DemoLeadProfile.EmailOf(_leadId);
        return comment is null
            ? Php(("FirstName", first), ("LastName", last), ("Email", email), ("Company", company))
            : Php(("FirstName", first), ("LastName", last), ("Email", email), ("Company", company), ("Comments", comment));
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

    /// <summary>The mix without New Lead and Change Data Value: those rows come from the lead plan, in the same shares.</summary>
    private static byte[] BuildTypeSlots()
    {
        var slots = new List<byte>();
        for (var i = 0; i < Mix.Length; i++)
        {
            if (Mix[i].TypeId is not (StandardActivityTypes.NewLead or 13))
            {
                slots.AddRange(Enumerable.Repeat((byte)i, Mix[i].Weight));
            }
        }

        return [.. slots];
    }

    private static int[] BuildNoCampaignPercent()
    {
        var percent = new int[Mix.Max(m => m.TypeId) + 1];
        foreach (var (typeId, _, noCampaign) in Mix)
        {
            percent[typeId] = noCampaign;
        }

        return percent;
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
