using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BertLab.Text;

namespace BertLab.Data;

public sealed record PrepareOptions
{
    public int SequenceLength { get; init; } = 128;
    public PackingMode Mode { get; init; } = PackingMode.Packed;
    /// <summary>Seeds the train/validation split and the sentence-pair split points.</summary>
    public ulong Seed { get; init; } = 0;
    /// <summary>The default share of documents held out for validation, of `bertlab data prepare` and of a run's data.validation_fraction.</summary>
    public const double DefaultValidationFraction = 0.02;
    /// <summary>Share of documents that go to validation (decided by each document's hash, so independent of order and core count).</summary>
    public double ValidationFraction { get; init; } = DefaultValidationFraction;
    /// <summary>Tokens per shard file (rounded down to whole sequences).</summary>
    public long TokensPerShard { get; init; } = 1L << 24;
    public CleaningOptions Cleaning { get; init; } = new();
    public CorpusReaderOptions Reading { get; init; } = new();
    /// <summary>Worker threads for cleaning + tokenisation; 0 = all cores.</summary>
    public int Workers { get; init; }
    /// <summary>Prepare again even when the output is up to date.</summary>
    public bool Force { get; init; }
}

/// <summary>The outcome of <see cref="DataPreparer.Prepare"/>.</summary>
public sealed record PrepareResult(ShardManifest Manifest, bool UpToDate, string Reason, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? Manifest.Counts.Tokens / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// <c>bertlab data prepare</c>: corpus → cleaned, de-duplicated, tokenised (in parallel) documents → fixed-length
/// sequences → uint16/int32 shards + manifest.json. Re-running on unchanged input and options does nothing.
/// </summary>
public sealed class DataPreparer(ITokenizer tokenizer, PrepareOptions? options = null)
{
    public PrepareOptions Options { get; } = options ?? new PrepareOptions();
    const string TokenizerProbe = "Hello WORLD, Ünïcödé façade — naïve café 你好! Straße x² ﬁ [MASK] 3.14";
    static readonly System.Text.RegularExpressions.Regex ShardFileName = new(@"^(train|validation)-\d{5}\.bin(\.tmp)?$");
    /// <summary>Called every batch of documents with (documents, tokens) so far.</summary>
    public Action<long, long>? Progress { get; init; }

    public PrepareResult Prepare(IReadOnlyList<CorpusFile> files, string outDirectory)
    {
        var clock = Stopwatch.StartNew();
        var o = Options;
        if (o.ValidationFraction is < 0 or >= 1) throw new BertLabException($"validation fraction {o.ValidationFraction} must be in [0, 1)");
        if (o.TokensPerShard < 1) throw new BertLabException($"tokens per shard {o.TokensPerShard} must be at least 1");
        if (o.SequenceLength is < 8 or > 65536) throw new BertLabException($"sequence length {o.SequenceLength} must be between 8 and 65536");
        var vocab = tokenizer.Vocabulary;
        var inputs = files.Select(f => new InputFileInfo(Path.GetFullPath(f.Path), new FileInfo(f.Path).Length, ShardManifest.FileSha256(f.Path))).ToList();
        var fingerprint = Fingerprint(files);

        string reason = "no previous preparation";
        Directory.CreateDirectory(outDirectory);
        if (ShardManifest.TryLoad(outDirectory, out var previous) && previous is not null)
        {
            reason = WhyStale(previous, inputs, fingerprint, outDirectory) ?? "";
            if (reason.Length == 0 && !o.Force) return new PrepareResult(previous, true, "up to date: inputs, vocabulary and options unchanged, shards intact", clock.Elapsed);
            if (reason.Length == 0) reason = "forced";
            File.Delete(Path.Combine(outDirectory, ShardManifest.FileName));
        }
        // remove earlier shards (only files named like ours: train-00000.bin, validation-00003.bin.tmp)
        foreach (var old in Directory.EnumerateFiles(outDirectory).Where(f => ShardFileName.IsMatch(Path.GetFileName(f)))) File.Delete(old);

        string tokenType = vocab.Count <= 65536 ? "uint16" : "int32";
        int bytesPerToken = tokenType == "uint16" ? 2 : 4;
        long perShard = Math.Max(1, o.TokensPerShard / o.SequenceLength);
        using var train = new ShardWriter(outDirectory, "train", o.SequenceLength, bytesPerToken, perShard);
        using var validation = new ShardWriter(outDirectory, "validation", o.SequenceLength, bytesPerToken, perShard);
        var trainPacker = new SequencePacker(vocab, o.SequenceLength, o.Mode, SplitMix64.Derive(o.Seed, 1, 0), s => train.Write(s));
        var validationPacker = new SequencePacker(vocab, o.SequenceLength, o.Mode, SplitMix64.Derive(o.Seed, 2, 0), s => validation.Write(s));
        var processor = new DocumentProcessor(new TextCleaner(o.Cleaning), tokenizer) { SplitSentences = o.Mode == PackingMode.SentencePairs };
        var seen = new HashSet<ulong>();
        long read = 0, tooShort = 0, duplicates = 0, trainDocs = 0, validationDocs = 0, tokens = 0;
        SequencePacker? current = null; // the packer of the document being continued; null = skipping it
        ulong validationThreshold = (ulong)(o.ValidationFraction * ulong.MaxValue);

        ParallelPipeline.Run(CorpusReader.Read(files, o.Reading), processor.Process, (_, docs) =>
        {
            foreach (var d in docs)
            {
                if (!d.ContinuesPrevious)
                {
                    current = null;
                    if (d.Empty) continue;
                    read++;
                    if (d.TooShort) { tooShort++; continue; }
                    if (o.Cleaning.Deduplicate && !seen.Add(d.Hash)) { duplicates++; continue; }
                    bool toValidation = SplitMix64.Mix(d.Hash ^ o.Seed) < validationThreshold;
                    current = toValidation ? validationPacker : trainPacker;
                    if (toValidation) validationDocs++; else trainDocs++;
                }
                if (current is null || d.Empty) continue;
                current.Add(d.Ids, d.ContinuesPrevious, d.SentenceStarts);
                tokens += d.Ids.Length;
            }
            Progress?.Invoke(read, tokens);
        }, o.Workers, weight: d => d.Text.Length, maxBatchWeight: 1 << 20);
        trainPacker.Flush();
        validationPacker.Flush();
        train.Complete();
        validation.Complete();
        if (trainDocs + validationDocs == 0)
            throw new BertLabException($"the corpus ({string.Join(", ", files.Select(f => f.Path))}) has no usable documents: {read} read, {tooShort} shorter than {o.Cleaning.MinChars} characters, {duplicates} duplicates");

        var manifest = new ShardManifest
        {
            Fingerprint = fingerprint, VocabularySha256 = vocab.Sha256, VocabularySize = vocab.Count, TokenType = tokenType,
            SequenceLength = o.SequenceLength, Mode = o.Mode, Seed = o.Seed, ValidationFraction = o.ValidationFraction,
            Cleaning = o.Cleaning, DocumentSplit = o.Reading.Split, TextField = o.Reading.TextField, Inputs = inputs,
            Counts = new PreparationCounts
            {
                DocumentsRead = read, DocumentsTooShort = tooShort, DuplicateDocuments = duplicates,
                DocumentsKept = trainDocs + validationDocs, TrainDocuments = trainDocs, ValidationDocuments = validationDocs,
                Tokens = tokens, TrainSequences = train.Sequences, ValidationSequences = validation.Sequences,
            },
            Shards = train.Shards.Concat(validation.Shards).ToList(),
        };
        manifest.Save(outDirectory);
        return new PrepareResult(manifest, false, reason, clock.Elapsed);
    }

    /// <summary>
    /// Writes the training documents of <paramref name="files"/> — those <see cref="Prepare"/> would put in the training split,
    /// after the same cleaning, length and duplicate rules — through <paramref name="transform"/> into a text file, one
    /// document per paragraph (blank-line separated). The validation documents are left out, so a run trained on the copy
    /// and validated on the original's validation split (data.validation_corpus) never sees a validation document.
    /// Returns the number of documents written. The file is written under a temporary name and renamed.
    /// </summary>
    public long WriteTrainingCopy(IReadOnlyList<CorpusFile> files, string outPath, Func<string, string> transform)
    {
        var o = Options;
        var cleaner = new TextCleaner(o.Cleaning);
        ulong validationThreshold = (ulong)(o.ValidationFraction * ulong.MaxValue);
        var seen = new HashSet<ulong>();
        long written = 0;
        BertLab.IO.AtomicFile.Write(outPath, tmp =>
        {
            using var writer = new StreamWriter(tmp, false, new System.Text.UTF8Encoding(false));
            bool keep = false, open = false;
            void Close() { if (open) { writer.Write("\n\n"); open = false; } }
            foreach (var raw in CorpusReader.Read(files, o.Reading))
            {
                var text = cleaner.Clean(raw.Text);
                if (!raw.ContinuesPrevious)
                {
                    Close();
                    keep = false;
                    if (text.Length == 0 || text.Length < o.Cleaning.MinChars) continue;
                    ulong hash = TextCleaner.Hash(text);
                    if (o.Cleaning.Deduplicate && !seen.Add(hash)) continue;
                    keep = SplitMix64.Mix(hash ^ o.Seed) >= validationThreshold;
                    if (keep) written++;
                }
                if (!keep || text.Length == 0) continue;
                var piece = transform(text).Replace('\n', ' ').Replace('\r', ' ');
                if (open) writer.Write(' ');
                writer.Write(piece);
                open = true;
            }
            Close();
        });
        return written;
    }

    /// <summary>Why a previous preparation cannot be reused, or null when it can.</summary>
    static string? WhyStale(ShardManifest previous, IReadOnlyList<InputFileInfo> inputs, string fingerprint, string directory)
    {
        var before = previous.Inputs.ToDictionary(i => i.Path);
        var changed = inputs.Where(i => !before.TryGetValue(i.Path, out var b) || b.Sha256 != i.Sha256).Select(i => i.Path).ToList();
        var gone = previous.Inputs.Select(i => i.Path).Except(inputs.Select(i => i.Path)).ToList();
        if (changed.Count > 0) return $"input changed: {string.Join(", ", changed)}";
        if (gone.Count > 0) return $"input no longer part of the corpus: {string.Join(", ", gone)}";
        if (previous.Fingerprint != fingerprint) return "vocabulary or options changed";
        try { previous.Verify(directory); }
        catch (BertLabException e) { return e.Message; }
        return null;
    }

    /// <summary>
    /// The one fingerprint of a preparation: the corpus files (full paths, in order), the vocabulary, the tokenizer's
    /// behaviour (casing, accents) and every option that changes the shards. <c>data prepare</c> records it in the
    /// manifest; the trainer names its cache folder after it (<c>data-</c> + its first 16 hex digits), so the same
    /// settings give the same shards by either route. The files' contents are checked separately (their SHA-256 in the
    /// manifest), so a changed file is prepared again in place.
    /// </summary>
    public string Fingerprint(IReadOnlyList<CorpusFile> files)
    {
        var o = Options;
        var what = JsonSerializer.Serialize(new
        {
            ShardManifest.CurrentVersion, inputs = files.Select(f => Path.GetFullPath(f.Path)), vocab = tokenizer.Vocabulary.Sha256, o.SequenceLength, o.Mode,
            o.Seed, o.ValidationFraction, o.TokensPerShard, o.Cleaning, o.Reading.Split, o.Reading.TextField, o.Reading.MaxPieceChars,
            tokenizer = tokenizer.GetType().FullName,
            // the tokenizer's settings (lower-casing, accents, …) are not visible through ITokenizer: fingerprint its behaviour
            probe = tokenizer.EncodeIds(TokenizerProbe),
        }, ShardManifest.Json);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(what))).ToLowerInvariant();
    }
}
