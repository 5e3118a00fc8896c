using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

/// <summary>The tokenizer of a model directory read from tokenizer.json alone, against Hugging Face's fast tokenizer.</summary>
public class TokenizerFilesTests
{
    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bertlab-tokfiles-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void TokenizerJsonWithoutVocabTxt_EncodesAsHuggingFace()
    {
        var dir = TempDir();
        try
        {
            TokenizerFiles.Write(dir, Vocabulary.Load(), lowerCase: true, maxLength: 512);
            Assert.False(File.Exists(Path.Combine(dir, "vocab.txt")));
            var tokenizer = TokenizerFiles.Load(dir);
            var golden = TokenizerFixture.Instance;
            for (int i = 0; i < golden.Texts.Length; i++)
                Assert.Equal(golden.Ids[i], tokenizer.Encode(golden.Texts[i]).InputIds);
            foreach (var (a, b, ids, types) in golden.Pairs)
            {
                var e = tokenizer.Encode(a, b);
                Assert.Equal(ids, e.InputIds);
                Assert.Equal(types, e.TokenTypeIds);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void CasedTokenizerJson_KeepsCase()
    {
        var dir = TempDir();
        try
        {
            TokenizerFiles.Write(dir, Vocabulary.Load(), lowerCase: false, maxLength: 512);
            var tokenizer = TokenizerFiles.Load(dir);
            // bert-base-uncased has no upper-case pieces: uncased text is found, the same word capitalised is not
            Assert.NotEqual(tokenizer.Vocabulary.UnkId, tokenizer.EncodeIds("house")[0]);
            Assert.Equal(tokenizer.Vocabulary.UnkId, tokenizer.EncodeIds("HOUSE")[0]);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "model type 'BPE' is not WordPiece")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 2}}}", "vocab ids are not 0..1 (id 1 is missing)")]
    [InlineData("{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4}}}", "normalizer 'NFKC' is not BertNormalizer")]
    [InlineData("{not json", "invalid JSON")]
    public void ATokenizerJsonBertLabCannotRead_IsOneMessage(string json, string expected)
    {
        var dir = TempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
            var e = Assert.Throws<BertLabException>(() => TokenizerFiles.Load(dir));
            Assert.Contains(expected, e.Message);
            Assert.StartsWith(Path.Combine(dir, "tokenizer.json"), e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ADirectoryWithoutTokenizerFiles_IsOneMessage()
    {
        var dir = TempDir();
        try { Assert.Equal($"{dir}: no vocab.txt or tokenizer.json (the model's tokenizer)", Assert.Throws<BertLabException>(() => TokenizerFiles.Load(dir)).Message); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
