using System.Text.Json.Nodes;
using BertLab.Data;

namespace BertLab.Training;

/// <summary>The length distribution of the sequences a run trained on: real tokens per sequence (a histogram) and the
/// padding share of the batches (padded cells / all cells), for summary.json "lengths".</summary>
public sealed class SequenceLengths
{
    readonly List<long> _histogram = new();
    long _cells, _real;
    public long Sequences { get; private set; }

    /// <summary>Counts a CPU batch's rows (real tokens from its attention mask).</summary>
    public void Add(MlmBatch batch)
    {
        var rows = batch.AttentionMask.sum(1).cpu().data<long>().ToArray();
        foreach (var n in rows) Add((int)n, batch.SequenceLength);
    }

    public void Add(int realTokens, int width)
    {
        while (_histogram.Count <= realTokens) _histogram.Add(0);
        _histogram[realTokens]++;
        Sequences++;
        _real += realTokens;
        _cells += width;
    }

    public double PaddingShare => _cells == 0 ? 0 : 1 - _real / (double)_cells;

    /// <summary>The smallest length with at least q of the sequences at or below it.</summary>
    public int Quantile(double q)
    {
        long need = Math.Max(1, (long)Math.Ceiling(q * Sequences)), seen = 0;
        for (int n = 0; n < _histogram.Count; n++) if ((seen += _histogram[n]) >= need) return n;
        return _histogram.Count - 1;
    }

    public JsonObject ToJson() => new()
    {
        ["sequences"] = Sequences,
        ["min"] = Quantile(0), ["median"] = Quantile(0.5), ["mean"] = Math.Round(_real / (double)Math.Max(1, Sequences), 3),
        ["max"] = _histogram.Count - 1, ["padding_share"] = Math.Round(PaddingShare, 6),
    };
}
