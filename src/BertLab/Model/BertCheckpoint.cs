using BertLab.Text;
using TorchSharp;
using static TorchSharp.torch;
using BertLab.IO;

namespace BertLab.Model;

/// <summary>What a load matched, for messages such as "newly initialised: classifier.weight".</summary>
public sealed record LoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> NewlyInitialized, IReadOnlyList<string> Ignored);

/// <summary>
/// Hugging Face checkpoint directories: <c>config.json</c> + <c>model.safetensors</c> (+ <c>vocab.txt</c>).
/// Parameter names are Hugging Face's; a tied decoder weight absent from the file is normal.
/// </summary>
public static class BertCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string VocabFile = "vocab.txt";

    public static BertConfig LoadConfig(string dir)
    {
        CheckDirectory(dir);
        var path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new BertLabException($"{dir}: no {ConfigFile} (a Hugging Face model directory holds config.json and model.safetensors)");
        return BertConfig.Load(path);
    }

    public static Dictionary<string, Tensor> LoadWeights(string dir)
    {
        CheckDirectory(dir);
        var path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path))
        {
            var bin = Path.Combine(dir, PyTorchWeightsFile);
            if (File.Exists(bin)) return LoadPyTorchBin(bin);
            string hint = File.Exists(Path.Combine(dir, PyTorchWeightsFile + ".index.json")) || File.Exists(Path.Combine(dir, WeightsFile + ".index.json"))
                ? " (a sharded checkpoint: BertLab reads one file; save it again unsharded)" : "";
            throw new BertLabException($"{dir}: no {WeightsFile} or {PyTorchWeightsFile}{hint}");
        }
        return SafetensorsFile.Load(path);
    }

    /// <summary>Hugging Face's older weights file: a torch.save state dict (zip format, PyTorch ≥ 1.6).</summary>
    public const string PyTorchWeightsFile = "pytorch_model.bin";

    /// <summary>Reads a pytorch_model.bin (torch.save of a state dict) through TorchSharp.PyBridge's unpickler
    /// (tensors only: no code from the file is run).</summary>
    public static Dictionary<string, Tensor> LoadPyTorchBin(string path)
    {
        System.Collections.Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not BertLabException)
        {
            throw new BertLabException($"{path}: cannot read it as a PyTorch state dict (torch.save zip format): {e.Message}");
        }
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in table)
        {
            if (e.Key is not string name || e.Value is not Tensor t)
                throw new BertLabException($"{path}: entry '{e.Key}' is {e.Value?.GetType().Name ?? "null"}, not a tensor: not a state dict");
            weights[name] = t;
        }
        return weights;
    }

    static void CheckDirectory(string dir)
    {
        if (File.Exists(dir)) throw new BertLabException($"{dir} is a file; expected a model directory (config.json + model.safetensors)");
        if (!Directory.Exists(dir)) throw new BertLabException($"model directory not found: {dir}");
    }

    public static BertForMaskedLM LoadMaskedLM(string dir, Device? device = null, Action<BertConfig>? adjust = null)
    {
        var config = LoadConfig(dir);
        adjust?.Invoke(config);
        var model = new BertForMaskedLM(config);
        LoadInto(model, LoadWeights(dir), dir,
            mayBeMissing: _ => false,
            mayBeIgnored: n => n.StartsWith("bert.pooler.") || n.StartsWith("cls.seq_relationship.") || n.EndsWith("position_ids")
                               || n == "cls.predictions.decoder.bias" || (config.TieWordEmbeddings && n == "cls.predictions.decoder.weight"));
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>Loads an encoder checkpoint (any BERT head or none) for classification; the classifier (and a pooler the
    /// file lacks) are newly initialised and listed in the report.</summary>
    public static (BertForSequenceClassification model, LoadReport report) LoadSequenceClassification(string dir, Action<BertConfig>? adjust = null, Device? device = null)
    {
        var config = LoadConfig(dir);
        adjust?.Invoke(config);
        var model = new BertForSequenceClassification(config);
        var weights = LoadWeights(dir);
        bool sameHead = weights.TryGetValue("classifier.weight", out var cw) && cw.shape[0] == config.NumLabels;
        if (!sameHead) weights.Remove("classifier.weight");
        if (!sameHead) weights.Remove("classifier.bias");
        var report = LoadInto(model, weights, dir,
            mayBeMissing: n => n.StartsWith("classifier.") || n.StartsWith("bert.pooler."),
            mayBeIgnored: n => n.StartsWith("cls.") || n.EndsWith("position_ids"));
        if (device is not null) model.to(device);
        return (model, report);
    }

    public static BertModel LoadBertModel(string dir, Device? device = null)
    {
        var config = LoadConfig(dir);
        var weights = LoadWeights(dir);
        bool hasPooler = weights.Keys.Any(k => k.Contains("pooler."));
        var model = new BertModel(config, addPoolingLayer: hasPooler);
        var stripped = weights.ToDictionary(kv => kv.Key.StartsWith("bert.") ? kv.Key["bert.".Length..] : kv.Key, kv => kv.Value);
        LoadInto(model, stripped, dir, mayBeMissing: _ => false,
            mayBeIgnored: n => n.StartsWith("cls.") || n.StartsWith("classifier.") || n.EndsWith("position_ids"));
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>
    /// Copies <paramref name="weights"/> into the model's parameters by Hugging Face name. A file saved from a bare
    /// BertModel (no "bert." prefix) loads into a model with a head. Missing, unexpected or mis-shaped tensors fail
    /// with one message naming them, unless the predicates allow it.
    /// </summary>
    public static LoadReport LoadInto(nn.Module model, Dictionary<string, Tensor> weights, string source,
        Func<string, bool> mayBeMissing, Func<string, bool> mayBeIgnored)
    {
        var expected = model.state_dict();
        bool modelHasPrefix = expected.Keys.Any(k => k.StartsWith("bert."));
        bool fileHasPrefix = weights.Keys.Any(k => k.StartsWith("bert."));
        if (modelHasPrefix && !fileHasPrefix)
            weights = weights.ToDictionary(kv => kv.Key.StartsWith("cls.") || kv.Key.StartsWith("classifier.") ? kv.Key : "bert." + kv.Key, kv => kv.Value);

        var missing = expected.Keys.Where(k => !weights.ContainsKey(k) && !mayBeMissing(k)).ToList();
        var unexpected = weights.Keys.Where(k => !expected.ContainsKey(k) && !mayBeIgnored(k)).ToList();
        if (missing.Count > 0)
        {
            bool attentionExtra = missing.Any(m => m.Contains(".attention.self.") && !m.EndsWith(".weight") && !m.EndsWith(".bias"));
            string hint = attentionExtra ? $" (the config's attention '{(model is BertForMaskedLM mlm ? mlm.Config.Attention.Preset : "?")}' needs learnable attention parameters this checkpoint lacks: was it trained with another attention mechanism?)" : "";
            throw new BertLabException($"{source}: checkpoint is missing {missing.Count} tensor(s): {Names(missing)}{hint}");
        }
        if (unexpected.Count > 0)
            throw new BertLabException($"{source}: checkpoint has {unexpected.Count} unexpected tensor(s): {Names(unexpected)}");

        var loaded = new List<string>();
        using (no_grad())
        {
            foreach (var (name, target) in expected)
            {
                if (!weights.TryGetValue(name, out var src)) continue;
                if (!src.shape.SequenceEqual(target.shape))
                    throw new BertLabException($"{source}: tensor '{name}' has shape [{string.Join(", ", src.shape)}] but the config needs [{string.Join(", ", target.shape)}]");
                if (!src.is_floating_point() && target.is_floating_point())
                    throw new BertLabException($"{source}: tensor '{name}' has dtype {src.dtype}, expected a floating-point tensor");
                target.copy_(src.to(target.dtype));
                loaded.Add(name);
            }
        }
        var fresh = expected.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var ignored = weights.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        foreach (var t in weights.Values) t.Dispose();
        return new LoadReport(loaded, fresh, ignored);
    }

    static string Names(List<string> names) =>
        string.Join(", ", names.Take(8)) + (names.Count > 8 ? $", … ({names.Count - 8} more)" : "");

    /// <summary>
    /// Writes config.json, model.safetensors and vocab.txt (Hugging Face's layout, loadable by from_pretrained), and
    /// around them (<see cref="ModelFiles"/>): tokenizer.json, tokenizer_config.json, special_tokens_map.json, a model
    /// card README.md and, for embedding models, sentence-transformers' modules.json / 1_Pooling / 2_Normalize.
    /// Every model BertLab writes (pre-training, its checkpoints, fine-tuning, convert) goes through here.
    /// </summary>
    /// <param name="lowerCase">the tokenizer's casing; null = <see cref="ModelFiles.LowerCase"/> (the tokenizer_config.json
    /// beside <paramref name="vocabPath"/>, else whether the vocabulary is cased).</param>
    public static void Save(nn.Module model, BertConfig config, string dir, string? vocabPath = null, ModelCard? card = null, bool? lowerCase = null)
    {
        Directory.CreateDirectory(dir);
        config.Architectures = new List<string> { model.GetType().Name };
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        SafetensorsFile.Save(Path.Combine(dir, WeightsFile), weights);
        AtomicFile.WriteText(Path.Combine(dir, ConfigFile), config.ToJson() + "\n");
        var vocab = vocabPath ?? Vocabulary.DefaultPath;
        if (Directory.Exists(vocab)) vocab = Path.Combine(vocab, VocabFile);
        var dest = Path.Combine(dir, VocabFile);
        if (File.Exists(vocab) && Path.GetFullPath(vocab) != Path.GetFullPath(dest)) File.Copy(vocab, dest, overwrite: true);
        WriteCompanionFiles(config, dir, File.Exists(vocab) ? Path.GetDirectoryName(Path.GetFullPath(vocab)) : null, card, lowerCase);
    }

    /// <summary>The files beside config.json / model.safetensors / vocab.txt (see <see cref="Save"/>). Without a
    /// vocab.txt no tokenizer files are written (there is no tokenizer to describe).</summary>
    static void WriteCompanionFiles(BertConfig config, string dir, string? vocabDir, ModelCard? card, bool? lowerCase)
    {
        string architecture = config.Architectures?.FirstOrDefault() ?? nameof(BertModel);
        var vocabFile = Path.Combine(dir, VocabFile);
        bool? casing = null;
        if (File.Exists(vocabFile))
        {
            var vocab = Vocabulary.Load(vocabFile);
            casing = lowerCase ?? ModelFiles.LowerCase(vocab, vocabDir);
            TokenizerFiles.Write(dir, vocab, casing.Value, config.MaxPositionEmbeddings);
        }
        if (ModelFiles.IsEmbeddingModel(architecture)) ModelFiles.WriteSentenceTransformers(dir, config, casing ?? true);
        if (!config.Attention.IsBertSoftmax) ModelFiles.WriteRemoteCode(dir);
        ModelFiles.WriteCard(dir, config, architecture, casing, card);
    }
}
