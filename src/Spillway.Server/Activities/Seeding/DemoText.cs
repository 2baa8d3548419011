namespace Spillway.Server.Activities.Seeding;

/// <summary>Fixed text pools for <see cref="DemoActivityGenerator"/>.</summary>
internal static class DemoText
{
    /// <summary>
    /// Text that is hard to carry through CSV/TSV and JSON. Index 0..10 are the cases tests look for:
    /// double quote, comma, tab, spaces at both ends, CR, LF, CRLF, NUL, CJK, emoji, and all of them at once.
    /// </summary>
    public static readonly string[] Hard =
    [
        "Say \"hello\" to the team",
        "Acme, Inc.",
        "col1\tcol2",
        "  padded at both ends  ",
        "line one\rline two",
        "line one\nline two",
        "line one\r\nline two",
        "nul\0inside",
        "東京都渋谷区 株式会社サンプル",
        "Great webinar 🎉🚀",
        " \"Quoted, with comma\"\r\n\tand 中文 😀 ",
    ];

    /// <summary>The hard text a lead field can hold: all of <see cref="Hard"/> but NUL, which PostgreSQL text refuses.</summary>
    public static readonly string[] HardStorable = [.. Hard.Where(h => !h.Contains('\0', StringComparison.Ordinal))];

    public static readonly string[] UserAgents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36 OPR/95.0.0.0",
    ];

    /// <summary>User agents of mail clients (image proxies and apps) for Open Email / Click Email.</summary>
    public static readonly (string Agent, string Device, string Platform, bool Mobile)[] MailClients =
    [
        ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "Unknown", "Unknown", false),
        ("Mozilla/5.0", "Unknown", "Unknown", false),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "Mac", "Mac OS", false),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "iPhone", "iOS", true),
        ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)", "Windows PC", "Windows", false),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "Android Phone", "Android", true),
        ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "iPad", "iOS", true),
    ];

    public static readonly string[] Referrers =
    [
        "https://www.google.com/",
        "https://www.linkedin.com/",
        "https://www.bing.com/",
        "https://t.co/",
        "https://duckduckgo.com/",
        "https://www.example.com/",
        "https://www.example.com/blog/",
        "https://news.ycombinator.com/",
    ];

    public static readonly string[] SearchQueries =
    [
        "marketo bulk export", "activity export api", "spillway pricing", "data pipeline marketing", "lead scoring best practices",
    ];

    public static readonly string[] QueryParameters =
    [
        "utm_source=linkedin&utm_medium=paid-social&utm_campaign=q3-abm",
        "utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0KCQjw",
        "utm_source=newsletter&utm_medium=email&utm_campaign=2024-q2",
        "mkt_tok=NDI2LVhZQS0yNzMAAAGTk3z",
        "ref=partner-portal",
        "lang=ja",
    ];

    /// <summary>Web pages: (id, page as Marketo shows it in primaryAttributeValue, path for "Webpage URL").</summary>
    public static readonly (long Id, string Page, string Path)[] Pages =
    [
        (7001, "www.example.com/", "/"),
        (7002, "www.example.com/pricing", "/pricing"),
        (7003, "www.example.com/product/bulk-export", "/product/bulk-export"),
        (7004, "www.example.com/product/integrations", "/product/integrations"),
        (7005, "www.example.com/customers", "/customers"),
        (7006, "www.example.com/blog/", "/blog/"),
        (7007, "www.example.com/blog/marketo-bulk-extract-guide", "/blog/marketo-bulk-extract-guide"),
        (7008, "www.example.com/blog/lead-scoring-101", "/blog/lead-scoring-101"),
        (7009, "www.example.com/about", "/about"),
        (7010, "www.example.com/careers", "/careers"),
        (7011, "www.example.com/contact", "/contact"),
        (7012, "www.example.com/docs/getting-started", "/docs/getting-started"),
        (7013, "info.example.com/webinar-data-mesh.html", "/webinar-data-mesh.html"),
        (7014, "info.example.com/ai-in-marketing.html", "/ai-in-marketing.html"),
        (7015, "info.example.com/state-of-data-2025.html", "/state-of-data-2025.html"),
        (7016, "info.example.com/demo-request.html", "/demo-request.html"),
        (7017, "info.example.com/free-trial.html", "/free-trial.html"),
        (7018, "www.example.com/ja/", "/ja/"),
        (7019, "info.example.com/tokyo-seminar-2025.html", "/tokyo-seminar-2025.html"),
        (7020, "www.example.com/security", "/security"),
    ];

    /// <summary>Links on pages, for Click Link: (id, URL).</summary>
    public static readonly (long Id, string Url)[] Links =
    [
        (301, "https://www.example.com/pricing"),
        (302, "https://www.example.com/docs/getting-started"),
        (303, "https://info.example.com/demo-request.html"),
        (304, "https://www.example.com/downloads/state-of-data-2025.pdf"),
        (305, "https://github.com/example/spillway"),
        (306, "https://www.example.com/customers/case-study-northwind"),
        (307, "https://info.example.com/free-trial.html"),
        (308, "mailto:sales@example.com"),
    ];

    public static readonly string[] EmailStems =
    [
        "Invitation", "Reminder", "Confirmation", "Follow-up", "Last Chance", "Newsletter", "Welcome", "Thank You",
        "Recording Available", "Trial Day 3", "Trial Ending",
    ];

    public static readonly string[] CampaignStems =
    [
        "01 Send Invitation", "02 Send Reminder", "03 Registration Confirmation", "04 Attended", "05 No Show",
        "Scoring - Web Visit", "Scoring - Form Fill", "Lifecycle - Set MQL", "Data Hygiene - Normalize Country",
        "Nurture - Add to Stream", "Sync to CRM", "Alert Sales",
    ];

    public static readonly string[] FirstNames =
    [
        "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sophia", "Lucas", "Mia", "Ethan", "Amelia", "Arjun", "Chloé",
        "José", "Zoë", "Haruto", "Yuki", "Wei", "Priya", "Björn", "Siobhan", "Dmitri", "Fatima", "Kwame", "Ingrid",
    ];

    public static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Garcia", "Müller", "Nguyen", "O'Brien", "Kowalski", "Tanaka", "Rossi", "Dubois", "Patel",
        "Kim", "Silva", "Andersson", "Novak", "Okafor", "Cohen", "Hernández", "Yamamoto", "van der Berg", "Li",
    ];

    public static readonly string[] Domains =
    [
        "example.com", "northwind.example", "contoso.example", "fabrikam.example", "globex.example", "initech.example",
        "gmail.com", "outlook.com", "yahoo.co.jp", "web.de",
    ];

    public static readonly string[] Companies =
    [
        "Northwind Traders", "Contoso Ltd", "Fabrikam, Inc.", "Globex Corporation", "Initech", "Umbrella Health",
        "Stark Industries", "Wayne Enterprises", "Tyrell Corp", "株式会社サンプル", "Müller & Söhne GmbH", "Acme Corp",
    ];

    public static readonly string[] Titles =
    [
        "Marketing Manager", "Director of Marketing Operations", "VP Marketing", "Data Engineer", "CMO",
        "Marketing Operations Specialist", "Demand Generation Manager", "Head of Growth", "Software Engineer",
        "Analytics Lead", "Sales Development Rep", "CTO",
    ];

    public static readonly string[] Cities =
    [
        "Chicago", "New York", "San Francisco", "Austin", "London", "Berlin", "Paris", "Tokyo", "São Paulo", "Toronto",
        "Sydney", "Bengaluru", "Zürich",
    ];

    public static readonly string[] States = ["IL", "NY", "CA", "TX", "WA", "MA", "ON", "NSW", "BY", "Tokyo"];

    public static readonly string[] Countries =
    [
        "United States", "United Kingdom", "Germany", "France", "Japan", "Brazil", "Canada", "Australia", "India",
        "Switzerland",
    ];

    public static readonly string[] LeadStatuses =
        ["New", "Open", "Working", "Nurturing", "Marketing Qualified", "Sales Accepted", "Sales Qualified", "Recycled", "Disqualified", "Converted"];

    public static readonly string[] LeadSources =
        ["Website", "Webinar", "Trade Show", "Paid Search", "Paid Social", "Content Syndication", "Partner Referral", "List Purchase", "Sales Generated"];

    public static readonly string[] Industries =
        ["Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education", "Government", "Telecommunications"];

    public static readonly string[] Roles = ["Decision Maker", "Influencer", "Evaluator", "End User", "Executive Sponsor"];

    public static readonly string[] Departments = ["Marketing", "Sales", "Engineering", "IT", "Finance", "Operations"];

    public static readonly string[] Ratings = ["Hot", "Warm", "Cold"];

    public static readonly string[] TimeZones = ["America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo"];

    public static readonly string[] Booleans = ["true", "false"];

    public static readonly string[] Owners =
        ["Dana Whitfield", "Marcus Lee", "Priya Raman", "Jonas Becker", "Aiko Sato", "Lead Queue - EMEA", "Lead Queue - NA"];

    public static readonly string[] ApiUsers =
        ["crm-sync@example.com", "integration.api@example.com", "etl-bot@example.com"];

    public static readonly string[] MarketoUsers =
        ["marketing.ops@example.com", "dana.whitfield@example.com", "admin@example.com"];

    public static readonly (string Category, string Subcategory, string Details)[] HardBounces =
    [
        ("1", "1003", "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"),
        ("1", "1004", "550 5.1.2 Host unknown (Name server: host not found)"),
        ("2", "2002", "554 5.7.1 Message rejected as spam by Content Filtering"),
    ];

    public static readonly (string Category, string Subcategory, string Details)[] SoftBounces =
    [
        ("3", "3001", "452 4.2.2 Mailbox full"),
        ("4", "4002", "421 4.7.0 Try again later, closing connection"),
        ("3", "3004", "450 4.7.1 Greylisted, please try again in 180 seconds"),
    ];

    /// <summary>Program statuses: (old, old id, new, new id).</summary>
    public static readonly (string Old, int OldId, string New, int NewId)[] ProgressionSteps =
    [
        ("Not in Program", 20, "On List", 21),
        ("Not in Program", 20, "Invited", 22),
        ("Invited", 22, "Registered", 23),
        ("Not in Program", 20, "Registered", 23),
        ("Registered", 23, "Attended", 24),
        ("Registered", 23, "No Show", 25),
        ("No Show", 25, "Attended On-demand", 26),
        ("Not in Program", 20, "Member", 27),
        ("Member", 27, "Engaged", 28),
        ("On List", 21, "Engaged", 28),
    ];

    /// <summary>Revenue stages: (id, name).</summary>
    public static readonly (int Id, string Name)[] RevenueStages =
    [
        (1, "Anonymous"), (2, "Known"), (3, "Engaged"), (4, "MQL"), (5, "SAL"), (6, "SQL"), (7, "Opportunity"), (8, "Customer"),
    ];

    public static readonly (string Type, string Description)[] Moments =
    [
        ("Web", "Visited the pricing page"),
        ("Web", "Downloaded: State of Data 2025 report"),
        ("Web", "Requested a demo"),
        ("Email", "Clicked a link in: Trial Day 3"),
        ("Milestone", "Became a Marketing Qualified Lead"),
        ("Milestone", "Attended webinar: AI in Marketing"),
    ];

    /// <summary>Webhooks: (id, name).</summary>
    public static readonly (long Id, string Name)[] Webhooks =
    [
        (51, "Enrichment - Company Lookup"), (52, "Slack Alert - MQL"), (53, "CRM Upsert"), (54, "Translate Country"),
    ];

    public static readonly string[] NurtureTracks = ["Track 1 - Awareness", "Track 2 - Consideration", "Track 3 - Decision"];

    public static readonly string[] Phones =
        ["+1 312 555 0142", "+1 (212) 555-0199", "+44 20 7946 0958", "+49 30 901820", "+81 3-1234-5678", "312.555.0123"];

    public static readonly string[] Employees = ["10", "50", "200", "500", "1000", "5000", "25000"];

    public static readonly string[] Revenues = ["1000000", "5000000", "25000000", "100000000", "2500000000"];

    public static readonly string[] PostalCodes = ["60601", "10001", "94105", "SW1A 1AA", "10115", "100-0001", "75001"];

    public static readonly string[] Websites = ["https://www.northwind.example", "https://contoso.example", "www.fabrikam.example"];

    /// <summary>Places that agree with themselves: a lead's city, state, country, postal code and time zone.</summary>
    public static readonly (string City, string? State, string Country, string PostalCode, string TimeZone)[] Places =
    [
        ("Chicago", "IL", "United States", "60601", "America/Chicago"),
        ("New York", "NY", "United States", "10001", "America/New_York"),
        ("San Francisco", "CA", "United States", "94105", "America/Los_Angeles"),
        ("Austin", "TX", "United States", "78701", "America/Chicago"),
        ("Seattle", "WA", "United States", "98101", "America/Los_Angeles"),
        ("Boston", "MA", "United States", "02108", "America/New_York"),
        ("London", null, "United Kingdom", "SW1A 1AA", "Europe/London"),
        ("Berlin", "BE", "Germany", "10115", "Europe/Berlin"),
        ("München", "BY", "Germany", "80331", "Europe/Berlin"),
        ("Paris", null, "France", "75001", "Europe/Paris"),
        ("Tokyo", "Tokyo", "Japan", "100-0001", "Asia/Tokyo"),
        ("São Paulo", "SP", "Brazil", "01310-100", "America/Sao_Paulo"),
        ("Toronto", "ON", "Canada", "M5H 2N2", "America/Toronto"),
        ("Sydney", "NSW", "Australia", "2000", "Australia/Sydney"),
        ("Bengaluru", "KA", "India", "560001", "Asia/Kolkata"),
        ("Zürich", "ZH", "Switzerland", "8001", "Europe/Zurich"),
    ];
}
