using System.CommandLine;
using BertLab.Cli;

// bertlab <verb>: every type implementing IVerb in this assembly is one verb (one file per verb).
var root = CliRoot.Build();

// Errors a user can cause become one message and exit code 2 (never a stack trace); anything else is a bug and keeps its trace.
// Parse errors too: exit code 2 with the option named, never a .NET type name.
return Verb.Invoke(root, args);
