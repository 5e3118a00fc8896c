using System.CommandLine;
using System.Text.Json;
using BertLab.Training;

namespace BertLab.Cli;

/// <summary>bertlab config keys | defaults: the run configuration's keys (a Markdown table, the one in README.md) and defaults.</summary>
public sealed class ConfigVerb : IVerb
{
    public int Order => 12;

    public Command Build()
    {
        var keys = new Command("keys", "Every run configuration key: path, type, default, allowed values, meaning (a Markdown table; README.md holds the same)");
        keys.SetAction(_ => Console.Out.Write(RunConfigKeys.MarkdownTable()));
        var defaults = new Command("defaults", "The configuration of `bertlab train` with no arguments, as JSON (a starting point for --config)");
        defaults.SetAction(_ => Console.Out.WriteLine(RunConfig.DefaultJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true })));
        var cmd = new Command("config", "The run configuration of `bertlab train`: its keys and defaults");
        cmd.Subcommands.Add(keys);
        cmd.Subcommands.Add(defaults);
        return cmd;
    }
}
