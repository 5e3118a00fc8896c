using System.Globalization;
using System.Text.Json.Nodes;

namespace BertLab.Data.Synthetic;

/// <summary>
/// A synthetic masked-recall task family where a masked token can only be recovered by attending to another position.
/// <list type="bullet">
/// <item><b>associative_recall</b> (multi-query associative recall, Zoology, Arora et al. 2023, arXiv 2312.04927):
/// <c>[CLS] k1 v1 k2 v2 … kP vP [SEP] q1 [MASK] q2 [MASK] … [SEP]</c> with distinct keys per sequence; each query is one of
/// the sequence's keys and its [MASK] hides that key's value. The unigram guess is uniform over the values.</item>
/// <item><b>copy</b> (copying with distractors): <c>[CLS] x1 d x2 x3 d … xL [SEP] x1 … xL [SEP]</c>: a sequence of symbols with
/// distractor tokens (from their own set) inserted at random places, then the symbols again with some of them masked; a masked
/// symbol is found by aligning the copy with the original by content, skipping distractors.</item>
/// </list>
/// The number of pairs (symbols) varies per sequence, so sequences have different lengths. Its own vocabulary:
/// [PAD] [UNK] [CLS] [SEP] [MASK], then key symbols, value symbols, distractor symbols.
/// </summary>
public sealed record SyntheticTask
{
    public const int Pad = 0, Unk = 1, Cls = 2, Sep = 3, Mask = 4, FirstSymbol = 5;
    public static readonly string[] Kinds = { "associative_recall", "copy" };

    public string Kind { get; init; } = "associative_recall";
    /// <summary>Key symbols (associative recall) or copied symbols (copy).</summary>
    public int Keys { get; init; } = 64;
    /// <summary>Value symbols (associative recall); unused by copy.</summary>
    public int Values { get; init; } = 64;
    /// <summary>Distractor symbols (copy); unused by associative recall.</summary>
    public int Distractors { get; init; } = 8;
    /// <summary>Pairs (associative recall) or copied symbols (copy) per sequence: uniform in [MinPairs, MaxPairs].</summary>
    public int MinPairs { get; init; } = 4;
    public int MaxPairs { get; init; } = 16;
    /// <summary>Queries per sequence as a fraction of its pairs (associative recall; at least 1), or the fraction of the copy that is masked.</summary>
    public double QueryFraction { get; init; } = 0.5;
    /// <summary>Distractors inserted per copied symbol, on average (copy).</summary>
    public double DistractorRate { get; init; } = 0.5;
    /// <summary>Curriculum: the upper bound on pairs grows linearly from MinPairs to MaxPairs over this many training batches (0: none).</summary>
    public int CurriculumBatches { get; init; }

    public int VocabSize => FirstSymbol + Keys + (Kind == "copy" ? Distractors : Values);
    int ValueBase => FirstSymbol + Keys;
    int DistractorBase => FirstSymbol + Keys;

    /// <summary>The longest sequence this task can produce (what seq_len / max_position_embeddings must hold).</summary>
    public int MaxLength => Kind == "copy"
        ? 3 + 2 * MaxPairs + MaxDistractors(MaxPairs)
        : 3 + 2 * MaxPairs + 2 * QueriesFor(MaxPairs);

    /// <summary>ln of the number of choices a context-free guess has at a labelled position (the "uniform" loss of the task).</summary>
    public double UniformLoss => Math.Log(Kind == "copy" ? Keys : Values);

