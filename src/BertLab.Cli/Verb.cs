using System.CommandLine;
using BertLab.Training;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>Shared plumbing for verbs: user errors become one clear message and a non-zero exit.</summary>
public static class Verb
{
    /// <summary>Exit code for errors a user can cause (bad input, bad config, missing file).</summary>
    public const int UserError = BertLab.Training.ExitCodes.UserError;

    public static int Run(Func<int> body, string? runDirectory = null)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(Unwrap(e)))
        {
            Error(Message(Unwrap(e)));
            if (runDirectory is not null) RunFailure.Record(runDirectory, Unwrap(e), Message(Unwrap(e)));
            return UserError;
        }
        catch (Exception e) when (runDirectory is not null)
        {
            // a crash keeps its stack trace (rethrown); the run directory keeps the message for whoever launched it
            RunFailure.Record(runDirectory, Unwrap(e), null);
            throw;
        }
    }

    /// <summary>
    /// Parses <paramref name="args"/> and runs the chosen command as <see cref="Run"/> does. Parse errors (a value that is not a
    /// number, a missing or unknown option) are user errors too: one message per problem, without .NET type names, and exit code 2.
    /// </summary>
    public static int Invoke(Command command, string[] args)
    {
        var parsed = command.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            foreach (var error in parsed.Errors) Error(ParseErrors.Rewrite(error));
            Console.Error.WriteLine($"run '{string.Join(' ', CommandPath(parsed.CommandResult))} --help' for the options");
            return UserError;
        }
        return Run(() => parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }),
            parsed.CommandResult.Command is RunDirectoryCommand c ? c.RunDirectory(parsed) : null);
    }

    static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Command is RootCommand ? "bertlab" : r.Command.Name);
        return names;
    }

    public static bool IsUserError(Exception e) =>
        e is BertLabException or System.Text.Json.JsonException or InvalidDataException || FileFailure.IsFileFailure(e);

    /// <summary>The message shown for a user error: file-system failures name the path and the cause (no space left, read-only, …).</summary>
    public static string Message(Exception e) => e is BertLabException ? e.Message : FileFailure.IsFileFailure(e) ? FileFailure.Describe(e) : e.Message;

    /// <summary>The exception behind the wrappers parallel loops and reflection add.</summary>
    static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: >= 1 } a) e = a.InnerExceptions.FirstOrDefault(IsUserError) ?? a.InnerExceptions[0];
            else if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            else return e;
        }
    }

    public static void Error(string message)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        err.Profile.Width = 100_000;   // one line: a path or a cause is never broken across lines (the terminal wraps it if it must)
        err.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
    }

    public static Option<T> Opt<T>(string name, string description, Func<T>? defaultValue = null, params string[] aliases)
    {
        var o = new Option<T>(name, aliases) { Description = description };
        if (defaultValue is not null) o.DefaultValueFactory = _ => defaultValue();
        return o;
    }
}

/// <summary>A verb that trains into a run directory: when it fails before or outside the run's own summary, the directory
/// gets the typed failure record (<see cref="RunFailure"/>, failure.json) with the message, which sweeps read.</summary>
public sealed class RunDirectoryCommand(string name, string description, Func<ParseResult, string?> runDirectory) : Command(name, description)
{
    /// <summary>The run directory the parsed arguments name (--out or --resume), or null.</summary>
    public string? RunDirectory(ParseResult parsed) => runDirectory(parsed);
}
