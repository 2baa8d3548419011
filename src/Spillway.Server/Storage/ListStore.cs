using System.Globalization;
using System.Text;

namespace Spillway.Server.Storage;

/// <summary>
/// The static lists of a subscription and their members, and its smart lists. Ids are per subscription and given by
/// the caller (the seeder uses the ids the activity catalogue names). A member is a lead that exists: deleting a lead
/// removes it from every list, deleting a list removes its members. Membership writes take the lead id set in one
/// statement, so a million members are added in one call.
/// </summary>
public interface IListStore
{
    /// <summary>Creates the list, or replaces the name, description and program of the list with its id (its members stay).</summary>
    Task PutListAsync(int subscriptionId, StaticList list, CancellationToken ct);

    /// <summary>Every static list of the subscription, ordered by id.</summary>
    Task<IReadOnlyList<StaticList>> GetListsAsync(int subscriptionId, CancellationToken ct);

    /// <summary>The static list with this id, or null.</summary>
    Task<StaticList?> FindListAsync(int subscriptionId, long listId, CancellationToken ct);

    /// <summary>The members of the list with a lead id above <paramref name="afterLeadId"/>, at most <paramref name="limit"/>, ordered by lead id.</summary>
    Task<IReadOnlyList<long>> GetMembersAsync(int subscriptionId, long listId, long afterLeadId, int limit, CancellationToken ct);

    /// <summary>How many members the list has, counting at most <paramref name="cap"/>.</summary>
    Task<long> CountMembersAsync(int subscriptionId, long listId, long cap, CancellationToken ct);

    /// <summary>Which of these leads are members of the list.</summary>
    Task<IReadOnlySet<long>> MembersAmongAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, CancellationToken ct);

    /// <summary>
    /// Adds the leads to the list in one transaction, with <paramref name="at"/> as their time of joining. A lead that
    /// does not exist is not added and is reported missing; a lead already in the list keeps its time and is not reported
    /// as changed.
    /// </summary>
    Task<ListMembershipChange> AddMembersAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, DateTimeOffset at, CancellationToken ct);

    /// <summary>Removes the leads from the list in one transaction; a lead that does not exist is reported missing, a non-member is unchanged.</summary>
    Task<ListMembershipChange> RemoveMembersAsync(int subscriptionId, long listId, IReadOnlyCollection<long> leadIds, CancellationToken ct);

    /// <summary>Creates the smart list, or replaces the one with its id.</summary>
    Task PutSmartListAsync(int subscriptionId, SmartList list, CancellationToken ct);

    /// <summary>Every smart list of the subscription, ordered by id.</summary>
    Task<IReadOnlyList<SmartList>> GetSmartListsAsync(int subscriptionId, CancellationToken ct);

    /// <summary>Deletes every list, member and smart list of the subscription (admin reset); returns how many lists it had.</summary>
    Task<long> DeleteSubscriptionAsync(int subscriptionId, CancellationToken ct);
}

/// <summary>A static list. <see cref="ProgramId"/> and <see cref="ProgramName"/> name the program it belongs to, when it belongs to one.</summary>
public sealed record StaticList(long Id, string Name, string? Description, long? ProgramId, string? ProgramName, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>
/// What a membership write did: the leads whose membership changed (added, or removed), ordered by lead id, and the
/// requested leads that do not exist.
/// </summary>
public sealed record ListMembershipChange(IReadOnlyList<long> Changed, IReadOnlySet<long> Missing);

/// <summary>A smart list: a named, read-only rule over lead fields, whose members are the leads that match it at the time it is read.</summary>
public sealed record SmartList(long Id, string Name, string? Description, SmartListRule Rule, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>How a smart list rule compares a lead field with its value.</summary>
public enum SmartListOperator
{
    /// <summary>A text field equals the value, ignoring case.</summary>
    Is = 0,

    /// <summary>A text field ends with the value, ignoring case (an email domain such as <c>@example.com</c>).</summary>
    EndsWith = 1,

    /// <summary>An integer or float field is at least the value.</summary>
    AtLeast = 2,
}

/// <summary>
/// One condition on a standard lead field (by REST name). A lead whose field is empty never matches. Built only through
/// <see cref="Create"/>, which checks that the field exists and fits the operator.
/// </summary>
public sealed record SmartListRule
{
    private SmartListRule(LeadColumn column, SmartListOperator op, string value)
    {
        Column = column;
        Operator = op;
        Value = value;
    }

    public LeadColumn Column { get; }

    public string Field => Column.RestName;

    public SmartListOperator Operator { get; }

    /// <summary>The value as text (a number in invariant culture).</summary>
    public string Value { get; }

    /// <summary>The rule, or an exception naming what does not fit.</summary>
    public static SmartListRule Create(string field, SmartListOperator op, string value)
    {
        var column = LeadColumns.Find(field) ?? throw new ArgumentException($"'{field}' is not a standard lead field.", nameof(field));
        var numeric = column.Kind is LeadValueKind.Integer or LeadValueKind.Float;
        if (op == SmartListOperator.AtLeast
            ? !numeric || !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            : column.Kind != LeadValueKind.Text)
        {
            throw new ArgumentException($"'{field}' ({column.Kind}) cannot be compared with {op} '{value}'.", nameof(op));
        }

        return new SmartListRule(column, op, value);
    }

    /// <summary>The rule as people read it: <c>country is Germany</c>.</summary>
    public override string ToString() => Operator switch
    {
        SmartListOperator.Is => $"{Field} is {Value}",
        SmartListOperator.EndsWith => $"{Field} ends with {Value}",
        _ => $"{Field} is at least {Value}",
    };

    /// <summary>
    /// Appends the rule as a condition on the <c>lead</c> table's columns, in SQL that SQLite and PostgreSQL both speak;
    /// <paramref name="addParameter"/> binds the one parameter it names.
    /// </summary>
    public void AppendSql(StringBuilder sql, string parameter, Action<string, object> addParameter)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(addParameter);
        switch (Operator)
        {
            case SmartListOperator.Is:
                sql.Append("lower(").Append(Column.ColumnName).Append(") = @").Append(parameter);
                addParameter(parameter, Value.ToLowerInvariant());
                break;
            case SmartListOperator.EndsWith:
                sql.Append("lower(").Append(Column.ColumnName).Append(") LIKE @").Append(parameter).Append(" ESCAPE '\\'");
                addParameter(parameter, "%" + Value.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal)
                    .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal));
                break;
            default:
                sql.Append(Column.ColumnName).Append(" >= @").Append(parameter);
                addParameter(parameter, Column.Kind == LeadValueKind.Integer
                    ? (object)(long)Math.Ceiling(double.Parse(Value, CultureInfo.InvariantCulture))
                    : double.Parse(Value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
