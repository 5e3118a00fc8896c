using System.CommandLine;

namespace BertLab.Cli;

/// <summary>
/// <c>bertlab bench &lt;what&gt;</c>: benchmarks. Each benchmark is a subcommand built by one entry of
/// <see cref="Benchmarks"/> (one file per benchmark; add yours to the list).
/// </summary>
public sealed class BenchVerb : IVerb
{
    public int Order => 80;

    /// <summary>The benchmark subcommands of <c>bench</c>.</summary>
    static readonly Func<Command>[] Benchmarks =
    {
        BenchAttentionVerb.Build,
        BenchTrainVerb.Build,
    };

    public Command Build()
    {
        var cmd = new Command("bench", "Run a benchmark and record its results (time, memory) as a table, JSON and plots.");
        foreach (var build in Benchmarks) cmd.Subcommands.Add(build());
        return cmd;
    }
}
