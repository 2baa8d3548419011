using System.Data.Common;

namespace Spillway.Server.Storage;

/// <summary>
/// The two lines every ADO.NET store repeats: a command in a transaction, and a named parameter. For the stores written
/// once over <see cref="DbConnection"/> for both engines (leads, lists, program members); SQLite names parameters
/// <c>@name</c> and Npgsql accepts the same.
/// </summary>
internal static class SqlCommands
{
    public static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command;
    }

    public static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
