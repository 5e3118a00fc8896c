using System.Diagnostics;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Training;

/// <summary>A run directory has one owner: the lock (an OS flock) turns a second claim away naming the owner's PID,
/// and the model folder is written atomically with one clear message on a full disk.</summary>
public class RunDirectoryLockTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-runlock-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    [Fact]
    public void ASecondClaim_IsTurnedAwayNamingTheOwner_UntilTheFirstIsReleased()
    {
        var d = new RunDirectory(Path.Combine(_tmp, "run"));
        var first = TrainingSession.Claim(d, resume: false);
        var e = Assert.Throws<BertLabException>(() => TrainingSession.Claim(new RunDirectory(d.Root), resume: true));
        Assert.Contains($"PID {Environment.ProcessId}", e.Message);
        first.Dispose();
        TrainingSession.Claim(new RunDirectory(d.Root), resume: true).Dispose();
    }

    [Fact]
    public void ClaimingANewRun_WhereOneIsAlready_IsRefused()
    {
        var d = new RunDirectory(Path.Combine(_tmp, "held"));
        d.Create();
        File.WriteAllText(d.SummaryPath, new RunSummary { Status = RunStatus.Completed }.ToJsonText());
        var e = Assert.Throws<BertLabException>(() => TrainingSession.Claim(d, resume: false));
        Assert.Contains("already holds a run", e.Message);
        TrainingSession.Claim(d, resume: true).Dispose();   // the refusal released the lock
    }

    [Fact]
    public void AModelWriteOnAFullDisk_NamesTheModelFolder_AndLeavesNoTemporary()
    {
        var d = new RunDirectory(Path.Combine(_tmp, "full"));
        d.Create();
        var full = new IOException("No space left on device : '" + d.ModelPath + ".tmp/model.safetensors'", 28);
        var e = Assert.Throws<BertLabException>(() => d.WriteModel(tmp => { Directory.CreateDirectory(tmp); File.WriteAllText(Path.Combine(tmp, "a"), "x"); throw full; }));
        Assert.Equal($"cannot write {d.ModelPath}: no space left on device", e.Message);
        Assert.False(Directory.Exists(d.ModelPath + ".tmp"));
    }

    [Fact]
    public void CheckResume_RefusesAShorterRun_AndSaysACompletedOneHasNothingToDo()
    {
        var d = new RunDirectory(Path.Combine(_tmp, "done"));
        d.Create();
        d.WriteSummary(new RunSummary { Status = RunStatus.Completed, Step = 40, Steps = 40 });
        var config = new RunConfig();
        config.Run.Steps = 40;
        Assert.Contains("already completed", TrainingSession.CheckResume(d, config));
        config.Run.Steps = 30;
        Assert.Contains("already at step 40", Assert.Throws<BertLabException>(() => TrainingSession.CheckResume(d, config)).Message);
        config.Run.Steps = 50;
        Assert.Null(TrainingSession.CheckResume(d, config));
    }
}
