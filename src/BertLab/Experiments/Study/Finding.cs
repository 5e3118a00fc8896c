using BertLab.Experiments.Statistics;

namespace BertLab.Experiments.Study;

/// <summary>
/// One claim of a study, declared once: its id, the claim as the log states it, the rule that decides it (which names the
/// arms it reads, <see cref="StudyRule.Reads"/>), the rule as the report states it, and the learning rate whose "attention
/// in use" gate the report shows beside the verdict.
/// </summary>
public sealed record Finding(string Id, string Claim, StudyRule Rule, Func<FindingText, string> RuleText)
{
    public LogLr GateAt { get; init; } = LogLr.Log1e4;
}

/// <summary>What a finding's rule text may name at a budget: the log's learning rates there, the study margin, the
/// η_max margin and the sequence lengths.</summary>
public sealed record FindingText(string Lr1e5, string Lr1e4, string Margin, string LrMargin, int SeqLen, int LongSeqLen);

/// <summary>One finding with the verdict of the rule that decides it, the statistic it rests on, the "attention in use"
/// gate of the study and the runs it read.</summary>
public sealed record FindingVerdict(string Id, string Claim, Verdict Result, string Rule, string Observed, string Gate, IReadOnlyList<string> Runs)
{
    /// <summary>agrees, disagrees, underpowered, not exercised, not applicable, horizon too short.</summary>
    public string VerdictName => Verdict.ClassName(Result.Class);
    /// <summary>Every paired comparison the rule computed (<see cref="RuleOutcome.Statistics"/>).</summary>
    public IReadOnlyList<RuleStatistic> Statistics { get; init; } = Array.Empty<RuleStatistic>();
    /// <summary>The lr whose runs decide the "attention in use" gate shown beside the verdict (<see cref="StudyRuns.GateLr"/>).</summary>
    public double? GateLr { get; init; }
    /// <summary>That gate's statistic (null when its runs are missing).</summary>
    public PairedComparison? GateStatistic { get; init; }
}
