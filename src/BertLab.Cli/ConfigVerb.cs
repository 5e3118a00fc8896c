using System.CommandLine;
using System.Text.Json;
using BertLab.Runtime;
using BertLab.Training;

namespace BertLab.Cli;

/// <summary>bertlab config keys | defaults | environment: the run configuration's keys (a Markdown table, the one in README.md) and
/// defaults, and the environment variables BertLab reads (README.md's other table).</summary>
public sealed class ConfigVerb : IVerb
{
    public int Order => 12;

    public Command Build()
    {
        var keys = new Command("keys", "Every run configuration key: path, type, default, allowed values, meaning (a Markdown table; README.md holds the same)");
        keys.SetAction(_ => Console.Out.Write(RunConfigKeys.MarkdownTable()));
        var defaults = new Command("defaults", "The configuration of `bertlab train` with no arguments, as JSON (a starting point for --config)");
        defaults.SetAction(_ => Console.Out.WriteLine(RunConfig.DefaultJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
        var environment = new Command("environment", "Every BERTLAB_* environment variable: what it does, its default, what reads it (a Markdown table; README.md holds the same)");
        environment.SetAction(_ => Console.Out.Write(EnvironmentVariables.MarkdownTable()));
        var cmd = new Command("config", "The run configuration of `bertlab train`: its keys and defaults; the environment variables");
        cmd.Subcommands.Add(keys);
        cmd.Subcommands.Add(defaults);
        cmd.Subcommands.Add(environment);
        return cmd;
    }
}
