using System.Text.Json.Nodes;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Training;

public class RunDirectoryTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-rundir-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    [Fact]
    public void Layout_IsTheDocumentedOne()
    {
        var d = new RunDirectory(_tmp);
        Assert.Equal(Path.Combine(_tmp, "run_config.json"), d.ConfigPath);
        Assert.Equal(Path.Combine(_tmp, "metrics.jsonl"), d.MetricsPath);
        Assert.Equal(Path.Combine(_tmp, "summary.json"), d.SummaryPath);
        Assert.Equal(Path.Combine(_tmp, "checkpoints"), d.CheckpointsPath);
        Assert.Equal(Path.Combine(_tmp, "model"), d.ModelPath);
        Assert.Equal("bertlab_state.json", RunDirectory.StateFile);
    }

    [Fact]
    public void Checkpoint_IsVisibleOnlyOnceComplete_AndAnInterruptedWriteLeavesNoStepDirectory()
    {
        var d = new RunDirectory(_tmp);
        // a file-system failure comes back as one message naming the checkpoint (FileFailure), never the temporary
        var e = Assert.Throws<BertLabException>(() => d.WriteCheckpoint(5, tmp =>
        {
            Directory.CreateDirectory(tmp);
            File.WriteAllText(Path.Combine(tmp, "model.safetensors"), "half");
            Assert.Null(d.LatestCheckpoint());                                  // being written: not a checkpoint yet
            throw new IOException("disk full");
        }, State(5)));
        Assert.Contains("step-00000005: disk full", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        Assert.Empty(Directory.GetDirectories(d.CheckpointsPath, ".tmp-*"));
        Assert.Null(d.LatestCheckpoint());
        Assert.False(Directory.Exists(Path.Combine(d.CheckpointsPath, "step-00000005")));

        var path = d.WriteCheckpoint(5, tmp => { Directory.CreateDirectory(tmp); File.WriteAllText(Path.Combine(tmp, "w"), "x"); }, State(5));
        Assert.Equal(Path.Combine(d.CheckpointsPath, "step-00000005"), path);
        Assert.Equal(path, d.LatestCheckpoint());
        Assert.Equal(5, RunDirectory.ReadCheckpointState(path).Step);
        Assert.Empty(Directory.GetDirectories(d.CheckpointsPath, ".tmp-*"));
    }

    static TrainerState State(int step) => new() { Step = step, TorchRng = [1, 2], Data = new JsonObject { ["next"] = step } };

    [Fact]
    public void LegacyStateFile_StillMarksACheckpoint_AndIsRead()
    {
        var d = new RunDirectory(_tmp);
        var old = Path.Combine(d.CheckpointsPath, "step-00000003");
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, RunDirectory.LegacyStateFile),
            """{"step": 3, "torch_rng": "AAE=", "data": {"next": 3}, "guard": {"ema": null, "min_ema": null, "above": 0, "seen": 3, "best_val_loss": null, "best_step": -1}}""");
        Assert.Equal(old, d.LatestCheckpoint());
        Assert.Equal(3, RunDirectory.ReadCheckpointState(old).Step);
    }

    [Fact]
    public void Prune_KeepsTheLastAndTheBest()
    {
        var d = new RunDirectory(_tmp);
        foreach (int s in new[] { 1, 2, 3, 4, 5 }) d.WriteCheckpoint(s, tmp => Directory.CreateDirectory(tmp), State(s));
        d.Prune(keepLast: 2, protectedStep: 2);
        Assert.Equal(new[] { 2, 4, 5 }, d.Checkpoints().Select(c => c.Step));
    }

    [Fact]
    public void Summary_IsReplacedAtomically_AndRoundTrips()
    {
        var d = new RunDirectory(_tmp);
        var s = new RunSummary
        {
            Status = RunStatus.Diverged, Step = 7, Steps = 10, Attention = "cottention", Model = "tiny", Parameters = 123, Device = "cpu", Cpu = "2 threads",
            Data = "corpus", Validation = new Evaluation(5.25, 0.125, 190.6, 640), ValidationStep = 5, Reason = "non-finite", DivergedAtStep = 7,
            WallS = 1.5, Tokens = 4096, TokensPerS = 2730.7, PeakRssMb = 300.5, LastCheckpoint = "x/checkpoints/step-00000005", Plots = new() { "a.png" },
        };
        d.WriteSummary(s);
        Assert.Empty(Directory.GetFiles(_tmp, "summary.json.tmp-*"));
        var json = JsonNode.Parse(File.ReadAllText(d.SummaryPath))!.AsObject();
        // the keys existing readers use
        Assert.Equal("diverged", json["status"]!.GetValue<string>());
        Assert.Equal(7, json["diverged_at_step"]!.GetValue<int>());
        Assert.Equal(5.25, json["validation"]!["val_loss"]!.GetValue<double>());
        Assert.Equal(5, json["validation"]!["step"]!.GetValue<int>());
        var back = d.ReadSummary()!;
        Assert.Equal(s.ToJsonText(), back.ToJsonText());
        Assert.Equal(RunStatus.Diverged, back.Status);
        Assert.Equal(s.Validation, back.Validation);
    }

    [Theory]
    [InlineData(RunStatus.Completed, 0)]
    [InlineData(RunStatus.Stopped, 0)]
    [InlineData(RunStatus.Diverged, 3)]
    [InlineData(RunStatus.Failed, 1)]
    public void ExitCodes_FollowTheStatus(RunStatus status, int code)
    {
        Assert.Equal(code, ExitCodes.For(status));
        Assert.Equal(status, RunStatusText.Parse(status.ToText()));
    }

    [Fact]
    public void Summary_WithoutAKnownStatus_IsNotASummary()
    {
        File.WriteAllText(Path.Combine(_tmp, "summary.json"), """{"status": "exploded"}""");
        Assert.Null(new RunDirectory(_tmp).ReadSummary());
        Assert.Throws<BertLabException>(() => RunSummary.FromJson(JsonNode.Parse("""{"step": 3}""")));
    }
}
