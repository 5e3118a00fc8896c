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
/// <item><b>lookup</b> (one-step content lookup): <c>[CLS] kv₁ d kv₂ … kv_P [SEP] q₁ q₂ … [SEP]</c>, where each kvᵢ is one
/// token standing for a (key, value) pair (its own symbol for each of the Keys × Values combinations), distinct keys per
/// sequence, optional distractor tokens between them; each query token qⱼ is a key symbol and its label is the value stored
/// with that key. A single attention layer that matches the query against the pair tokens' keys solves it; near-uniform
/// attention only sees the bag of pairs, from which binding a value to the queried key is hard. Made so that attention is
/// in use within a few hundred steps of a tiny model (issue 17 item 7).</item>
/// <item><b>index</b> (positional lookup): <c>[CLS] v₁ v₂ … v_P [SEP] i₁ i₂ … [SEP]</c>: P value symbols, then query tokens that
/// are index symbols (@1 … @Keys); the label of query @j is v_j. Attention that matches a query symbol with a position solves it
/// in one layer; near-uniform attention only sees the bag of values (the values are input tokens too, so that bag is learnt
/// first and gives the value pathway its signal).</item>
/// </list>
/// The number of pairs (symbols) varies per sequence, so sequences have different lengths. Its own vocabulary:
/// [PAD] [UNK] [CLS] [SEP] [MASK], then key symbols, value symbols, distractor symbols.
/// </summary>
public sealed record SyntheticTask
{
    public const int Pad = 0, Unk = 1, Cls = 2, Sep = 3, Mask = 4, FirstSymbol = 5;
    public static readonly string[] Kinds = { "associative_recall", "copy", "lookup", "index" };

    public string Kind { get; init; } = "associative_recall";
    /// <summary>Key symbols (associative recall) or copied symbols (copy).</summary>
    public int Keys { get; init; } = 64;
    /// <summary>Value symbols (associative recall); unused by copy.</summary>
    public int Values { get; init; } = 64;
    /// <summary>Distractor symbols (copy, lookup); unused by associative recall.</summary>
    public int Distractors { get; init; } = 8;
    /// <summary>Pairs (associative recall) or copied symbols (copy) per sequence: uniform in [MinPairs, MaxPairs].</summary>
    public int MinPairs { get; init; } = 4;
    public int MaxPairs { get; init; } = 16;
    /// <summary>Queries per sequence as a fraction of its pairs (associative recall; at least 1), or the fraction of the copy that is masked.</summary>
    public double QueryFraction { get; init; } = 0.5;
    /// <summary>Distractors inserted per copied symbol or stored pair, on average (copy, lookup).</summary>
    public double DistractorRate { get; init; } = 0.5;
    /// <summary>Curriculum: the upper bound on pairs grows linearly from MinPairs to MaxPairs over this many training batches (0: none).</summary>
    public int CurriculumBatches { get; init; }

    public int VocabSize => Kind switch
    {
        "copy" => FirstSymbol + Keys + Distractors,
        "lookup" => FirstSymbol + Keys + Values + Keys * Values + Distractors,
        _ => FirstSymbol + Keys + Values, // associative_recall, index
    };
    int ValueBase => FirstSymbol + Keys;
    int DistractorBase => Kind == "lookup" ? PairBase + Keys * Values : FirstSymbol + Keys;
    int PairBase => FirstSymbol + Keys + Values;

    /// <summary>The longest sequence this task can produce (what seq_len / max_position_embeddings must hold).</summary>
    public int MaxLength => Kind switch
    {
        "copy" => 3 + 2 * MaxPairs + MaxDistractors(MaxPairs),
        "lookup" => 3 + MaxPairs + MaxDistractors(MaxPairs) + QueriesFor(MaxPairs),
        "index" => 3 + MaxPairs + QueriesFor(MaxPairs),
        _ => 3 + 2 * MaxPairs + 2 * QueriesFor(MaxPairs),
    };

    /// <summary>The token ids a label can take: the copied symbols for copy, the value symbols for every other kind.</summary>
    public (int First, int Count) Answers => Kind == "copy" ? (FirstSymbol, Keys) : (ValueBase, Values);

    /// <summary>ln of the number of choices a context-free guess has at a labelled position (the "uniform" loss of the task).</summary>
    public double UniformLoss => Math.Log(Answers.Count);

