namespace BertLab.Data;

/// <summary>
/// Associative-recall positions of a masked-LM batch (Zoology's "AR hit", Arora et al. 2023, adapted to a bidirectional
/// model): a selected position i is a recall position when its left neighbour i − 1 is visible and the bigram of original
/// tokens (x[i−1], x[i]) occurs elsewhere in the same sequence at two visible positions (j − 1, j). There the answer can be
/// copied from context, which is what attention is for; a bare repeated piece would be dominated by "the" and ",".
/// Selected positions count as masked whatever the 80/10/10 rule put there (replaced or kept tokens are not visible to the
/// definition); [PAD] and special tokens are never part of a bigram.
/// </summary>
public static class RecallPositions
{
    /// <summary>
    /// One flag per selected position (labels ≠ −100), in flat row-major order — the order of the masked-only logits.
    /// </summary>
    /// <param name="inputIds">The corrupted inputs, batch × sequence, row-major.</param>
    /// <param name="labels">The original id at selected positions, −100 elsewhere.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for [PAD].</param>
    /// <param name="isSpecial">Token ids that are never part of a bigram ([CLS], [SEP], …); null: none besides [PAD].</param>
    public static bool[] Find(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> labels, ReadOnlySpan<long> attentionMask, int sequenceLength, Func<long, bool>? isSpecial = null)
    {
        if (inputIds.Length != labels.Length || inputIds.Length != attentionMask.Length)
            throw new ArgumentException("input ids, labels and attention mask must have the same length");
        if (sequenceLength <= 0 || inputIds.Length % sequenceLength != 0)
            throw new ArgumentException($"the arrays ({inputIds.Length}) are not a whole number of sequences of {sequenceLength}");
        int selected = 0;
        foreach (var l in labels) if (l != -100) selected++;
        var result = new bool[selected];
        var visibleBigrams = new HashSet<(long, long)>();
        var visible = new bool[sequenceLength];
        var original = new long[sequenceLength];
        int k = 0;
        for (int start = 0; start < inputIds.Length; start += sequenceLength)
        {
            visibleBigrams.Clear();
            for (int t = 0; t < sequenceLength; t++)
            {
                int i = start + t;
                bool isSelected = labels[i] != -100;
                original[t] = isSelected ? labels[i] : inputIds[i];
                visible[t] = !isSelected && attentionMask[i] != 0 && !(isSpecial?.Invoke(original[t]) ?? false);
            }
            for (int t = 1; t < sequenceLength; t++)
                if (visible[t - 1] && visible[t]) visibleBigrams.Add((original[t - 1], original[t]));
            for (int t = 0; t < sequenceLength; t++)
            {
                if (labels[start + t] == -100) continue;
                result[k++] = t >= 1 && visible[t - 1] && visibleBigrams.Contains((original[t - 1], original[t]));
            }
        }
        return result;
    }
}
