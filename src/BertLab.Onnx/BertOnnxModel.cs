using System.Text.Json;
using BertLab.Text;
using Microsoft.ML.OnnxRuntime;

namespace BertLab.Onnx;

/// <summary>How a <see cref="BertOnnxModel"/> runs.</summary>
public sealed record OnnxModelOptions
{
    /// <summary>Texts per ONNX Runtime call (each batch is padded to its longest text).</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Tokens per text, [CLS] and [SEP] included (longer texts are truncated); at most the model's max_position_embeddings.</summary>
    public int MaxLength { get; init; } = 256;
    /// <summary>ONNX Runtime's intra-op threads; 0 = its default (one per core).</summary>
    public int Threads { get; init; }
}

/// <summary>One text's classification: the raw logits, their probabilities and the winning label.</summary>
/// <param name="Probabilities">softmax of the logits (single-label), their sigmoids (multi_label_classification), empty for a regression.</param>
/// <param name="Label">the index of the largest logit (0 for a regression).</param>
/// <param name="LabelName">config.json's id2label of <paramref name="Label"/>, "LABEL_i" without one.</param>
public sealed record Classification(float[] Logits, float[] Probabilities, int Label, string LabelName);

/// <summary>One candidate token for the <paramref name="MaskIndex"/>-th [MASK] of a text.</summary>
public sealed record MaskCandidate(int MaskIndex, string Token, int TokenId, double Probability);

/// <summary>
/// A BERT ONNX graph and its tokenizer on ONNX Runtime: a directory written by <c>bertlab export onnx</c> (onnx/model.onnx,
/// config.json, vocab.txt, tokenizer files) or any BERT graph (model.onnx, or onnx/model.onnx) with vocab.txt or
/// tokenizer.json beside config.json. Inputs are those the graph declares (input_ids; attention_mask and token_type_ids
/// when present); batches are padded with [PAD] to their longest text. Thread-safe (ONNX Runtime's Run is).
/// </summary>
public sealed class BertOnnxModel : IDisposable
{
    public const string ModelFile = "model.onnx";
    public const string OnnxFolder = "onnx";
    public const string ConfigFile = "config.json";
    const string HiddenOutput = "last_hidden_state", LogitsOutput = "logits";

    readonly InferenceSession _session;
    readonly bool _hasMask, _hasTypes;
    readonly string _hiddenOutput;
    readonly int? _vocabSize;
    readonly string? _problemType;
    bool _disposed;

    BertOnnxModel(string directory, string modelPath, InferenceSession session, WordPieceTokenizer tokenizer, JsonElement? config, OnnxModelOptions options)
    {
        Directory = directory;
        ModelPath = modelPath;
        _session = session;
        Tokenizer = tokenizer;
        Options = options;
        var inputs = session.InputMetadata;
        if (!inputs.ContainsKey("input_ids"))
            throw new BertLabException($"{modelPath}: the graph has no input 'input_ids' (inputs: {string.Join(", ", inputs.Keys)}); not a BERT graph");
        _hasMask = inputs.ContainsKey("attention_mask");
        _hasTypes = inputs.ContainsKey("token_type_ids");
        var unknown = inputs.Keys.Where(k => k is not ("input_ids" or "attention_mask" or "token_type_ids")).ToList();
        if (unknown.Count > 0)
            throw new BertLabException($"{modelPath}: the graph needs input(s) {string.Join(", ", unknown)}; BertLab feeds input_ids, attention_mask and token_type_ids");
        var outputs = session.OutputMetadata;
        _hiddenOutput = outputs.ContainsKey(HiddenOutput) ? HiddenOutput
            : outputs.FirstOrDefault(o => o.Value.Dimensions.Length == 3 && o.Key != LogitsOutput).Key
              ?? throw new BertLabException($"{modelPath}: the graph has no output 'last_hidden_state' (outputs: {string.Join(", ", outputs.Keys)})");
        HasMaskedLMHead = outputs.TryGetValue(LogitsOutput, out var logits) && logits.Dimensions.Length == 3;
        HasClassifier = logits is not null && logits.Dimensions.Length == 2;

        int? hidden = Int(config, "hidden_size");
        int hiddenDim = outputs[_hiddenOutput].Dimensions[^1];
        HiddenSize = hidden ?? (hiddenDim > 0 ? hiddenDim
            : throw new BertLabException($"{directory}: no {ConfigFile} with hidden_size, and the graph's {_hiddenOutput} has no fixed last dimension"));
        MaxPositionEmbeddings = Int(config, "max_position_embeddings") ?? 512;
        _vocabSize = Int(config, "vocab_size");
        _problemType = config is { } c && c.TryGetProperty("problem_type", out var pt) && pt.ValueKind == JsonValueKind.String ? pt.GetString() : null;
        NumLabels = HasClassifier ? (logits!.Dimensions[1] > 0 ? logits.Dimensions[1] : Labels(config).Count) : 0;
        var names = Labels(config);
        LabelNames = Enumerable.Range(0, NumLabels).Select(i => names.TryGetValue(i, out var n) ? n : $"LABEL_{i}").ToArray();
        ModelId = config is { } c2 && c2.TryGetProperty("_name_or_path", out var np) && np.ValueKind == JsonValueKind.String && np.GetString() is { Length: > 0 } name
            ? name : new DirectoryInfo(directory).Name;
    }

