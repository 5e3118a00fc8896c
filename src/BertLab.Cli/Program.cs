using System.CommandLine;
using System.Reflection;
using BertLab.Cli;

// bertlab <verb>: every type implementing IVerb in this assembly is one verb (one file per verb).
var root = new RootCommand("BertLab: train, fine-tune and compare BERT models whose attention mechanism is the variable under study.");
foreach (var verb in Assembly.GetExecutingAssembly().GetTypes()
             .Where(t => typeof(IVerb).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
             .Select(t => (IVerb)Activator.CreateInstance(t)!)
             .OrderBy(v => v.Order))
    root.Subcommands.Add(verb.Build());

// Errors a user can cause become one message and exit code 2 (never a stack trace); anything else is a bug and keeps its trace.
// Parse errors too: exit code 2 with the option named, never a .NET type name.
return Verb.Invoke(root, args);
