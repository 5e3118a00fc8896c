using BertLab.Text;

namespace BertLab.Data;

public sealed record MaskingOptions
{
    /// <summary>Share of non-special tokens selected for prediction.</summary>
    public double SelectProbability { get; init; } = 0.15;
    /// <summary>Of the selected: share replaced by [MASK].</summary>
    public double MaskShare { get; init; } = 0.8;
    /// <summary>Of the selected: share replaced by a random non-special token (the rest stay unchanged).</summary>
    public double RandomShare { get; init; } = 0.1;
    /// <summary>Select whole words: a word's ##-continuation pieces are selected together with its first piece.</summary>
    public bool WholeWord { get; init; }

    public void Validate()
    {
        if (SelectProbability is <= 0 or >= 1) throw new BertLabException($"masking.selectProbability {SelectProbability} must be in (0, 1)");
        if (MaskShare < 0 || RandomShare < 0 || MaskShare + RandomShare > 1)
            throw new BertLabException($"masking.maskShare {MaskShare} and masking.randomShare {RandomShare} must be ≥ 0 and add up to at most 1");
    }
}

/// <summary>
/// BERT's masked-LM corruption of one sequence. Special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], [unused…]) are
/// never selected. Each selected token gets label = its id and becomes [MASK] (80%), a random non-special token (10%)
/// or stays (10%); every other position gets label −100. Randomness comes from the caller's generator.
/// </summary>
public sealed class MlmMasker
{
    public const long IgnoreLabel = -100;
    readonly bool[] _special, _continuation;
    readonly int[] _replacements;
    readonly long _maskId;

    public MaskingOptions Options { get; }

    public MlmMasker(Vocabulary vocab, MaskingOptions? options = null)
    {
        Options = options ?? new MaskingOptions();
        Options.Validate();
        _special = new bool[vocab.Count];
        _continuation = new bool[vocab.Count];
        var replacements = new List<int>();
        for (int i = 0; i < vocab.Count; i++)
        {
            _special[i] = vocab.IsSpecial(i);
            _continuation[i] = vocab[i].StartsWith("##", StringComparison.Ordinal) && vocab[i].Length > 2;
            if (!_special[i]) replacements.Add(i);
        }
        if (replacements.Count == 0) throw new BertLabException("the vocabulary has no ordinary (non-special) tokens");
        _replacements = replacements.ToArray();
        _maskId = vocab.MaskId;
    }

    public bool IsSpecial(long id) => (ulong)id >= (ulong)_special.Length || _special[id];

    /// <summary>Corrupts <paramref name="ids"/> into <paramref name="inputIds"/> and writes <paramref name="labels"/>; returns how many were selected.</summary>
    public int Mask(ReadOnlySpan<long> ids, Span<long> inputIds, Span<long> labels, ref SplitMix64 random)
    {
        double select = Options.SelectProbability, mask = Options.MaskShare, maskOrRandom = Options.MaskShare + Options.RandomShare;
        bool wholeWord = Options.WholeWord;
        bool wordSelected = false;
        int selected = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            inputIds[i] = id;
            labels[i] = IgnoreLabel;
            if (IsSpecial(id)) { wordSelected = false; continue; }
            bool pick;
            if (wholeWord && _continuation[id] && i > 0 && !IsSpecial(ids[i - 1])) pick = wordSelected;
            else pick = wordSelected = random.NextDouble() < select;
            if (!pick) continue;
            selected++;
            labels[i] = id;
            double r = random.NextDouble();
            if (r < mask) inputIds[i] = _maskId;
            else if (r < maskOrRandom) inputIds[i] = _replacements[random.NextBelow((ulong)_replacements.Length)];
        }
        return selected;
    }
}