    /// <summary>
    /// Loads a model directory: its graph (MODEL_DIR/model.onnx or MODEL_DIR/onnx/model.onnx), its tokenizer
    /// (<see cref="TokenizerFiles.Load"/>: vocab.txt cased by tokenizer_config.json, else tokenizer.json) and config.json
    /// when it has one (hidden_size, max_position_embeddings, vocab_size, id2label, problem_type, _name_or_path).
    /// </summary>
    public static BertOnnxModel Load(string modelDirectory, OnnxModelOptions? options = null)
    {
        options ??= new OnnxModelOptions();
        if (options.BatchSize < 1) throw new BertLabException($"batch size must be at least 1, not {options.BatchSize}");
        if (options.MaxLength < 2) throw new BertLabException($"max length must be at least 2 ([CLS] and [SEP]), not {options.MaxLength}");
        if (options.Threads < 0) throw new BertLabException($"threads must be 0 (ONNX Runtime's default) or more, not {options.Threads}");
        if (File.Exists(modelDirectory)) throw new BertLabException($"{modelDirectory} is a file; expected a model directory (onnx/model.onnx and its tokenizer files)");
        if (!System.IO.Directory.Exists(modelDirectory)) throw new BertLabException($"model directory not found: {modelDirectory}");
        var modelPath = new[] { Path.Combine(modelDirectory, ModelFile), Path.Combine(modelDirectory, OnnxFolder, ModelFile) }.FirstOrDefault(File.Exists)
            ?? throw new BertLabException($"{modelDirectory}: no {ModelFile} or {OnnxFolder}/{ModelFile}; write one with `bertlab export onnx {modelDirectory}`");
        var tokenizer = TokenizerFiles.Load(modelDirectory);
        JsonDocument? configDoc = null;
        var configPath = Path.Combine(modelDirectory, ConfigFile);
        if (File.Exists(configPath))
        {
            try { configDoc = JsonDocument.Parse(File.ReadAllText(configPath)); }
            catch (JsonException e) { throw new BertLabException($"{configPath}: invalid JSON: {e.Message}"); }
        }
        using (configDoc)
        {
            var sessionOptions = new SessionOptions();
            if (options.Threads > 0) sessionOptions.IntraOpNumThreads = options.Threads;
            InferenceSession session;
            try { session = new InferenceSession(modelPath, sessionOptions); }
            catch (OnnxRuntimeException e) { throw new BertLabException($"{modelPath}: ONNX Runtime cannot load it: {e.Message}"); }
            finally { sessionOptions.Dispose(); }
            try
            {
                JsonElement? config = configDoc?.RootElement.ValueKind == JsonValueKind.Object ? configDoc.RootElement.Clone() : null;
                return new BertOnnxModel(modelDirectory, modelPath, session, tokenizer, config, options);
            }
            catch { session.Dispose(); throw; }
        }
    }

    /// <summary>The model directory given to <see cref="Load"/>.</summary>
    public string Directory { get; }
    /// <summary>The graph ONNX Runtime runs.</summary>
    public string ModelPath { get; }
    public WordPieceTokenizer Tokenizer { get; }
    public OnnxModelOptions Options { get; }
    /// <summary>config.json's _name_or_path, else the directory's name.</summary>
    public string ModelId { get; }
    /// <summary>The embedding dimension.</summary>
    public int HiddenSize { get; }
    public int MaxPositionEmbeddings { get; }
    /// <summary>The graph outputs masked-LM logits (batch, sequence, vocab): <see cref="FillMask"/> works.</summary>
    public bool HasMaskedLMHead { get; }
    /// <summary>The graph outputs a classifier's logits (batch, num_labels): <see cref="Classify"/> works.</summary>
    public bool HasClassifier { get; }
    public int NumLabels { get; }
    /// <summary>config.json's id2label, by label index.</summary>
    public IReadOnlyList<string> LabelNames { get; }
    /// <summary>A one-output regression head (problem_type "regression", or one label without a problem_type).</summary>
    public bool IsRegression => HasClassifier && (_problemType == "regression" || (_problemType is null && NumLabels == 1));

