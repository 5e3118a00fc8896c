using System.Text.Json;

namespace BertLab.Tests.Text;

/// <summary>tokenizer_golden.json: Hugging Face's fast BertTokenizer (bert-base-uncased vocabulary, lower case) on 183 texts.</summary>
public sealed class TokenizerFixture
{
    public static readonly TokenizerFixture Instance = new();

    public string[] Texts { get; }
    public int[][] Ids { get; }
    public string[][] Tokens { get; }
    public (string A, string B, int[] Ids, int[] TokenTypes)[] Pairs { get; }
    public string[] TruncatedTexts { get; }
    public int[][] TruncatedIds { get; }
    public int[][] TruncatedMask { get; }

    TokenizerFixture()
    {
        var path = Fixtures.Path_("hf-transformers", "tokenizer_golden.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        Texts = Strings(root.GetProperty("texts"));
        Ids = IntArrays(root.GetProperty("fast"));
        Tokens = root.GetProperty("fast_tokens").EnumerateArray().Select(Strings).ToArray();
        Pairs = root.GetProperty("pairs").EnumerateArray().Select(p => (p.GetProperty("a").GetString()!, p.GetProperty("b").GetString()!,
            Ints(p.GetProperty("input_ids")), Ints(p.GetProperty("token_type_ids")))).ToArray();
        var t = root.GetProperty("truncated_max32");
        TruncatedTexts = Strings(t.GetProperty("texts"));
        TruncatedIds = IntArrays(t.GetProperty("input_ids"));
        TruncatedMask = IntArrays(t.GetProperty("attention_mask"));
    }

    static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    static int[][] IntArrays(JsonElement e) => e.EnumerateArray().Select(Ints).ToArray();
}
