using System.Collections.Concurrent;

namespace BertLab.Text;

/// <summary>
/// BERT's tokenizer, equal to Hugging Face's <c>BertTokenizer</c> (fast, uncased by default) on the
/// fixture tests/BertLab.Tests/fixtures/hf-transformers/tokenizer_golden.json:
/// <list type="number">
/// <item>the special tokens [PAD] [UNK] [CLS] [SEP] [MASK] written literally in the text are kept as themselves
/// (matched case-sensitively on the raw text, like Hugging Face's added tokens);</item>
/// <item>the rest goes through <see cref="BasicTokenizer"/> (cleaning, CJK, accents, lower case, punctuation);</item>
/// <item>each word is split by WordPiece, greedy longest-match-first, continuation pieces prefixed "##"; a word
/// longer than <see cref="MaxInputCharsPerWord"/> code points, or one that cannot be covered, becomes one [UNK].</item>
/// </list>
/// Thread-safe: the vocabulary maps are read-only; the word cache is a concurrent dictionary; scratch buffers are per thread.
/// </summary>
public sealed class WordPieceTokenizer : ITokenizer
{
    public const int DefaultMaxInputCharsPerWord = 100;
    const int MaxCachedWordLength = 40;
    const int MaxCacheEntries = 200_000;

    readonly Dictionary<string, int> _pieces;        // every token, for the first piece of a word
    readonly Dictionary<string, int> _continuations; // "##x" tokens keyed by "x"
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieceLookup;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuationLookup;
    readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    int _cacheCount;
    readonly (string Text, int Id)[] _specials;
    readonly int[] _unkOnly;