    int Length => Math.Min(Options.MaxLength, MaxPositionEmbeddings);

    /// <summary>
    /// Sentence embeddings, as <c>bertlab embed</c> computes them: the mean of last_hidden_state over the attention mask,
    /// L2-normalised. Texts are batched by length (less padding); results come back in input order. The token is checked
    /// between batches.
    /// </summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var encoded = Encode(texts, null);
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => encoded[i].Length).ToArray();
        var result = new float[texts.Count][];
        for (int start = 0; start < order.Length; start += Options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var idx = order.AsSpan(start, Math.Min(Options.BatchSize, order.Length - start)).ToArray();
            var batch = idx.Select(i => encoded[i]).ToArray();
            int length = batch.Max(e => e.Length);
            using var outputs = Run(batch, length, _hiddenOutput);
            var hidden = outputs[0].GetTensorDataAsSpan<float>();
            int D = HiddenSize;
            if (hidden.Length != batch.Length * length * D)
                throw new BertLabException($"{ModelPath}: {_hiddenOutput} has {hidden.Length} values, expected {batch.Length} × {length} × {D}");
            for (int r = 0; r < batch.Length; r++)
                result[idx[r]] = MeanPoolNormalized(hidden.Slice(r * length * D, length * D), batch[r].AttentionMask, D);
        }
        return result;
    }

    /// <summary>Mean over rows where mask = 1 (divided by max(count, 1e-9)), then divided by max(‖x‖₂, 1e-12): SentenceEmbedder.Pool.</summary>
    static float[] MeanPoolNormalized(ReadOnlySpan<float> rows, int[] mask, int dim)
    {
        var sum = new float[dim];
        float count = 0;
        for (int s = 0; s < mask.Length; s++)
        {
            if (mask[s] == 0) continue;
            count++;
            var row = rows.Slice(s * dim, dim);
            for (int d = 0; d < dim; d++) sum[d] += row[d];
        }
        float denom = Math.Max(count, 1e-9f);
        double norm = 0;
        for (int d = 0; d < dim; d++) { sum[d] /= denom; norm += (double)sum[d] * sum[d]; }
        float scale = 1f / Math.Max((float)Math.Sqrt(norm), 1e-12f);
        for (int d = 0; d < dim; d++) sum[d] *= scale;
        return sum;
    }

    /// <summary>Classifies texts (or text pairs, [CLS] a [SEP] b [SEP]) with the graph's classifier head (a fine-tuned model exported by <c>bertlab export onnx</c>).</summary>
    public Classification[] Classify(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (!HasClassifier)
            throw new BertLabException($"{ModelPath}: the graph has no classifier output 'logits' (batch, labels); export a fine-tuned model (`bertlab finetune`, then `bertlab export onnx`)");
        if (pairs is not null && pairs.Count != texts.Count) throw new BertLabException($"{texts.Count} texts but {pairs.Count} pair texts");
        var encoded = Encode(texts, pairs);
        var result = new Classification[texts.Count];
        for (int start = 0; start < texts.Count; start += Options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = encoded.Skip(start).Take(Options.BatchSize).ToArray();
            using var outputs = Run(batch, batch.Max(e => e.Length), LogitsOutput);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            int L = NumLabels;
            for (int r = 0; r < batch.Length; r++)
            {
                var row = logits.Slice(r * L, L).ToArray();
                float[] probs = IsRegression ? [] : _problemType == "multi_label_classification" ? row.Select(x => 1f / (1f + MathF.Exp(-x))).ToArray() : Softmax(row);
                int best = IsRegression ? 0 : Array.IndexOf(row, row.Max());
                result[start + r] = new Classification(row, probs, best, LabelNames[best]);
            }
        }
        return result;
    }

    static float[] Softmax(float[] x)
    {
        float max = x.Max();
        var e = x.Select(v => MathF.Exp(v - max)).ToArray();
        float sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>The <paramref name="topK"/> most probable tokens at each [MASK] of the text, as <c>bertlab fill-mask</c> (softmax over the vocabulary).</summary>
    public IReadOnlyList<MaskCandidate> FillMask(string text, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (topK < 1) throw new BertLabException($"top-k must be at least 1, not {topK}");
        if (!HasMaskedLMHead)
            throw new BertLabException($"{ModelPath}: the graph has no masked-LM output 'logits' (batch, sequence, vocab); export a pre-trained (masked-LM) model");
        var vocab = Tokenizer.Vocabulary;
        var encoded = Tokenizer.Encode(text, maxLength: MaxPositionEmbeddings);
        var positions = Enumerable.Range(0, encoded.Length).Where(i => encoded.InputIds[i] == vocab.MaskId).ToList();
        var whole = Tokenizer.Encode(text);
        var allMasks = Enumerable.Range(0, whole.Length).Where(i => whole.InputIds[i] == vocab.MaskId).ToList();
        if (allMasks.Count > positions.Count)
            throw new BertLabException($"{vocab[vocab.MaskId]} at token {allMasks[positions.Count]} of {whole.Length} lies beyond the {MaxPositionEmbeddings} tokens " +
                                       $"the model reads ([CLS] and [SEP] included, its max_position_embeddings): shorten the text before the mask");
        if (positions.Count == 0) throw new BertLabException($"the text has no {vocab[vocab.MaskId]} token: \"{text}\"");
        CheckIds(encoded.InputIds, "the text");
        using var outputs = Run([encoded], encoded.Length, LogitsOutput);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        int V = logits.Length / encoded.Length;
        var predictions = new List<MaskCandidate>();
        for (int m = 0; m < positions.Count; m++)
        {
            var probs = Softmax(logits.Slice(positions[m] * V, V).ToArray());
            var top = Enumerable.Range(0, V).OrderByDescending(i => probs[i]).ThenBy(i => i).Take(Math.Min(topK, V));
            foreach (var id in top) predictions.Add(new MaskCandidate(m, vocab[id], id, probs[id]));
        }
        return predictions;
    }

    TokenizedInput[] Encode(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs)
    {
        var encoded = new TokenizedInput[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            encoded[i] = Tokenizer.Encode(texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts)), pairs?[i], maxLength: Length);
            CheckIds(encoded[i].InputIds, $"text {i}");
        }
        return encoded;
    }

    /// <summary>An id the embedding table lacks would fail inside ONNX Runtime: the tokenizer's vocabulary is not the model's.</summary>
    void CheckIds(int[] ids, string what)
    {
        if (_vocabSize is not int v) return;
        foreach (var id in ids)
            if (id >= v)
                throw new BertLabException($"{what}: token id {id} is outside the model's vocabulary ({v} tokens): the tokenizer's vocabulary does not belong to this model (put the model's vocab.txt in its folder)");
    }

    /// <summary>One call of the graph on a batch padded to <paramref name="length"/> with [PAD], mask 0 and type 0.</summary>
    IDisposableReadOnlyCollection<OrtValue> Run(TokenizedInput[] batch, int length, string output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = batch.Length;
        var ids = new long[n * length];
        var mask = new long[n * length];
        var types = new long[n * length];
        Array.Fill(ids, Tokenizer.Vocabulary.PadId);
        for (int r = 0; r < n; r++)
        {
            var e = batch[r];
            for (int c = 0; c < e.Length; c++)
            {
                ids[r * length + c] = e.InputIds[c];
                mask[r * length + c] = e.AttentionMask[c];
                types[r * length + c] = e.TokenTypeIds[c];
            }
        }
        var shape = new long[] { n, length };
        var names = new List<string> { "input_ids" };
        var values = new List<OrtValue> { OrtValue.CreateTensorValueFromMemory(ids, shape) };
        if (_hasMask) { names.Add("attention_mask"); values.Add(OrtValue.CreateTensorValueFromMemory(mask, shape)); }
        if (_hasTypes) { names.Add("token_type_ids"); values.Add(OrtValue.CreateTensorValueFromMemory(types, shape)); }
        try
        {
            using var runOptions = new RunOptions();
            return _session.Run(runOptions, names, values, new[] { output });
        }
        catch (OnnxRuntimeException e) { throw new BertLabException($"{ModelPath}: ONNX Runtime failed on a batch of {n} × {length} tokens: {e.Message}"); }
        finally { foreach (var v in values) v.Dispose(); }
    }

    static int? Int(JsonElement? config, string key) =>
        config is { } c && c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    static Dictionary<int, string> Labels(JsonElement? config)
    {
        var labels = new Dictionary<int, string>();
        if (config is { } c && c.TryGetProperty("id2label", out var m) && m.ValueKind == JsonValueKind.Object)
            foreach (var p in m.EnumerateObject())
                if (int.TryParse(p.Name, out int i) && p.Value.ValueKind == JsonValueKind.String) labels[i] = p.Value.GetString()!;
        return labels;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
    }
}