    /// <summary>
    /// A task from its one-line spec, the value of <c>data.synthetic</c>: <c>kind[:name=value,…]</c> with names keys, values,
    /// distractors, pairs (min-max or one number), query_fraction, distractor_rate, curriculum_batches; unnamed fields keep
    /// their defaults. Example: <c>lookup:keys=16,values=16,pairs=4-24,distractor_rate=1,distractors=32</c>.
    /// </summary>
    public static SyntheticTask Parse(string spec)
    {
        var parts = spec.Split(':', 2);
        var t = new SyntheticTask { Kind = parts[0].Trim() };
        if (!Kinds.Contains(t.Kind)) throw new BertLabException($"data.synthetic '{spec}': the kind must be one of {string.Join(", ", Kinds)}, got '{t.Kind}'");
        if (parts.Length == 2 && parts[1].Trim().Length > 0)
            foreach (var field in parts[1].Split(','))
            {
                var kv = field.Split('=', 2);
                string name = kv[0].Trim(), value = kv.Length == 2 ? kv[1].Trim() : "";
                int I(string v) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) ? x
                    : throw new BertLabException($"data.synthetic '{spec}': {name} must be a whole number, got '{v}'");
                double D(string v) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x
                    : throw new BertLabException($"data.synthetic '{spec}': {name} must be a number, got '{v}'");
                t = name switch
                {
                    "keys" => t with { Keys = I(value) },
                    "values" => t with { Values = I(value) },
                    "distractors" => t with { Distractors = I(value) },
                    "pairs" => value.Split('-') is { Length: 2 } r ? t with { MinPairs = I(r[0]), MaxPairs = I(r[1]) } : t with { MinPairs = I(value), MaxPairs = I(value) },
                    "query_fraction" => t with { QueryFraction = D(value) },
                    "distractor_rate" => t with { DistractorRate = D(value) },
                    "curriculum_batches" => t with { CurriculumBatches = I(value) },
                    _ => throw new BertLabException($"data.synthetic '{spec}': unknown field '{name}'; known: keys, values, distractors, pairs, query_fraction, distractor_rate, curriculum_batches"),
                };
            }
        t.Validate();
        return t;
    }

    int QueriesFor(int pairs) => Math.Clamp((int)Math.Round(QueryFraction * pairs, MidpointRounding.AwayFromZero), 1, pairs);
    int MaxDistractors(int symbols) => (int)Math.Ceiling(2 * DistractorRate * symbols);

    public void Validate()
    {
        if (!Kinds.Contains(Kind)) throw new BertLabException($"synthetic task: kind must be one of {string.Join(", ", Kinds)}, got '{Kind}'");
        if (MinPairs < 1 || MaxPairs < MinPairs) throw new BertLabException($"synthetic task: need 1 ≤ min_pairs ≤ max_pairs, got {MinPairs}..{MaxPairs}");
        if (Kind is "associative_recall" or "lookup" or "index" && Keys < MaxPairs) throw new BertLabException($"synthetic task: {Keys} keys cannot give {MaxPairs} distinct keys per sequence");
        if (Keys < 2 || (Kind == "associative_recall" && Values < 2)) throw new BertLabException("synthetic task: keys and values need at least 2 symbols each");
        if (Kind is "copy" or "lookup" && DistractorRate > 0 && Distractors < 1) throw new BertLabException($"synthetic task: {Kind} with distractors needs at least 1 distractor symbol");
        if (Kind == "lookup" && Values < 2) throw new BertLabException("synthetic task: lookup needs at least 2 values");
        if (QueryFraction <= 0 || QueryFraction > 1) throw new BertLabException($"synthetic task: query_fraction must be in (0, 1], got {QueryFraction}");
        if (DistractorRate < 0 || CurriculumBatches < 0) throw new BertLabException("synthetic task: distractor_rate and curriculum_batches must be ≥ 0");
    }

    /// <summary>The token strings, id order (a vocab.txt).</summary>
    public IReadOnlyList<string> Vocabulary()
    {
        var v = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
        for (int i = 0; i < Keys; i++) v.Add(Kind == "index" ? "@" + (i + 1).ToString(CultureInfo.InvariantCulture) : "k" + i.ToString(CultureInfo.InvariantCulture));
        if (Kind != "copy") for (int i = 0; i < Values; i++) v.Add("v" + i.ToString(CultureInfo.InvariantCulture));
        if (Kind == "lookup")
            for (int k = 0; k < Keys; k++)
                for (int i = 0; i < Values; i++) v.Add($"k{k.ToString(CultureInfo.InvariantCulture)}=v{i.ToString(CultureInfo.InvariantCulture)}");
        if (Kind is "copy" or "lookup") for (int i = 0; i < Distractors; i++) v.Add("d" + i.ToString(CultureInfo.InvariantCulture));
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
        return Kind switch { "copy" => Copy(ref rng, pairs), "lookup" => Lookup(ref rng, pairs), "index" => Index(ref rng, pairs), _ => Recall(ref rng, pairs) };
    }

    Example Index(ref SplitMix64 rng, int pairs)
    {
        var values = new int[pairs];
        for (int i = 0; i < pairs; i++) values[i] = (int)rng.NextBelow((ulong)Values);
        var order = SampleDistinct(ref rng, pairs, QueriesFor(pairs));
        var ids = new List<int> { Cls };
        for (int i = 0; i < pairs; i++) ids.Add(ValueBase + values[i]);
        ids.Add(Sep);
        int second = ids.Count;
        var labels = Enumerable.Repeat(-100, ids.Count).ToList();
        foreach (int q in order) { ids.Add(FirstSymbol + q); labels.Add(ValueBase + values[q]); }
        ids.Add(Sep); labels.Add(-100);
        return new Example(ids.ToArray(), ids.Select((_, i) => i < second ? 0 : 1).ToArray(), labels.ToArray());
    }

    Example Lookup(ref SplitMix64 rng, int pairs)
    {
        var keys = SampleDistinct(ref rng, Keys, pairs);
        var values = new int[pairs];
        for (int i = 0; i < pairs; i++) values[i] = (int)rng.NextBelow((ulong)Values);
        int queries = QueriesFor(pairs);
        var order = SampleDistinct(ref rng, pairs, queries);
        var ids = new List<int> { Cls };
        int budget = MaxDistractors(pairs);
        for (int i = 0; i < pairs; i++)
        {
            ids.Add(PairBase + keys[i] * Values + values[i]);
            double r = DistractorRate;
            while (budget > 0 && r > 0 && rng.NextDouble() < Math.Min(r, 1.0)) { ids.Add(DistractorBase + (int)rng.NextBelow((ulong)Distractors)); budget--; r -= 1.0; }
        }
        ids.Add(Sep);
        int second = ids.Count;
        var labels = Enumerable.Repeat(-100, ids.Count).ToList();
        foreach (int q in order) { ids.Add(FirstSymbol + keys[q]); labels.Add(ValueBase + values[q]); }
        ids.Add(Sep); labels.Add(-100);
        return new Example(ids.ToArray(), ids.Select((_, i) => i < second ? 0 : 1).ToArray(), labels.ToArray());
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

    /// <summary>
    /// The loss of the best predictor that knows which answers occur in the context but not where (the "bag of values"): at
    /// every labelled position it predicts each answer symbol with its share among the context's answer symbols. Only a model
    /// that attends selectively (to the queried key's value, or to the queried position) goes below it; near-uniform attention
    /// can reach it. Mean over the labelled positions of <paramref name="examples"/>.
    /// </summary>
    public double BagOfValuesLoss(IEnumerable<Example> examples)
    {
        double sum = 0; long n = 0;
        foreach (var e in examples)
        {
            int sep = Array.IndexOf(e.InputIds, Sep);
            var bag = new List<int>();
            for (int j = 1; j < sep; j++) if (AnswerIn(e.InputIds[j]) is int a) bag.Add(a);
            if (bag.Count == 0) continue;
            for (int j = 0; j < e.Length; j++)
            {
                if (e.Labels[j] == -100) continue;
                int count = bag.Count(a => a == e.Labels[j]);
                sum += count > 0 ? -Math.Log(count / (double)bag.Count) : UniformLoss;
                n++;
            }
        }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>The answer symbol a context token carries (a value, a pair token's value, a copied symbol), or null.</summary>
    int? AnswerIn(int token) => Kind == "lookup"
        ? token >= PairBase && token < PairBase + Keys * Values ? ValueBase + (token - PairBase) % Values : null
        : token >= Answers.First && token < Answers.First + Answers.Count ? token : null;

    public JsonObject ToJson() => new()
    {
        ["kind"] = Kind, ["keys"] = Keys, ["values"] = Values, ["distractors"] = Distractors, ["min_pairs"] = MinPairs, ["max_pairs"] = MaxPairs,
        ["query_fraction"] = QueryFraction, ["distractor_rate"] = DistractorRate, ["curriculum_batches"] = CurriculumBatches,
        ["vocab_size"] = VocabSize, ["max_length"] = MaxLength, ["uniform_loss"] = UniformLoss,
    };

    public string Describe() => Kind == "index"
        ? $"synthetic index: {MinPairs}-{MaxPairs} values of {Values}, {QueryFraction:P0} of the positions queried (vocab {VocabSize})"
        : Kind == "lookup"
        ? $"synthetic lookup: {MinPairs}-{MaxPairs} pair tokens of {Keys} keys × {Values} values, {QueryFraction:P0} queried, {DistractorRate:0.##} distractors/pair from {Distractors} (vocab {VocabSize})"
        : Kind == "copy"
        ? $"synthetic copy: {MinPairs}-{MaxPairs} of {Keys} symbols, {DistractorRate:0.##} distractors/symbol from {Distractors}, {QueryFraction:P0} masked (vocab {VocabSize})"
        : $"synthetic associative recall: {MinPairs}-{MaxPairs} pairs of {Keys} keys × {Values} values, {QueryFraction:P0} queried (vocab {VocabSize})";
}