    public WordPieceTokenizer(Vocabulary vocabulary, bool lowerCase = true, bool? stripAccents = null,
                              int maxInputCharsPerWord = DefaultMaxInputCharsPerWord)
    {
        Vocabulary = vocabulary;
        Basic = new BasicTokenizer(lowerCase, stripAccents);
        MaxInputCharsPerWord = maxInputCharsPerWord;
        _pieces = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        _continuations = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Count; id++)
        {
            var token = vocabulary[id];
            _pieces.TryAdd(token, id);
            if (token.StartsWith("##", StringComparison.Ordinal) && token.Length > 2) _continuations.TryAdd(token[2..], id);
        }
        _pieceLookup = _pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuationLookup = _continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        _specials = new[] { vocabulary.PadId, vocabulary.UnkId, vocabulary.ClsId, vocabulary.SepId, vocabulary.MaskId }
            .Select(id => (vocabulary[id], id)).ToArray();
        _unkOnly = new[] { vocabulary.UnkId };
    }

    /// <summary>The tokenizer of a vocab.txt (default: the embedded bert-base-uncased vocabulary).</summary>
    public static WordPieceTokenizer Load(string? vocabPath = null, bool lowerCase = true) => new(Vocabulary.Load(vocabPath), lowerCase);

    public Vocabulary Vocabulary { get; }
    public BasicTokenizer Basic { get; }
    public int MaxInputCharsPerWord { get; }

    public IReadOnlyList<string> Tokenize(string text)
    {
        var ids = EncodeIds(text);
        var tokens = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++) tokens[i] = Vocabulary[ids[i]];
        return tokens;
    }

    [ThreadStatic] static List<int>? _idScratch;

    public int[] EncodeIds(string text)
    {
        var ids = _idScratch ??= new List<int>(512);
        ids.Clear();
        AppendIds(text, ids);
        return ids.ToArray();
    }

    [ThreadStatic] static WordBuffer? _words;

    /// <summary>Appends the WordPiece ids of a text (no [CLS]/[SEP]) to <paramref name="ids"/>: the allocation-free form of <see cref="EncodeIds"/>.</summary>
    public void AppendIds(ReadOnlySpan<char> text, List<int> ids)
    {
        int segmentStart = 0;
        int search = 0;
        while (true)
        {
            int bracket = text[search..].IndexOf('[');
            if (bracket < 0) break;
            bracket += search;
            int special = MatchSpecial(text[bracket..]);
            if (special < 0) { search = bracket + 1; continue; }
            AppendSegment(text[segmentStart..bracket], ids);
            ids.Add(_specials[special].Id);
            segmentStart = search = bracket + _specials[special].Text.Length;
        }
        AppendSegment(text[segmentStart..], ids);
    }

    int MatchSpecial(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < _specials.Length; i++)
            if (text.StartsWith(_specials[i].Text, StringComparison.Ordinal)) return i;
        return -1;
    }

    void AppendSegment(ReadOnlySpan<char> text, List<int> ids)
    {
        if (text.IsEmpty) return;
        var words = _words ??= new WordBuffer();
        words.Clear();
        Basic.Split(text, words);
        for (int w = 0; w < words.Count; w++) AppendWord(words[w], ids);
        if (words.IsLarge) _words = null; // do not keep a huge text's buffer alive on this thread
    }

    void AppendWord(ReadOnlySpan<char> word, List<int> ids)
    {
        if (word.Length <= MaxCachedWordLength && _cacheLookup.TryGetValue(word, out var cached))
        {
            if (cached.Length == 1) ids.Add(cached[0]); else ids.AddRange(cached);
            return;
        }
        var pieces = WordPiece(word);
        if (word.Length <= MaxCachedWordLength && Volatile.Read(ref _cacheCount) < MaxCacheEntries && _cacheLookup.TryAdd(word, pieces))
            Interlocked.Increment(ref _cacheCount);
        ids.AddRange(pieces);
    }

    /// <summary>WordPiece of one (already normalised) word: greedy longest-match-first; [UNK] when it cannot be covered.</summary>
    int[] WordPiece(ReadOnlySpan<char> word)
    {
        if (word.Length > MaxInputCharsPerWord && CodePointCount(word) > MaxInputCharsPerWord) return _unkOnly;
        if (_pieceLookup.TryGetValue(word, out int whole)) return new[] { whole };
        var result = new List<int>(4);
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length, found = -1;
            while (end > start)
            {
                var piece = word[start..end];
                if (start == 0 ? _pieceLookup.TryGetValue(piece, out found) : _continuationLookup.TryGetValue(piece, out found)) break;
                found = -1;
                end -= end - 2 >= start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
            }
            if (found < 0) return _unkOnly;
            result.Add(found);
            start = end;
        }
        return result.ToArray();
    }

    static int CodePointCount(ReadOnlySpan<char> s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            n++;
        }
        return n;
    }

    public TokenizedInput Encode(string text, string? pair = null, int maxLength = 0, bool padToMaxLength = false)
    {
        var a = EncodeIds(text);
        var b = pair is null ? null : EncodeIds(pair);
        int added = b is null ? 2 : 3;
        int na = a.Length, nb = b?.Length ?? 0;
        if (maxLength > 0)
        {
            if (maxLength < added)
                throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"must be at least {added} ([CLS] and [SEP]{(b is null ? "" : " twice")})");
            (na, nb) = TruncatedLengths(na, nb, maxLength - added, b is not null);
        }
        int length = na + nb + added;
        int total = padToMaxLength && maxLength > length ? maxLength : length;
        var ids = new int[total];
        var types = new int[total];
        var mask = new int[total];
        int p = 0;
        ids[p++] = Vocabulary.ClsId;
        Array.Copy(a, 0, ids, p, na); p += na;
        ids[p++] = Vocabulary.SepId;
        if (b is not null)
        {
            int bStart = p;
            Array.Copy(b, 0, ids, p, nb); p += nb;
            ids[p++] = Vocabulary.SepId;
            types.AsSpan(bStart, p - bStart).Fill(1);
        }
        mask.AsSpan(0, p).Fill(1);
        if (total > p) ids.AsSpan(p).Fill(Vocabulary.PadId);
        return new TokenizedInput { InputIds = ids, TokenTypeIds = types, AttentionMask = mask };
    }

    /// <summary>
    /// Hugging Face's "longest_first" truncation (Rust tokenizers' rule) of the two sequences to <paramref name="budget"/>
    /// tokens in all: when only the longer must shrink, it keeps budget − shorter; when both must, the shorter keeps
    /// budget/2 and the longer budget/2 + budget%2 (the second sequence counts as the longer when they are equal).
    /// </summary>
    public static (int First, int Second) TruncatedLengths(int first, int second, int budget, bool isPair)
    {
        if (!isPair) return (Math.Min(first, budget), 0);
        if (first + second <= budget) return (first, second);
        bool swap = first > second;
        int n1 = swap ? second : first, n2;
        n2 = n1 > budget ? n1 : Math.Max(n1, budget - n1);
        if (n1 + n2 > budget) { n1 = budget / 2; n2 = n1 + budget % 2; }
        return swap ? (n2, n1) : (n1, n2);
    }
}
