using System.Security.Cryptography;

namespace BertLab.Text;

/// <summary>A WordPiece vocabulary (vocab.txt: one token per line, id = line number).</summary>
public sealed class Vocabulary
{
    readonly string[] _tokens;
    readonly Dictionary<string, int> _ids;

    public Vocabulary(IEnumerable<string> tokens)
    {
        _tokens = tokens.ToArray();
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++) _ids.TryAdd(_tokens[i], i);
        foreach (var special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
            if (!_ids.ContainsKey(special)) throw new BertLabException($"vocabulary lacks the special token {special}");
        PadId = _ids["[PAD]"]; UnkId = _ids["[UNK]"]; ClsId = _ids["[CLS]"]; SepId = _ids["[SEP]"]; MaskId = _ids["[MASK]"];
        using var sha = SHA256.Create();
        Sha256 = Convert.ToHexString(sha.ComputeHash(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", _tokens)))).ToLowerInvariant();
    }

    /// <summary>The embedded default: bert-base-uncased (data/vocab).</summary>
    public static string DefaultPath => DataPaths.Find("vocab/bert-base-uncased-vocab.txt");

    public static Vocabulary Load(string? path = null)
    {
        path ??= DefaultPath;
        if (Directory.Exists(path)) path = Path.Combine(path, "vocab.txt");
        if (!File.Exists(path)) throw new BertLabException($"vocabulary file not found: {path}");
        var lines = File.ReadAllLines(path).Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        if (lines.Count == 0) throw new BertLabException($"vocabulary file is empty: {path}");
        return new Vocabulary(lines);
    }

    public void Save(string path) => File.WriteAllText(path, string.Join("\n", _tokens) + "\n");

    public int Count => _tokens.Length;
    public int PadId { get; }
    public int UnkId { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int MaskId { get; }
    /// <summary>Hash of the token list (identifies the vocabulary in shard manifests).</summary>
    public string Sha256 { get; }

    public string this[int id] => _tokens[id];
    public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);
    public int IdOf(string token) => _ids.TryGetValue(token, out int id) ? id : UnkId;
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>[PAD], [UNK], [CLS], [SEP], [MASK] and any other bracketed [..] token such as [unused5].</summary>
    public bool IsSpecial(int id) => id == PadId || id == UnkId || id == ClsId || id == SepId || id == MaskId
                                      || (_tokens[id].Length > 2 && _tokens[id][0] == '[' && _tokens[id][^1] == ']');
}
