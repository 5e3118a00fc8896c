using System.Diagnostics;
using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>Shared pieces of the sweep tests: a small synthetic corpus, tiny sweep files, the CLI launcher.</summary>
public static class SweepTestKit
{
    /// <summary>~300 documents of random sentences over 30 words (seeded): prepared in well under a second.</summary>
    public static string WriteCorpus(string dir)
    {
        var words = "the a cat dog sat on mat house tree river ran quickly slowly big small red green blue walked saw heard under over near far old new".Split(' ');
        var rng = new Random(1);
        var path = Path.Combine(dir, "corpus.txt");
        using var w = new StreamWriter(path);
        for (int d = 0; d < 300; d++)
        {
            var sentences = Enumerable.Range(0, 6).Select(_ => string.Join(' ', Enumerable.Range(0, rng.Next(5, 16)).Select(_ => words[rng.Next(words.Length)])) + ".");
            w.Write(string.Join(' ', sentences));
            w.Write("\n\n");
        }
        return path;
    }

    /// <summary>A base configuration for fast CPU runs: tiny model, seq 32, batch 4, one thread (bit-reproducible), log every step.</summary>
    public static JsonObject TinyBase(string corpus, int steps, int checkpointInterval) => new()
    {
        ["model"] = "tiny",
        ["data"] = new JsonObject { ["seq_len"] = 32, ["corpus"] = new JsonArray(corpus) },
        ["run"] = new JsonObject
        {
            ["steps"] = steps, ["batch_size"] = 4, ["log_interval"] = 1, ["eval_interval"] = steps, ["eval_batches"] = 2,
            ["checkpoint_interval"] = checkpointInterval, ["threads"] = 1,
        },
    };

    /// <summary>BertLab.Cli.dll beside the test assembly (the test project references the CLI).</summary>
    public static string CliDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "BertLab.Cli.dll");
            Assert.True(File.Exists(path), $"{path} is missing");
            return path;
        }
    }

    public static IRunLauncher Launcher() => ChildProcessLauncher.ForAssembly(CliDll);

    public static List<double> Losses(string runDir) =>
        TrainingPlots.ReadMetrics(runDir).Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()).ToList();

    /// <summary>Runs `bertlab ARGS` as a child process; returns its exit code and output.</summary>
    public static (int code, string output) RunCli(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(ChildProcessLauncher.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"bertlab {string.Join(' ', args)} ran over {timeout}"); }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
