using static TorchSharp.torch;

namespace BertLab.Model;

/// <summary>The masked-LM objective of one micro-batch, split into what is optimised and what is reported.</summary>
/// <param name="Total">What to backpropagate: <see cref="Mlm"/> + λ · weight · penalty.</param>
/// <param name="Mlm">The MLM cross-entropy term (summed loss / denominator).</param>
/// <param name="Penalty">The output penalty weighted by the micro-batch's share (detached, for reporting; λ not applied); null without it.</param>
public sealed record MlmObjectiveTerms(Tensor Total, Tensor Mlm, Tensor? Penalty);

/// <summary>
/// The training objective, declared once: a task loss plus λ·(output penalty) (ATTENTION.md §1, attention.output_penalty).
/// The models return the pieces (the summed MLM cross-entropy, the penalty); the trainer, the training benchmark,
/// fine-tuning and the models' convenience <c>Loss</c> all compose them here.
/// </summary>
public static class TrainingObjective
{
    /// <summary>
    /// The objective of one micro-batch of a step whose labelled tokens over the whole batch (all micro-batches, all
    /// ranks) number <paramref name="denominator"/>: its summed MLM cross-entropy / denominator + λ · (its labelled tokens /
    /// denominator) · its output penalty. The penalty is a mean per micro-batch, hence weighted by the micro-batch's
    /// share of the labelled tokens; summed over the micro-batches this equals the objective of one large batch.
    /// For a batch alone, <paramref name="labelled"/> = <paramref name="denominator"/>: mean cross-entropy + λ · penalty.
    /// </summary>
    public static MlmObjectiveTerms MaskedLM(Tensor mlmLossSum, Tensor? penalty, double lambda, long labelled, double denominator)
    {
        var mlm = mlmLossSum / denominator;
        if (penalty is null) return new MlmObjectiveTerms(mlm, mlm, null);
        double weight = labelled / denominator;
        return new MlmObjectiveTerms(WithPenalty(mlm, penalty, lambda * weight), mlm, penalty.detach() * weight);
    }

    /// <summary>A task loss + <paramref name="lambda"/> · penalty (the loss itself when there is no penalty).</summary>
    public static Tensor WithPenalty(Tensor taskLoss, Tensor? penalty, double lambda) =>
        penalty is null ? taskLoss : taskLoss + lambda * penalty;
}
