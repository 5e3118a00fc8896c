using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments.Study;

/// <summary>Which learning rates an arm runs at a budget.</summary>
public enum ArmLrs
{
    /// <summary>The budget's whole grid (<see cref="StudyBudget.Grid"/>): η*, η_max and the LR sensitivity come from it.</summary>
    Grid,
    /// <summary>The log's 1e-4 only (the anchor).</summary>
    Log1e4,
    /// <summary>The log's 1e-5 only.</summary>
    Log1e5,
    /// <summary>The log's 1e-5 and 1e-4; the whole grid where the budget says <see cref="StudyBudget.FullGridForAll"/>.</summary>
    LogBoth,
}

/// <summary>Which of the budget's settings an arm takes besides its own (<see cref="StudyBudget.SettingsFor"/>).</summary>
public enum ArmShape
{
    Standard,
    /// <summary>The budget's long sequences: seq_len, batch and the long task.</summary>
    LongSequences,
    /// <summary>The budget's smaller batch for the costly distance similarities.</summary>
    DistanceBatch,
    /// <summary>Trained on the study corpus with its punctuation stripped (training documents only), validated on the clean
    /// corpus's validation documents, with the clean corpus's vocabulary (<see cref="CorpusTask.StrippedCorpusSettings"/>).</summary>
    StrippedCorpus,
}

/// <summary>
/// One arm of a study: a named configuration (the keys it sets over the study's base configuration), run at the learning
/// rates <see cref="Lrs"/> names, each over the budget's seeds. Findings read arms through these objects
/// (<see cref="At"/>), never by name, so an arm a finding reads is always one the study declares.
/// </summary>
public sealed record StudyArm(string Name, ArmLrs Lrs, IReadOnlyList<KeyValuePair<string, JsonNode?>> Set)
{
    public ArmShape Shape { get; init; } = ArmShape.Standard;
    /// <summary>Runs only where the budget runs the observation arms (<see cref="StudyBudget.Observations"/>).</summary>
    public bool Observation { get; init; }
    /// <summary>Runs only where the budget trains on text (<see cref="CorpusTask"/>): what it varies does not exist on a generated task.</summary>
    public bool TextOnly { get; init; }

    public bool RunsAt(StudyBudget b) => (!Observation || b.Observations) && (!TextOnly || b.Task is CorpusTask);

    /// <summary>The learning rates this arm runs at the budget, ascending.</summary>
    public IReadOnlyList<double> LrsAt(StudyBudget b) => Lrs switch
    {
        ArmLrs.Grid => b.Grid,
        ArmLrs.Log1e4 => new[] { b.Log1e4 },
        ArmLrs.Log1e5 => new[] { b.Log1e5 },
        _ => b.FullGridForAll ? b.Grid : new[] { b.Log1e5, b.Log1e4 },
    };

    /// <summary>The keys this arm sets at the budget, in the order they are applied: its own, then its shape's (fresh copies:
    /// the declared values are shared by every sweep built from them).</summary>
    public IReadOnlyList<KeyValuePair<string, JsonNode?>> SettingsAt(StudyBudget b) =>
        Set.Select(s => new KeyValuePair<string, JsonNode?>(s.Key, s.Value?.DeepClone())).Concat(b.SettingsFor(Shape)).ToList();

    /// <summary>The value the arm itself sets for <paramref name="key"/> (e.g. optimizer.clip_norm), or null.</summary>
    public JsonNode? Setting(string key) => Set.LastOrDefault(s => s.Key == key).Value;

    public double Number(ConfigKey key) =>
        JsonNumbers.TryGetDouble(Setting(key.Path), out var d) ? d : throw new InvalidOperationException($"arm '{Name}' does not set {key.Path}");

    /// <summary>The attention preset the arm sets ("cosine-n"), the short label of ℓ* comparisons.</summary>
    public string Attention => Setting(RunConfigKeys.Attention.Path)?.GetValue<string>() ?? "?";

    /// <summary>This arm's runs at one of the log's learning rates.</summary>
    public ArmAt At(LogLr lr) => new(this, lr);

    public override string ToString() => Name;
}

/// <summary>An arm's runs at one of the log's learning rates (all seeds).</summary>
public readonly record struct ArmAt(StudyArm Arm, LogLr Lr);

/// <summary>What a rule reads: an arm at one of the log's learning rates, or (Lr null) at every lr it runs. An optional
/// read (observations) is listed where the budget runs the arm and skipped elsewhere; any other read of an arm the
/// budget does not run is an error when the plan is built (<see cref="StudyDesign.Plan"/>).</summary>
public readonly record struct ArmRead(StudyArm Arm, LogLr? Lr, bool Optional = false)
{
    public static ArmRead Of(ArmAt a) => new(a.Arm, a.Lr);
    public static ArmRead Grid(StudyArm arm) => new(arm, null);
}
