using System.CommandLine;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>Shared plumbing for verbs: user errors become one clear message and a non-zero exit.</summary>
public static class Verb
{
    /// <summary>Exit code for errors a user can cause (bad input, bad config, missing file).</summary>
    public const int UserError = BertLab.Training.ExitCodes.UserError;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Error(e.Message);
            return UserError;
        }
    }

    public static bool IsUserError(Exception e) =>
        e is BertLabException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            or System.Text.Json.JsonException or InvalidDataException;

    public static void Error(string message)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        err.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
    }

    public static Option<T> Opt<T>(string name, string description, Func<T>? defaultValue = null, params string[] aliases)
    {
        var o = new Option<T>(name, aliases) { Description = description };
        if (defaultValue is not null) o.DefaultValueFactory = _ => defaultValue();
        return o;
    }
}
