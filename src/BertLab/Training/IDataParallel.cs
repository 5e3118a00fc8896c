using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>
/// What the <see cref="Trainer"/> needs from a data-parallel group (one process per rank, e.g. under MPI): sums across
/// ranks so every rank takes the identical optimiser step. Rank 0 alone writes files; every rank calls every method
/// in the same order (they are collectives).
/// </summary>
public interface IDataParallel
{
    int Rank { get; }
    int Size { get; }
    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place; every rank gets the same result.</summary>
    void SumAll(double[] values);
    /// <summary>Sums the parameters' gradients over all ranks, in place (parameters without a gradient are skipped on every rank alike).</summary>
    void SumGradients(IReadOnlyList<Tensor> parameters);
    /// <summary>Overwrites every rank's parameters with rank 0's.</summary>
    void BroadcastParameters(IReadOnlyList<Tensor> parameters);
    /// <summary>Called before each optimiser step (e.g. to give every rank its own dropout stream, reproducible on resume).</summary>
    void BeforeStep(long seed, int step);
    /// <summary>Seconds spent in collectives so far (with profiling: the part spent waiting for other ranks is separate).</summary>
    CommunicationTiming Timing();
}

/// <summary>Communication timings for the run summary.</summary>
public sealed record CommunicationTiming(double AllreduceSeconds, double WaitSeconds, long Bytes, int Calls);
