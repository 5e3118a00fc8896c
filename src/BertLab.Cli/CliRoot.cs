using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;

namespace BertLab.Cli;

/// <summary>The <c>bertlab</c> command tree: every type implementing IVerb in this assembly is one verb (one file per verb).</summary>
public static class CliRoot
{
    public const string ProgramName = "bertlab";

    /// <summary>
    /// The root command, named <c>bertlab</c> in every usage line. (System.CommandLine's RootCommand takes its name from
    /// the running file, which is BertLab.Cli under <c>dotnet BertLab.Cli.dll</c>: a plain command with the help and
    /// version options instead.)
    /// </summary>
    public static Command Build()
    {
        var root = new Command(ProgramName, "BertLab: train, fine-tune and compare BERT models whose attention mechanism is the variable under study.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        foreach (var verb in Assembly.GetExecutingAssembly().GetTypes()
                     .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
                     .Select(t => (IVerb)Activator.CreateInstance(t)!)
                     .OrderBy(v => v.Order))
            root.Subcommands.Add(verb.Build());
        return root;
    }
}
