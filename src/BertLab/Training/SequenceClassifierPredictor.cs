using BertLab.Model;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>Predictions of a fine-tuned classifier: probabilities and argmax per class, or a score for regression.</summary>
public sealed class SequencePredictions
{
    /// <summary>(N, num_labels) softmax probabilities; null for regression.</summary>
    public float[][]? Probabilities { get; init; }
    /// <summary>Argmax class per example; null for regression.</summary>
    public int[]? Classes { get; init; }
    /// <summary>Predicted score per example (regression); null for classification.</summary>
    public double[]? Scores { get; init; }
}

/// <summary>Runs a <see cref="BertForSequenceClassification"/> in evaluation mode (no dropout, no gradients) over encoded examples.</summary>
public static class SequenceClassifierPredictor
{
    public static SequencePredictions Predict(BertForSequenceClassification model, EncodedExamples data, Device device, int batchSize = 64)
    {
        bool wasTraining = model.training;
        model.eval();
        int n = data.Count, k = model.Config.NumLabels;
        bool regression = model.IsRegression;
        var probs = regression ? null : new float[n][];
        var scores = regression ? new double[n] : null;
        try
        {
            using var _ = no_grad();
            foreach (var indices in data.LengthSortedBatches(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = data.Batch(indices, device);
                var logits = model.Forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds).Logits.to(float32).cpu();
                if (regression)
                {
                    var values = logits.reshape(-1).data<float>().ToArray();
                    for (int r = 0; r < indices.Length; r++) scores![indices[r]] = values[r];
                }
                else
                {
                    var p = nn.functional.softmax(logits, -1).data<float>().ToArray();
                    for (int r = 0; r < indices.Length; r++) probs![indices[r]] = p.AsSpan(r * k, k).ToArray();
                }
            }
        }
        finally { if (wasTraining) model.train(); }
        return new SequencePredictions
        {
            Probabilities = probs,
            Classes = probs?.Select(ArgMax).ToArray(),
            Scores = scores,
        };
    }

    static int ArgMax(float[] p)
    {
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        return best;
    }
}
