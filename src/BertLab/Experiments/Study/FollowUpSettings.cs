namespace BertLab.Experiments.Study;

/// <summary>
/// The follow-up stage of a study (`sweep run research-log --budget B --stage follow-up --out DIR`): what it runs over the
/// first stage's results, declared with the budget before any run is read. Its η_max bisection refines the η_max claims;
/// its horizon check and downstream fine-tuning add to, never replace, the first stage's loss verdicts.
/// </summary>
public sealed record FollowUpSettings
{
    /// <summary>Bisection rounds between the last stable and the first unstable lr of each η_max arm and seed: the grid's half
    /// decade becomes 0.5 / 2^rounds decade (2 rounds: 1/8 decade), which is also the η_max margin afterwards.</summary>
    public int BisectionRounds { get; init; } = 2;
    /// <summary>The horizon check trains the arms of every decided loss finding this many times as long.</summary>
    public int HorizonFactor { get; init; } = 4;
    /// <summary>Seeds 1..this of the horizon check (fewer than the study's: the check asks whether a verdict's direction holds).</summary>
    public int HorizonSeeds { get; init; } = 2;
    /// <summary>The fine-tuning tasks of the downstream comparison, with their pilot-chosen settings.</summary>
    public IReadOnlyList<DownstreamTask> Downstream { get; init; } = Array.Empty<DownstreamTask>();
    /// <summary>The accuracy margin of the downstream comparisons (fraction: 0.01 = 1 point), fixed before the runs.</summary>
    public double AccuracyMargin { get; init; } = 0.01;
    public string AccuracyMarginOrigin { get; init; } = "";

    /// <summary>The η_max resolution after the bisection, in decades (the grid's half-decade step halved per round).</summary>
    public double LrResolutionDecades => 0.5 / Math.Pow(2, BisectionRounds);
}

/// <summary>One downstream task (a `bertlab finetune --task` name) and its fine-tuning settings for the study's model size.</summary>
public sealed record DownstreamTask(string Task, double Lr, int Epochs, int BatchSize, int MaxLength, int MaxTrainExamples)
{
    /// <summary>The official metric the comparison reads from results.json ("accuracy" for the binary sentiment tasks).</summary>
    public string Metric { get; init; } = "accuracy";
}
