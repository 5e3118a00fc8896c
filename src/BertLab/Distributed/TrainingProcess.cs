using BertLab.Data;
using BertLab.Training;

namespace BertLab.Distributed;

/// <summary>
/// This process's part in a pre-training run: the whole run, or one rank of a data-parallel group when mpirun or srun
/// started several processes (<see cref="MpiDataParallel"/>). It owns what the ranks must agree on: rank 0 alone owns the
/// run directory and writes files; ranks on one machine share its cores; rank 0 prepares the shared data cache while the
/// others wait, then they find it up to date; each rank reads its rows of every global batch; a stop is taken by all ranks
/// at the same step; a failure on one rank stops all of them. A front end (the train verb) parses its arguments, calls
/// these in order and prints.
/// </summary>
public sealed class TrainingProcess : IDisposable
{
    TrainingProcess(MpiDataParallel? group) => Group = group;

    /// <summary>Joins the MPI group when this process is one of several the launcher started; a single process otherwise
    /// (also under <c>mpirun -np 1</c>).</summary>
    public static TrainingProcess Start() => new(MpiDataParallel.StartIfLaunched());

    /// <summary>The data-parallel group; null for a single process.</summary>
    public MpiDataParallel? Group { get; }

    /// <summary>Whether this process writes the run's files and prints its progress: rank 0, or the single process.</summary>
    public bool Writes => Group is null or { Rank: 0 };

    /// <summary>
    /// Runs <paramref name="train"/> and returns its exit code. In a data-parallel group a failure on this rank stops every
    /// rank at once (no rank is left waiting in a collective): <paramref name="report"/> hears "rank r of n: " and the
    /// message <paramref name="describe"/> gives the exception, with the exit code the job then ends with.
    /// </summary>
    public int Run(Func<int> train, Func<Exception, (string Message, int ExitCode)> describe, Action<string> report)
    {
        if (Group is null) return train();
        try { return train(); }
        catch (Exception e)
        {
            var (message, exitCode) = describe(e);
            report($"rank {Group.Rank} of {Group.Size}: {message}");
            Group.Abort(exitCode);
            throw;
        }
    }

    /// <summary>Takes the run directory for this run (<see cref="TrainingSession.Claim"/>) in the process that writes; null elsewhere.</summary>
    public IDisposable? Claim(RunDirectory directory, bool resume) => Writes ? TrainingSession.Claim(directory, resume) : null;

    /// <summary>Ranks on one machine share its cores: run.threads 0 ("all cores") becomes this rank's share of them.</summary>
    public void ShareCores(RunConfig config)
    {
        if (Group is not null) TrainingSession.ShareThreads(config, MpiDataParallel.LocalSize());
    }

    /// <summary>The group in one line (ranks, MPI library, the global batch); null for a single process.</summary>
    public string? Describe(RunConfig config)
    {
        if (Group is null) return null;
        var run = config.Run;
        return $"data-parallel over {Group.Size} MPI ranks ({Group.Library}): global batch {Group.Size} × {run.BatchSize} × {run.Accumulation} = " +
               $"{Group.Size * run.BatchSize * run.Accumulation} sequences";
    }

    /// <summary>
    /// The run's batch source for this process (<see cref="PretrainingData.OpenSource"/>): in a group, rank 0 prepares the
    /// shared data cache first, the others open it once it is ready, and each rank reads its rows of every global batch
    /// (<see cref="RankSliceBatchSource"/>). Dispose it when done (a shard source holds open files).
    /// </summary>
    public IBatchSource OpenData(RunConfig config, string runDir, out string? vocabPath, Action<string>? message = null, Action<long, long>? progress = null)
    {
        if (Group is { Rank: > 0 }) Group.Barrier();
        var data = PretrainingData.OpenSource(config, runDir, out vocabPath, message, progress);
        if (Group is { Rank: 0 }) Group.Barrier();
        if (Group is null) return data;
        if (data is ShardBatchSource shards) return new RankSliceBatchSource(shards, Group.Rank, Group.Size);
        (data as IDisposable)?.Dispose();
        throw new BertLabException("data-parallel training reads text shards; data.synthetic runs in one process");
    }

    /// <summary>Whether to stop before the next step: this process's signal (<see cref="StopSignal"/>), and in a group any
    /// rank's (summed across ranks every step, so that all ranks stop at the same step and none waits for the others).</summary>
    public string? StopAgreed()
    {
        if (Group is null) return StopSignal.Name;
        var flag = new double[] { StopSignal.Requested ? 1 : 0 };
        Group.SumAll(flag);
        return flag[0] > 0 ? StopSignal.Name ?? "a signal to another rank" : null;
    }

    /// <summary>The run's trainer in this process: a member of the group (if any), stopping when the ranks agree to.</summary>
    public Trainer Trainer(RunConfig config, string runDir, IBatchSource data, string? vocabPath, ITrainingObserver observer) =>
        new(config, runDir, data, vocabPath, observer) { Parallel = Group, StopRequested = StopAgreed };

    /// <summary>Leaves the group (MPI_Finalize) once the run is over.</summary>
    public void Dispose() => Group?.Dispose();
}
