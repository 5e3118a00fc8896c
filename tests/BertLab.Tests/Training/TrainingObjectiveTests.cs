using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

/// <summary>The one training objective against the masked-LM loss and the output penalty computed by hand.</summary>
public class TrainingObjectiveTests
{
    static BertConfig Tiny(double penalty)
    {
        var c = ModelPresets.Create("tiny");
        c.VocabSize = 120; c.MaxPositionEmbeddings = 32; c.HiddenDropoutProb = 0; c.AttentionProbsDropoutProb = 0;
        c.Attention = AttentionConfig.FromPreset("cosine");
        c.Attention.OutputPenalty = penalty;
        return c;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Objective_IsMeanMlmLossPlusLambdaTimesPenalty_ComputedByHand(bool maskedOnly)
    {
        using var scope = NewDisposeScope();
        const double lambda = 0.7;
        torch.manual_seed(3);
        var model = new BertForMaskedLM(Tiny(lambda));
        model.to(ScalarType.Float64);
        model.eval();
        using (no_grad())                                                                  // outputs larger than inputs: a penalty > 0
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("attention.self.value") || name.Contains("attention.output.dense")) p.mul_(20);
        var g = new Generator(5);
        var ids = randint(5, 120, new long[] { 3, 16 }, generator: g);
        var mask = ones_like(ids); mask[2, TensorIndex.Slice(10)] = 0;                   // padding in the last row
        var labels = where(rand(new long[] { 3, 16 }, generator: g) < 0.3, ids, full_like(ids, -100));
        labels = where(mask.eq(1), labels, full_like(labels, -100));
        labels[0, 0] = ids[0, 0];                                                         // at least one label
        long n = labels.ne(-100).sum().item<long>();

        var output = model.Forward(ids, mask, null, labels, new ForwardOptions { HiddenStates = true, Contexts = true }, maskedOnly: maskedOnly);
        var terms = TrainingObjective.MaskedLM(output.MlmLossSum!, output.Encoder.OutputPenalty, lambda, n, n);

        // By hand: the MLM mean from full-vocabulary logits (log-softmax, gather), the penalty from each layer's input and output.
        var full = model.Forward(ids, mask, null, null).Logits.reshape(-1, 120);
        var flat = labels.reshape(-1);
        var at = nonzero(flat.ne(-100)).squeeze(1);
        double mlm = -full.log_softmax(-1).index_select(0, at).gather(1, flat.index_select(0, at).unsqueeze(1)).sum().item<double>() / n;
        double penalty = 0;
        var realMask = mask.to_type(ScalarType.Float64);
        for (int layer = 0; layer < output.Encoder.Contexts.Count; layer++)
        {
            var excess = nn.functional.relu(output.Encoder.Contexts[layer].norm(-1) - output.Encoder.HiddenStates[layer].norm(-1));
            penalty += (excess * realMask).sum().item<double>() / realMask.sum().item<double>();
        }
        penalty /= output.Encoder.Contexts.Count;
        Assert.True(penalty > 0, "the penalty must be exercised");

        double expected = mlm + lambda * penalty;
        Assert.Equal(expected, terms.Total.item<double>(), 10);
        Assert.Equal(mlm, terms.Mlm.item<double>(), 10);
        Assert.Equal(penalty, terms.Penalty!.item<double>(), 10);
        Assert.Equal(expected, output.Loss!.item<double>(), 10);                            // the model's convenience loss is the same objective
    }

    [Fact]
    public void MicroBatchTerms_WeightThePenaltyByTheirShareOfTheLabelledTokens()
    {
        using var scope = NewDisposeScope();
        var sum = tensor(12.0, ScalarType.Float64);
        var penalty = tensor(0.5, ScalarType.Float64);
        var t = TrainingObjective.MaskedLM(sum, penalty, 0.2, labelled: 3, denominator: 8);
        Assert.Equal(12.0 / 8 + 0.2 * (3.0 / 8) * 0.5, t.Total.item<double>(), 14);
        Assert.Equal(12.0 / 8, t.Mlm.item<double>(), 14);
        Assert.Equal(0.5 * 3 / 8, t.Penalty!.item<double>(), 14);
        Assert.Null(TrainingObjective.MaskedLM(sum, null, 0.2, 3, 8).Penalty);
    }
}