    int QueriesFor(int pairs) => Math.Clamp((int)Math.Round(QueryFraction * pairs, MidpointRounding.AwayFromZero), 1, pairs);
    int MaxDistractors(int symbols) => (int)Math.Ceiling(2 * DistractorRate * symbols);

    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new BertLabException($"synthetic task: kind must be one of {string.Join(", ", Kinds)}, got '{Kind}'");
        if (MinPairs < 1 || MaxPairs < MinPairs) throw new BertLabException($"synthetic task: need 1 ≤ min_pairs ≤ max_pairs, got {MinPairs}..{MaxPairs}");
        if (Kind == "associative_recall" && Keys < MaxPairs) throw new BertLabException($"synthetic task: {Keys} keys cannot give {MaxPairs} distinct keys per sequence");
        if (Keys < 2 || (Kind == "associative_recall" && Values < 2)) throw new BertLabException("synthetic task: keys and values need at least 2 symbols each");
        if (Kind == "copy" && DistractorRate > 0 && Distractors < 1) throw new BertLabException("synthetic task: copy with distractors needs at least 1 distractor symbol");
        if (QueryFraction <= 0 || QueryFraction > 1) throw new BertLabException($"synthetic task: query_fraction must be in (0, 1], got {QueryFraction}");
        if (DistractorRate < 0 || CurriculumBatches < 0) throw new BertLabException("synthetic task: distractor_rate and curriculum_batches must be ≥ 0");
    }

    /// <summary>The token strings, id order (a vocab.txt).</summary>
    public IReadOnlyList<string> Vocabulary()
    {
        var v = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
        for (int i = 0; i < Keys; i++) v.Add("k" + i.ToString(CultureInfo.InvariantCulture));
        if (Kind == "copy") for (int i = 0; i < Distractors; i++) v.Add("d" + i.ToString(CultureInfo.InvariantCulture));
        else for (int i = 0; i < Values; i++) v.Add("v" + i.ToString(CultureInfo.InvariantCulture));
        return v;
    }

    public void WriteVocabulary(string path) => File.WriteAllLines(path, Vocabulary());

    /// <summary>One example: input ids (with [MASK]s), token types, labels (−100 except the recall positions).</summary>
    public sealed record Example(int[] InputIds, int[] TokenTypes, int[] Labels)
    {
        public int Length => InputIds.Length;
    }

    /// <summary>Example number <paramref name="index"/> of the stream <paramref name="stream"/>: a pure function of (seed, stream, index).</summary>
    public Example Generate(ulong seed, ulong stream, ulong index, int maxPairs)
    {
        var rng = new SplitMix64(SplitMix64.Derive(seed, stream, index));
        int hi = Math.Clamp(maxPairs, MinPairs, MaxPairs);
        int pairs = MinPairs + (int)rng.NextBelow((ulong)(hi - MinPairs + 1));
        return Kind == "copy" ? Copy(ref rng, pairs) : Recall(ref rng, pairs);
    }

    Example Recall(ref SplitMix64 rng, int pairs)
    {
        var keys = SampleDistinct(ref rng, Keys, pairs);
        var values = new int[pairs];
        for (int i = 0; i < pairs; i++) values[i] = (int)rng.NextBelow((ulong)Values);
        int queries = QueriesFor(pairs);
        var order = SampleDistinct(ref rng, pairs, queries); // which pairs are queried, in random order

        var ids = new List<int> { Cls };
        for (int i = 0; i < pairs; i++) { ids.Add(FirstSymbol + keys[i]); ids.Add(ValueBase + values[i]); }
        ids.Add(Sep);
        int second = ids.Count;
        var labels = Enumerable.Repeat(-100, ids.Count).ToList();
        foreach (int q in order)
        {
            ids.Add(FirstSymbol + keys[q]); labels.Add(-100);
            ids.Add(Mask); labels.Add(ValueBase + values[q]);
        }
        ids.Add(Sep); labels.Add(-100);
        return new Example(ids.ToArray(), ids.Select((_, i) => i < second ? 0 : 1).ToArray(), labels.ToArray());
    }

    Example Copy(ref SplitMix64 rng, int symbols)
    {
        var xs = new int[symbols];
        for (int i = 0; i < symbols; i++) xs[i] = (int)rng.NextBelow((ulong)Keys);
        var ids = new List<int> { Cls };
        int budget = MaxDistractors(symbols);
        for (int i = 0; i < symbols; i++)
        {
            ids.Add(FirstSymbol + xs[i]);
            // each gap gets a distractor with probability rate (at most ⌈2·rate·L⌉ in all, so MaxLength holds)
            double r = DistractorRate;
            while (budget > 0 && r > 0 && rng.NextDouble() < Math.Min(r, 1.0)) { ids.Add(DistractorBase + (int)rng.NextBelow((ulong)Distractors)); budget--; r -= 1.0; }
        }
        ids.Add(Sep);
        int second = ids.Count;
        var labels = Enumerable.Repeat(-100, ids.Count).ToList();
        int masked = QueriesFor(symbols);
        var hide = new HashSet<int>(SampleDistinct(ref rng, symbols, masked));
        for (int i = 0; i < symbols; i++)
        {
            bool m = hide.Contains(i);
            ids.Add(m ? Mask : FirstSymbol + xs[i]);
            labels.Add(m ? FirstSymbol + xs[i] : -100);
        }
        ids.Add(Sep); labels.Add(-100);
        return new Example(ids.ToArray(), ids.Select((_, i) => i < second ? 0 : 1).ToArray(), labels.ToArray());
    }

    /// <summary>k distinct integers from [0, n) in random order (partial Fisher–Yates).</summary>
    static int[] SampleDistinct(ref SplitMix64 rng, int n, int k)
    {
        var a = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)rng.NextBelow((ulong)(n - i));
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a[..k];
    }

    public JsonObject ToJson() => new()
    {
        ["kind"] = Kind, ["keys"] = Keys, ["values"] = Values, ["distractors"] = Distractors, ["min_pairs"] = MinPairs, ["max_pairs"] = MaxPairs,
        ["query_fraction"] = QueryFraction, ["distractor_rate"] = DistractorRate, ["curriculum_batches"] = CurriculumBatches,
        ["vocab_size"] = VocabSize, ["max_length"] = MaxLength, ["uniform_loss"] = UniformLoss,
    };

    public string Describe() => Kind == "copy"
        ? $"synthetic copy: {MinPairs}-{MaxPairs} of {Keys} symbols, {DistractorRate:0.##} distractors/symbol from {Distractors}, {QueryFraction:P0} masked (vocab {VocabSize})"
        : $"synthetic associative recall: {MinPairs}-{MaxPairs} pairs of {Keys} keys × {Values} values, {QueryFraction:P0} queried (vocab {VocabSize})";
}
