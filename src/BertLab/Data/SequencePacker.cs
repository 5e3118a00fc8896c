using BertLab.Text;

namespace BertLab.Data;

/// <summary>How documents become fixed-length training sequences.</summary>
public enum PackingMode
{
    /// <summary>[CLS] doc1 [SEP] doc2 [SEP] … [SEP]: documents packed back to back, a long one continues in the next sequence; all token types 0.</summary>
    Packed,
    /// <summary>[CLS] A [SEP] B [SEP] [PAD]…: A and B are consecutive runs of sentences of one document, split at a random sentence boundary; token types 0 for A, 1 for B.</summary>
    SentencePairs,
    /// <summary>[CLS] doc [SEP] [PAD]…: one whole document per sequence, truncated to the sequence length (the rest of a
    /// longer document is dropped); all token types 0. Lengths vary with the documents'.</summary>
    Documents,
}

/// <summary>The spellings of <see cref="PackingMode"/> in a run configuration (data.packing).</summary>
public static class PackingModes
{
    public static readonly IReadOnlyList<string> Names = ["packed", "sentence_pairs", "documents"];

    public static PackingMode Parse(string name) => name switch
    {
        "packed" => PackingMode.Packed,
        "sentence_pairs" => PackingMode.SentencePairs,
        "documents" => PackingMode.Documents,
        _ => throw new BertLabException($"unknown packing '{name}' ({string.Join(", ", Names)})"),
    };

    public static string Name(PackingMode mode) => Names[(int)mode];
}

/// <summary>
/// Packs tokenised documents into sequences of exactly <see cref="SequenceLength"/> ids (padded with [PAD] where
/// needed) and hands each finished sequence to a sink. Feed documents in order; call <see cref="Flush"/> at the end.
/// </summary>
public sealed class SequencePacker
{
    readonly int _length, _cls, _sep, _pad;
    readonly PackingMode _mode;
    readonly Action<int[]> _sink;
    readonly int[] _current;
    int _used;
    // sentence-pair state: the sentences (token runs) of the current chunk
    readonly List<int[]> _sentences = [];
    int _chunkTokens;
    SplitMix64 _random;

    public SequencePacker(Vocabulary vocab, int sequenceLength, PackingMode mode, ulong seed, Action<int[]> sink)
    {
        if (sequenceLength < 8) throw new BertLabException($"sequence length {sequenceLength} is too short (at least 8)");
        _length = sequenceLength; _mode = mode; _sink = sink;
        _cls = vocab.ClsId; _sep = vocab.SepId; _pad = vocab.PadId;
        _current = new int[sequenceLength];
        _random = new SplitMix64(seed);
        Reset();
    }

    public int SequenceLength => _length;
    public long Sequences { get; private set; }

    void Reset()
    {
        _current[0] = _cls;
        _used = 1;
    }

    /// <summary>Adds a document, or a piece continuing the previous one.</summary>
    public void Add(ReadOnlySpan<int> ids, bool continuesPrevious, ReadOnlySpan<int> sentenceStarts = default)
    {
        if (_mode == PackingMode.Packed) AddPacked(ids, continuesPrevious);
        else if (_mode == PackingMode.Documents) AddDocument(ids, continuesPrevious);
        else AddSentences(ids, continuesPrevious, sentenceStarts);
    }

    void AddDocument(ReadOnlySpan<int> ids, bool continuesPrevious)
    {
        if (!continuesPrevious) Emit();
        int take = Math.Min(_length - 1 - _used, ids.Length); // room for the closing [SEP]; the rest is truncated
        if (take <= 0) return;
        ids[..take].CopyTo(_current.AsSpan(_used));
        _used += take;
    }

    void AddPacked(ReadOnlySpan<int> ids, bool continuesPrevious)
    {
        if (ids.Length == 0) return;
        int last = _length - 1; // position of the closing [SEP]
        if (!continuesPrevious && _used > 1)
        {
            // a separating [SEP] needs room for itself and at least one token of the new document
            if (_used + 1 < last) _current[_used++] = _sep;
            else Emit();
        }
        while (ids.Length > 0)
        {
            int take = Math.Min(last - _used, ids.Length);
            ids[..take].CopyTo(_current.AsSpan(_used));
            _used += take;
            ids = ids[take..];
            if (_used == last) Emit();
        }
    }

    void Emit()
    {
        if (_used <= 1) return;
        _current[_used++] = _sep;
        _current.AsSpan(_used).Fill(_pad);
        _sink((int[])_current.Clone());
        Sequences++;
        Reset();
    }

    void AddSentences(ReadOnlySpan<int> ids, bool continuesPrevious, ReadOnlySpan<int> starts)
    {
        if (!continuesPrevious) EmitPair();
        if (starts.IsEmpty && ids.Length > 0) starts = [0];
        int budget = _length - 3;
        for (int s = 0; s < starts.Length; s++)
        {
            int end = s + 1 < starts.Length ? starts[s + 1] : ids.Length;
            var sentence = ids[starts[s]..end];
            // a sentence longer than a whole sequence is cut into sequence-sized runs
            while (sentence.Length > 0)
            {
                var run = sentence[..Math.Min(sentence.Length, budget)];
                _sentences.Add(run.ToArray());
                _chunkTokens += run.Length;
                sentence = sentence[run.Length..];
                if (_chunkTokens >= budget) EmitPair();
            }
        }
    }

    void EmitPair()
    {
        if (_sentences.Count == 0) return;
        int budget = _length - 3;
        int[] a, b;
        if (_sentences.Count == 1)
        {
            var only = _sentences[0];
            int half = Math.Max(1, only.Length / 2);
            a = only[..half]; b = only[half..];
        }
        else
        {
            int split = 1 + (int)_random.NextBelow((ulong)(_sentences.Count - 1));
            a = _sentences.Take(split).SelectMany(x => x).ToArray();
            b = _sentences.Skip(split).SelectMany(x => x).ToArray();
        }
        // longest-first truncation to the budget: trim A from its start (keep the text next to B), B from its end
        int aLen = a.Length, bLen = b.Length;
        while (aLen + bLen > budget) { if (aLen > bLen) aLen--; else bLen--; }
        var seq = new int[_length];
        int p = 0;
        seq[p++] = _cls;
        a.AsSpan(a.Length - aLen, aLen).CopyTo(seq.AsSpan(p)); p += aLen;
        seq[p++] = _sep;
        b.AsSpan(0, bLen).CopyTo(seq.AsSpan(p)); p += bLen;
        seq[p++] = _sep;
        seq.AsSpan(p).Fill(_pad);
        _sentences.Clear();
        _chunkTokens = 0;
        if (bLen == 0 && aLen == 0) return;
        _sink(seq);
        Sequences++;
    }

    /// <summary>Emits the last, partly filled sequence (padded).</summary>
    public void Flush()
    {
        if (_mode != PackingMode.SentencePairs) Emit();
        else EmitPair();
    }

    /// <summary>Token types of a stored sequence: 0 up to and including the first [SEP], 1 after it up to the second (pair mode only).</summary>
    public static void TokenTypes(ReadOnlySpan<long> ids, Span<long> types, PackingMode mode, long sepId, long padId)
    {
        types.Clear();
        if (mode != PackingMode.SentencePairs) return;
        int seps = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == padId) break;
            if (seps >= 1) types[i] = 1;
            if (ids[i] == sepId) seps++;
        }
    }
}
