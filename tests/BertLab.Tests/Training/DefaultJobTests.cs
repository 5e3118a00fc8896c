using BertLab.Text;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Training;

/// <summary>The embedded default job of `bertlab train`: when it applies, what it sets, and that its vocabulary is what
/// `bertlab vocab train` learns from the embedded corpus.</summary>
public sealed class DefaultJobTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-default-job-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(false, false, false, false, "", true)]                          // bertlab train
    [InlineData(false, false, false, false, "optimizer.lr=3e-4", true)]         // a --set of another key keeps the job
    [InlineData(false, false, false, false, "attention.sigma=0.5", true)]
    [InlineData(true, false, false, false, "", false)]                          // --config
    [InlineData(false, true, false, false, "", false)]                          // --resume (the run's own configuration)
    [InlineData(false, false, true, false, "", false)]                          // --model
    [InlineData(false, false, false, true, "", false)]                          // --corpus
    [InlineData(false, false, false, false, "data.vocab=v.txt", false)]
    [InlineData(false, false, false, false, "data.corpus=[\"a.txt\"]", false)]
    [InlineData(false, false, false, false, "data.synthetic=index:8", false)]
    [InlineData(false, false, false, false, "model.vocab_size=100", false)]
    [InlineData(false, false, false, false, "model=tiny", false)]
    [InlineData(false, false, false, false, "run.init_from=m", false)]
    public void Applies_OnlyWhenTheCommandChoosesNeitherDataNorVocabularyNorModel(bool config, bool resume, bool model, bool corpus, string set, bool expected) =>
        Assert.Equal(expected, DefaultJob.Applies(config, resume, model, corpus, set.Length == 0 ? Array.Empty<string>() : new[] { set }));

    [Fact]
    public void Apply_GivesAValidConfiguration_WithTheLearntVocabulary_OnTheDefaults()
    {
        var json = RunConfig.LoadJson(null);
        DefaultJob.Apply(json);
        var c = RunConfig.FromJson(json);
        Assert.Equal(DefaultJob.VocabularySize, c.Model.VocabSize);
        Assert.Equal(RunConfig.DefaultModelPreset, c.ModelPreset);
        Assert.Equal(RunConfig.DefaultAttentionPreset, c.Model.Attention.Preset);
        Assert.Equal(DataPaths.Find(DefaultJob.VocabularyFile), c.Data.Vocab);
        Assert.Empty(c.Data.Corpus);   // the embedded corpus
        Assert.Equal(DefaultJob.VocabularySize, Vocabulary.Load(c.Data.Vocab!).Count);
        // the defaults themselves are untouched: a configuration without the job keeps bert-base-uncased's vocabulary
        Assert.Null(RunConfig.FromJson(RunConfig.LoadJson(null)).Data.Vocab);
        Assert.Equal(30522, RunConfig.FromJson(RunConfig.LoadJson(null)).Model.VocabSize);
    }

    [Fact]
    public void TheCommittedVocabulary_IsWhatVocabTrainLearnsFromTheEmbeddedCorpus()
    {
        var output = Path.Combine(_dir, "vocab.txt");
        Assert.Equal(0, BertLab.Tests.Cli.VocabVerbTests.Invoke("train", DataPaths.Find("corpus"), "--size", DefaultJob.VocabularySize.ToString(), "--out", output));
        Assert.Equal(File.ReadAllLines(DataPaths.Find(DefaultJob.VocabularyFile)), File.ReadAllLines(output));
    }

    [Fact]
    public void TheFillMaskExamples_HaveOneMaskEach_AndTheirAnswersAreWholePiecesOfTheVocabulary()
    {
        var vocab = Vocabulary.Load(DataPaths.Find(DefaultJob.VocabularyFile));
        Assert.All(DefaultJob.FillMaskExamples, t => Assert.Single(t.Split("[MASK]")[1..]));
        foreach (var answer in new[] { "man", "shepherd", "lord" }) Assert.True(vocab.TryGetId(answer, out _), answer);
    }
}
