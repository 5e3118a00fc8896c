using BertLab.Data;
using BertLab.Text;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Data;

/// <summary>One casing rule and one preparation path: <c>data prepare</c> and the trainer make the same shards under
/// the same fingerprint, and a cased vocabulary keeps the case of the text through pre-training data.</summary>
public class PreparationPathTests
{
    /// <summary>A small cased vocabulary: the special tokens, upper- and lower-case words, letters and ## pieces.</summary>
    static string CasedVocabulary(string dir)
    {
        var tokens = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "The", "the", "Cat", "cat", "sat", "on", "mat", "Paris", "paris", "is", "in", "France", "france" };
        for (char c = 'a'; c <= 'z'; c++) { tokens.Add(c.ToString()); tokens.Add(char.ToUpperInvariant(c).ToString()); tokens.Add("##" + c); }
        return DataTestSupport.Write(dir, "cased-vocab.txt", string.Join("\n", tokens) + "\n");
    }

    static string Corpus(string dir) => DataTestSupport.Write(dir, "corpus.txt", string.Join("\n\n",
        Enumerable.Range(0, 60).Select(i => i % 2 == 0 ? $"The Cat sat on the mat, {(char)('a' + i % 26)}." : $"Paris is in France, the cat sat on {(char)('a' + i % 26)}.")));

    static RunConfig Config(string corpus, string vocabPath, string cacheDir)
    {
        var config = RunConfig.FromJson(RunConfig.DefaultJson());
        config.Data.Corpus = new List<string> { corpus };
        config.Data.Vocab = vocabPath;
        config.Data.SeqLen = 16;
        config.Data.ValidationFraction = 0.05;
        config.Data.CacheDir = cacheDir;
        config.Model.VocabSize = Vocabulary.Load(vocabPath).Count;
        config.Run.Threads = 1;
        return config;
    }

    [Fact]
    public void TheVocabularyDecidesTheCasing()
    {
        Assert.True(TextCasing.ForVocabulary(DataTestSupport.Vocab).LowerCase);                 // bert-base-uncased
        var dir = DataTestSupport.TempDir();
        var cased = Vocabulary.Load(CasedVocabulary(dir));
        Assert.False(TextCasing.ForVocabulary(cased).LowerCase);
        Assert.True(TextCasing.ForVocabulary(cased, lowerCase: true).LowerCase);               // overridable
        // a model folder's recorded do_lower_case wins; without one the vocabulary decides
        Assert.False(TextCasing.ForModel(dir, cased).LowerCase);
        File.WriteAllText(Path.Combine(dir, TextCasing.TokenizerConfigFile), "{\"do_lower_case\": true}");
        Assert.True(TextCasing.ForModel(dir, cased).LowerCase);
    }

    [Fact]
    public void CasedVocabularyKeepsCaseThroughPretrainingData()
    {
        var dir = DataTestSupport.TempDir();
        var vocabPath = CasedVocabulary(dir);
        var vocab = Vocabulary.Load(vocabPath);
        var config = Config(Corpus(dir), vocabPath, Path.Combine(dir, "cache"));
        using var source = PretrainingData.Open(config, Path.Combine(dir, "run"));
        var ids = new HashSet<long>();
        var row = new long[source.Train.SequenceLength];
        for (long i = 0; i < source.Train.Count; i++) { source.Train.Read(i, row); ids.UnionWith(row); }
        // "The", "Cat", "Paris", "France" are only reachable without lower-casing; "the" and "cat" occur in both cases
        foreach (var word in new[] { "The", "Cat", "Paris", "France", "the", "cat" })
            Assert.Contains((long)vocab.IdOf(word), ids);
        Assert.DoesNotContain((long)vocab.IdOf("paris"), ids);
    }

    [Fact]
    public void DataPrepareAndTheTrainerShareOneFingerprintAndShards()
    {
        var dir = DataTestSupport.TempDir();
        var vocabPath = CasedVocabulary(dir);
        var corpus = Corpus(dir);
        var config = Config(corpus, vocabPath, Path.Combine(dir, "cache"));
        var output = Path.Combine(dir, "prepared");
        Assert.Equal(0, DataVerbTests.Bertlab("data", "prepare", corpus, "--out", output, "--vocab", vocabPath, "--seq-len", "16", "--validation", "0.05"));
        using var source = PretrainingData.Open(config, Path.Combine(dir, "run"));
        var prepared = ShardManifest.Load(output);
        var trained = ShardManifest.Load(source.Train.Directory);
        Assert.Equal(prepared.Fingerprint, trained.Fingerprint);
        Assert.Equal("data-" + prepared.Fingerprint[..16], Path.GetFileName(source.Train.Directory));
        Assert.Equal(prepared.Shards.Select(s => s.Sha256), trained.Shards.Select(s => s.Sha256));
        // another setting, another fingerprint
        config.Data.SeqLen = 32;
        var vocab = PretrainingData.LoadVocabulary(config);
        var files = CorpusFile.Resolve(config.Data.Corpus);
        Assert.NotEqual(prepared.Fingerprint, PretrainingData.Preparer(config, vocab).Fingerprint(files));
    }
}
