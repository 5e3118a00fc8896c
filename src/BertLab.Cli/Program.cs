using System.CommandLine;
using BertLab.Cli;

// First of all, before anything loads libtorch: OMP_WAIT_POLICY=PASSIVE in the C environment unless the user set it
// (libtorch's OpenMP reads it when the library loads; spin-waiting workers cost ~2.5x on a shared machine).
BertLab.Runtime.TorchRuntime.DefaultThreadWaitPolicy();

// Started with SIGINT ignored (`command &` in a script, nohup, many CI runners): take the default back, so that the
// stop handlers installed later see SIGINT (a run then checkpoints on kill -INT as it does on Ctrl-C).
BertLab.Training.StopSignal.RestoreIgnoredSigint();
// A run started by a sweep stops (SIGTERM: checkpoint, "stopped") when the sweep dies, however it dies.
BertLab.Runtime.ParentDeath.WatchParent();

// Verbs that train or benchmark run with malloc's heap on transparent huge pages, a glibc setting read only at process
// start: the process re-executes itself once with it (see TorchRuntime.HugePageTunables; BERTLAB_MALLOC_TUNE=0 turns it off).
if (args.Length > 0 && args[0] is "train" or "finetune" or "bench" or "sweep")
    BertLab.Runtime.TorchRuntime.ReexecWithHugePages();

// Verbs that stop gracefully handle SIGINT/SIGTERM from here on (after the re-execution, which would drop a recorded
// signal): a signal during start-up (reading the configuration, preparing data, building the model) then stops the run
// before its first step with a checkpoint and a "stopped" summary instead of killing it half-started.
if (args.Length > 0 && args[0] is "train" or "finetune" or "sweep")
    BertLab.Training.StopSignal.Install(_ => Console.Error.WriteLine($"{BertLab.Training.StopSignal.Name} received while starting up: stopping as soon as the start-up ends (a second signal stops at once)"));

// bertlab <verb>: every type implementing IVerb in this assembly is one verb (one file per verb).
var root = CliRoot.Build();

// Errors a user can cause become one message and exit code 2 (never a stack trace); anything else is a bug and keeps its trace.
// Parse errors too: exit code 2 with the option named, never a .NET type name.
return Verb.Invoke(root, args);
