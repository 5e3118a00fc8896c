using System.Text.Json.Nodes;
using BertLab.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>A validation pass's masked-LM loss split at the associative-recall positions (<see cref="RecallPositions"/>)
/// and the other masked positions; <see cref="Share"/> is the recall positions' share of the masked positions. A loss is
/// NaN where its set of positions is empty.</summary>
public sealed record RecallLosses(double RecallLoss, double NonRecallLoss, double Share, long RecallTokens)
{
    public void WriteTo(JsonObject o)
    {
        o[MetricKeys.ValRecallLoss] = double.IsFinite(RecallLoss) ? RecallLoss : null;
        o[MetricKeys.ValNonRecallLoss] = double.IsFinite(NonRecallLoss) ? NonRecallLoss : null;
        o[MetricKeys.ValRecallShare] = Share;
    }

    public static RecallLosses? FromJson(JsonObject o)
    {
        if (o[MetricKeys.ValRecallShare] is not JsonNode share) return null;
        static double Num(JsonNode? n) => n is null ? double.NaN : n.GetValue<double>();
        return new RecallLosses(Num(o[MetricKeys.ValRecallLoss]), Num(o[MetricKeys.ValNonRecallLoss]), share.GetValue<double>(), 0);
    }
}

/// <summary>
/// Accumulates the per-position masked-LM loss of validation batches into recall and non-recall sums. The positions are
/// found on the host from the batch (<see cref="RecallPositions.Find"/>); the per-position loss is the cross-entropy of the
/// masked-only logits, the same quantity whose sum is the validation loss.
/// </summary>
public sealed class RecallSplit
{
    readonly Func<long, bool>? _isSpecial;
    double _recallSum, _otherSum;
    long _recall, _other;

    /// <param name="tokenCounts">The source's training token counts (−1 marks special tokens, which are never part of a bigram); null: none.</param>
    public RecallSplit(long[]? tokenCounts)
    {
        if (tokenCounts is not null) _isSpecial = id => id >= 0 && id < tokenCounts.Length && tokenCounts[id] < 0;
    }

    /// <summary>Adds one batch: <paramref name="cpuBatch"/> as it came from the source, and the masked-only logits and labels of its forward pass.</summary>
    public void Add(MlmBatch cpuBatch, Tensor logits, Tensor selectedLabels)
    {
        var ids = cpuBatch.InputIds.cpu().contiguous().data<long>().ToArray();
        var labels = cpuBatch.Labels.cpu().contiguous().data<long>().ToArray();
        var attention = cpuBatch.AttentionMask.cpu().contiguous().data<long>().ToArray();
        var recall = RecallPositions.Find(ids, labels, attention, cpuBatch.SequenceLength, _isSpecial);
        var losses = nn.functional.cross_entropy(logits.to_type(ScalarType.Float32), selectedLabels, reduction: nn.Reduction.None)
            .cpu().data<float>().ToArray();
        if (losses.Length != recall.Length)
            throw new InvalidOperationException($"recall split: {losses.Length} masked-only logits for {recall.Length} selected positions");
        for (int i = 0; i < losses.Length; i++)
        {
            if (recall[i]) { _recallSum += losses[i]; _recall++; }
            else { _otherSum += losses[i]; _other++; }
        }
    }

    public RecallLosses Result()
    {
        static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 6) : v;
        long all = _recall + _other;
        return new RecallLosses(Round(_recall > 0 ? _recallSum / _recall : double.NaN), Round(_other > 0 ? _otherSum / _other : double.NaN),
            Round(all > 0 ? _recall / (double)all : 0), _recall);
    }
}
