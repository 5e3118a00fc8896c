using System.Security.Cryptography;
using System.Text;
using BertLab.Data;
using BertLab.Text;

namespace BertLab.Training;

/// <summary>Turns a run's data section into batches: prepares (or reuses) the tokenised shards in a cache folder keyed by
/// the corpus, vocabulary and sequence length, then opens them as the trainer's batch source.</summary>
public static class PretrainingData
{
    public static string CacheRoot(RunConfig config, string runDir) =>
        config.Data.CacheDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runDir)) ?? ".", ".cache");

    public static ShardBatchSource Open(RunConfig config, string runDir, Action<string>? message = null, Action<long, long>? progress = null)
    {
        var vocabulary = Vocabulary.Load(config.Data.Vocab);
        if (vocabulary.Count != config.Model.VocabSize)
            throw new BertLabException($"config: the vocabulary has {vocabulary.Count} tokens but model.vocab_size is {config.Model.VocabSize}");
        var files = CorpusFile.Resolve(config.Data.Corpus);
        var key = Key(files, vocabulary, config);
        var dir = Path.Combine(CacheRoot(config, runDir), "data-" + key);
        var options = new PrepareOptions
        {
            SequenceLength = config.Data.SeqLen,
            ValidationFraction = config.Data.ValidationFraction,
            Seed = 0,
            Reading = new CorpusReaderOptions { Split = config.Data.LineDocs ? DocumentSplit.Lines : DocumentSplit.Auto },
            Workers = config.Run.Threads,
        };
        var result = new DataPreparer(new WordPieceTokenizer(vocabulary), options) { Progress = progress }.Prepare(files, dir);
        message?.Invoke(result.UpToDate
            ? $"data: {dir} is up to date ({result.Manifest.Counts.Tokens:N0} tokens)"
            : $"data: prepared {result.Manifest.Counts.Tokens:N0} tokens in {result.Elapsed.TotalSeconds:F1} s ({result.TokensPerSecond:N0} tokens/s) into {dir}");
        var masking = new MaskingOptions { SelectProbability = config.Data.MlmProbability, WholeWord = config.Data.WholeWordMasking };
        return new ShardBatchSource(dir, vocabulary, (ulong)config.Run.Seed, masking);
    }

    static string Key(IReadOnlyList<CorpusFile> files, Vocabulary vocabulary, RunConfig config)
    {
        var text = new StringBuilder();
        foreach (var f in files) text.Append(Path.GetFullPath(f.Path)).Append('\n');
        text.Append(vocabulary.Sha256).Append('\n').Append(config.Data.SeqLen).Append('\n').Append(config.Data.ValidationFraction)
            .Append('\n').Append(config.Data.LineDocs);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }
}
