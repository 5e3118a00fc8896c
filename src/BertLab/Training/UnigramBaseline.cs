namespace BertLab.Training;

/// <summary>
/// The loss of a model that ignores context: at every masked position it predicts the training data's unigram
/// distribution q(t) = (count(t) + 1) / (N + V') over the V' ordinary tokens (add-one smoothing, so a token never seen in
/// training costs a finite ln(N + V')). Reported beside each validation as <c>val_unigram_loss</c>: a val_loss well
/// below it means the model uses its context (attention); a val_loss near it means it does not yet.
/// </summary>
public sealed class UnigramBaseline
{
    readonly double[] _logQ;

    /// <param name="counts">Per token id: occurrences in the training data; tokens that can never be a label (specials)
    /// must be given as −1 or 0 (0: they still get the smoothing mass, −1: excluded).</param>
    public UnigramBaseline(IReadOnlyList<long> counts)
    {
        long total = 0, kinds = 0;
        foreach (var c in counts) if (c >= 0) { total += c; kinds++; }
        _logQ = new double[counts.Count];
        double denominator = Math.Log(total + (double)kinds);
        for (int t = 0; t < counts.Count; t++)
            _logQ[t] = counts[t] < 0 ? double.NegativeInfinity : Math.Log(counts[t] + 1.0) - denominator;
    }

    /// <summary>−ln q(t).</summary>
    public double Loss(long token) => -_logQ[token];

    /// <summary>Adds −ln q(label) for every label ≠ −100 in <paramref name="labels"/>; returns how many were added.</summary>
    public long AddLosses(ReadOnlySpan<long> labels, ref double sum)
    {
        long n = 0;
        foreach (var l in labels)
        {
            if (l < 0 || l >= _logQ.Length) continue;
            sum -= _logQ[l];
            n++;
        }
        return n;
    }
}
