using System.Text.Json.Nodes;
using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>
/// The arms of the research-log study, each declared once: the optimiser (Adam with coupled L2, or AdamW), the attention
/// preset and what else it sets, which of the budget's learning rates it runs and which budget settings it takes.
/// <see cref="RunOrder"/> is the order of the sweep's runs; the findings (<see cref="ResearchLogFindings"/>) read these
/// objects.
/// </summary>
public static class ResearchLogArms
{
    static StudyArm Arm(string name, ArmLrs lrs, string optimizer, string attention, params (string Key, JsonNode? Value)[] set) =>
        new(name, lrs, new[] { ("optimizer.name", (JsonNode?)optimizer), ("attention", (JsonNode?)attention) }.Concat(set)
            .Select(s => new KeyValuePair<string, JsonNode?>(s.Item1, s.Item2)).ToList());

    // findings 1, 2: Adam (coupled L2 0.01), no clipping
    public static readonly StudyArm AdamSoftmax = Arm("adam softmax", ArmLrs.Grid, "adam", "softmax");
    public static readonly StudyArm AdamCosine = Arm("adam cosine", ArmLrs.Grid, "adam", "cosine");
    public static readonly StudyArm AdamCosineClip = Arm("adam cosine clip", ArmLrs.Log1e4, "adam", "cosine", ("optimizer.clip_norm", 1.0));
    public static readonly StudyArm AdamCosineWd = Arm("adam cosine wd0.1", ArmLrs.Log1e4, "adam", "cosine", ("optimizer.weight_decay", 0.1));
    // findings 3 onwards: AdamW; softmax anchors the grid, cosine-softmax is the "attention in use" gate
    public static readonly StudyArm Softmax = Arm("adamw softmax", ArmLrs.Grid, "adamw", "softmax");
    public static readonly StudyArm CosineSoftmax = Arm("adamw cosine-softmax", ArmLrs.LogBoth, "adamw", "cosine-softmax");
    public static readonly StudyArm Cosine = Arm("adamw cosine", ArmLrs.Grid, "adamw", "cosine");
    public static readonly StudyArm CosineRelu = Arm("adamw cosine-relu", ArmLrs.Grid, "adamw", "cosine-relu");
    public static readonly StudyArm CosineN = Arm("adamw cosine-n", ArmLrs.Grid, "adamw", "cosine-n");
    public static readonly StudyArm Cottention = Arm("adamw cottention", ArmLrs.Grid, "adamw", "cottention");
    public static readonly StudyArm CosineSigmoid = Arm("adamw cosine-sigmoid", ArmLrs.Log1e5, "adamw", "cosine-sigmoid");
    public static readonly StudyArm CosineReluTokenDropout = Arm("adamw cosine-relu token-dropout", ArmLrs.Log1e5, "adamw", "cosine-relu", ("attention.token_dropout", 0.1));
    // angular with cosine-relu's scaling (none), so only the similarity differs
    public static readonly StudyArm AngularScalingNone = Arm("adamw angular scaling-none", ArmLrs.Log1e5, "adamw", "angular", ("attention.scaling", "none"));
    public static readonly StudyArm CosineSqrtN = Arm("adamw cosine-sqrt-n", ArmLrs.Log1e4, "adamw", "cosine-sqrt-n");
    public static readonly StudyArm CosineSqrtNLong = Arm("adamw cosine-sqrt-n long", ArmLrs.Log1e4, "adamw", "cosine-sqrt-n") with { Shape = ArmShape.LongSequences };
    public static readonly StudyArm CosineNLong = Arm("adamw cosine-n long", ArmLrs.Log1e4, "adamw", "cosine-n") with { Shape = ArmShape.LongSequences };
    public static readonly StudyArm QkvNorm = Arm("adamw qkv-norm", ArmLrs.Log1e4, "adamw", "qkv-norm");
    // output penalty on plain cosine, whose output norm is not bounded (on cosine-n it stayed exactly 0)
    public static readonly IReadOnlyList<StudyArm> CosinePenalty = new[] { 0.01, 0.1 }
        .Select(lambda => Arm($"adamw cosine penalty{SweepDefinition.FormatNumber(lambda)}", ArmLrs.Log1e4, "adamw", "cosine", ("attention.output_penalty", lambda))).ToList();
    // finding 7: the clean arm's configuration trained on the corpus with its punctuation stripped, validated on the clean
    // corpus's validation documents with the clean vocabulary (text budgets only)
    public static readonly StudyArm SoftmaxStripped = Arm("adamw softmax punctuation-stripped", ArmLrs.Log1e4, "adamw", "softmax") with { Shape = ArmShape.StrippedCorpus, TextOnly = true };
    // future work of the log (finding 9): run where the budget runs observations
    public static readonly StudyArm Euclidean = Arm("adamw euclidean", ArmLrs.Log1e4, "adamw", "euclidean") with { Observation = true };
    public static readonly StudyArm Manhattan = Arm("adamw manhattan", ArmLrs.Log1e4, "adamw", "manhattan") with { Observation = true, Shape = ArmShape.DistanceBatch };
    public static readonly StudyArm Lp = Arm("adamw lp", ArmLrs.Log1e4, "adamw", "lp") with { Observation = true, Shape = ArmShape.DistanceBatch };

    /// <summary>Every arm, in the order the sweep runs them.</summary>
    public static readonly IReadOnlyList<StudyArm> RunOrder = new[]
    {
        AdamSoftmax, AdamCosine, AdamCosineClip, AdamCosineWd,
        Softmax, CosineSoftmax, Cosine, CosineRelu, CosineN, Cottention, CosineSigmoid, CosineReluTokenDropout, AngularScalingNone,
        CosineSqrtN, CosineSqrtNLong, CosineNLong, QkvNorm,
    }.Concat(CosinePenalty).Append(SoftmaxStripped).Concat(new[] { Euclidean, Manhattan, Lp }).ToList();
}
