using BertLab.Data;
using BertLab.Text;
using BertLab.IO;

namespace BertLab.Training;

/// <summary>Turns a run's data section into batches: prepares (or reuses) the tokenised shards in a cache folder named
/// after the preparation's one fingerprint (<see cref="DataPreparer.Fingerprint"/>), then opens them as the trainer's
/// batch source. The vocabulary is loaded and checked against the model here, once per run; the casing follows the
/// vocabulary (<see cref="TextCasing"/>).</summary>
public static class PretrainingData
{
    public static string CacheRoot(RunConfig config, string runDir) =>
        config.Data.CacheDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runDir)) ?? ".", ".cache");

    /// <summary>The preparation a run's data settings ask for (the same <see cref="DataPreparer"/> that
    /// <c>data prepare</c> runs), over a vocabulary already checked against the model.</summary>
    public static DataPreparer Preparer(RunConfig config, Vocabulary vocabulary, Action<long, long>? progress = null)
    {
        var options = new PrepareOptions
        {
            SequenceLength = config.Data.SeqLen,
            Mode = PackingModes.Parse(config.Data.Packing),
            ValidationFraction = config.Data.ValidationFraction,
            Seed = 0,
            Reading = new CorpusReaderOptions { Split = config.Data.LineDocs ? DocumentSplit.Lines : DocumentSplit.Auto },
            Workers = config.Run.Threads,
        };
        return new DataPreparer(TextCasing.ForVocabulary(vocabulary).Tokenizer(vocabulary), options) { Progress = progress };
    }

    /// <summary>The run's vocabulary, checked against model.vocab_size.</summary>
    public static Vocabulary LoadVocabulary(RunConfig config)
    {
        var vocabulary = Vocabulary.Load(config.Data.Vocab);
        if (vocabulary.Count != config.Model.VocabSize)
            throw new BertLabException($"config: the vocabulary has {vocabulary.Count} tokens but model.vocab_size is {config.Model.VocabSize}");
        return vocabulary;
    }

    /// <summary>The cache folder of a preparation: "data-" + the first 16 hex digits of its fingerprint.</summary>
    public static string CacheDirectory(RunConfig config, string runDir, DataPreparer preparer, IReadOnlyList<CorpusFile> files) =>
        Path.Combine(CacheRoot(config, runDir), "data-" + preparer.Fingerprint(files)[..16]);

    /// <summary>
    /// The run's batch source: the generated task of <c>data.synthetic</c> (its vocabulary written to
    /// <paramref name="runDir"/>/vocab.txt, returned as <paramref name="vocabPath"/>), else the text shards of <see cref="Open"/>.
    /// Dispose it when done (a shard source holds open files).
    /// </summary>
    public static IBatchSource OpenSource(RunConfig config, string runDir, out string? vocabPath, Action<string>? message = null, Action<long, long>? progress = null)
    {
        if (config.Data.Synthetic is string spec)
        {
            var task = BertLab.Data.Synthetic.SyntheticTask.Parse(spec);
            Directory.CreateDirectory(runDir);
            vocabPath = Path.Combine(runDir, "vocab.txt");
            if (!File.Exists(vocabPath)) task.WriteVocabulary(vocabPath);
            var source = new BertLab.Data.Synthetic.SyntheticBatchSource(task, config.Run.Seed);
            message?.Invoke($"data: {source.Describe()}");
            return source;
        }
        vocabPath = config.Data.Vocab;
        return Open(config, runDir, message, progress);
    }

    public static ShardBatchSource Open(RunConfig config, string runDir, Action<string>? message = null, Action<long, long>? progress = null)
    {
        var vocabulary = LoadVocabulary(config);
        var masking = new MaskingOptions { SelectProbability = config.Data.MlmProbability, WholeWord = config.Data.WholeWordMasking };
        if (config.Data.Prepared is string prepared)
        {
            var manifest = ShardManifest.Load(prepared);
            if (manifest.SequenceLength > config.Model.MaxPositionEmbeddings)
                throw new BertLabException($"config: {prepared} holds sequences of {manifest.SequenceLength} tokens, more than model.max_position_embeddings ({config.Model.MaxPositionEmbeddings})");
            message?.Invoke($"data: {prepared} (prepared: {manifest.Counts.Tokens:N0} tokens, {PackingModes.Name(manifest.Mode)}, sequences of {manifest.SequenceLength})");
            return RequireValidation(new ShardBatchSource(prepared, vocabulary, (ulong)config.Run.Seed, masking), config);
        }
        var preparer = Preparer(config, vocabulary, progress);
        var dir = PrepareCache(config, runDir, preparer, CorpusFile.Resolve(config.Data.Corpus), message);
        // data.validation_corpus: the held-out split of another corpus, prepared the same way into its own cache folder
        string? validationDir = config.Data.ValidationCorpus.Count == 0 ? null
            : PrepareCache(config, runDir, preparer, CorpusFile.Resolve(config.Data.ValidationCorpus), m => message?.Invoke(m.Replace("data: ", "data (validation corpus): ")));
        return RequireValidation(new ShardBatchSource(dir, vocabulary, (ulong)config.Run.Seed, masking, validationDirectory: validationDir), config);
    }

    /// <summary>Prepares the files into their cache folder (or finds it up to date) and returns the folder.</summary>
    static string PrepareCache(RunConfig config, string runDir, DataPreparer preparer, IReadOnlyList<CorpusFile> files, Action<string>? message)
    {
        var dir = CacheDirectory(config, runDir, preparer, files);
        // One process prepares a cache folder; another that needs the same one waits, then finds it up to date.
        var lockPath = dir + ".lock";
        var held = FileLock.TryAcquireNamed(lockPath);
        if (held is null)
        {
            message?.Invoke($"data: waiting for another process (PID {FileLock.Owner(lockPath)}) preparing {dir}");
            held = FileLock.Acquire(lockPath, TimeSpan.FromHours(4));
        }
        PrepareResult result;
        using (held) result = preparer.Prepare(files, dir);
        message?.Invoke(result.UpToDate
            ? $"data: {dir} is up to date ({result.Manifest.Counts.Tokens:N0} tokens)"
            : $"data: prepared {result.Manifest.Counts.Tokens:N0} tokens in {result.Elapsed.TotalSeconds:F1} s ({result.TokensPerSecond:N0} tokens/s) into {dir}");
        return dir;
    }

    /// <summary>A source whose validation split is empty would report a validation loss of 0: an error before training instead.</summary>
    static ShardBatchSource RequireValidation(ShardBatchSource source, RunConfig config)
    {
        var counts = source.Train.Manifest.Counts;
        if (source.ValidationSequences == 0)
        {
            source.Dispose();
            throw new BertLabException($"data: the validation split is empty: the corpus gives {counts.Tokens:N0} tokens, {counts.TrainSequences:N0} training " +
                $"sequences of {config.Data.SeqLen} and 0 validation sequences at data.validation_fraction {config.Data.ValidationFraction}; " +
                "use a larger corpus or a larger data.validation_fraction");
        }
        return source;
    }
}
