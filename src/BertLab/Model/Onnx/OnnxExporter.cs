using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Attention.Lowering;
using BertLab.Model.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Model.Onnx;

/// <summary>What <see cref="OnnxExporter.Export"/> wrote (<paramref name="Head"/>: what the output logits are, if any).</summary>
public sealed record OnnxExportReport(
    string ModelPath, string Directory, OnnxHead Head, string Attention, string AttentionForm, int Opset, long Bytes,
    IReadOnlyList<string> Outputs, IReadOnlyList<string> OperatorTypes, IReadOnlyList<string> FilesWritten)
{
    public bool HasMaskedLMHead => Head == OnnxHead.MaskedLM;
}

/// <summary>The head an exported graph computes beside last_hidden_state, as its output "logits".</summary>
public enum OnnxHead
{
    /// <summary>No head: last_hidden_state only.</summary>
    None,
    /// <summary>cls.predictions: logits (batch, sequence, vocab_size).</summary>
    MaskedLM,
    /// <summary>pooler then classifier (BertForSequenceClassification): logits (batch, num_labels); num_labels 1 is a regression.</summary>
    SequenceClassification,
}

/// <summary>
/// Writes a BertLab / Hugging Face BERT checkpoint as an ONNX graph of standard operators (opset 17): inputs input_ids,
/// attention_mask and token_type_ids (int64, dynamic batch and sequence), output last_hidden_state and, for a masked-LM
/// checkpoint, logits (batch, sequence, vocab); for a sequence classifier (a <c>bertlab finetune</c> model: classifier.weight
/// in the checkpoint), logits (batch, num_labels) of the pooler (tanh of a dense layer over [CLS]) and the classifier. The attention is BertLab's for every configuration of ATTENTION.md, masking rules included:
/// BERT's softmax with Hugging Face's semantics (padded query rows computed like the others), every other mechanism with
/// padded keys contributing nothing, padded query rows exactly 0 and n counting real tokens, lowered from the spec by
/// <see cref="OnnxLowering"/> and each registry entry's own lowering. Linearisable mechanisms (cottention and the other
/// dot/cosine ones without an activation) use the linear form Q'(K'ᵀV')/divisor unless "implementation" forces the
/// quadratic one, which the others use (manhattan and lp materialise a (B, H, S, S, d) difference tensor there).
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    public const string ModelFile = "model.onnx";
    public const string OnnxFolder = "onnx";

    /// <summary>
    /// Exports MODEL_DIR to OUT/onnx/model.onnx (OUT = MODEL_DIR by default). With a separate OUT, config.json and the
    /// tokenizer files are copied next to it; in both cases missing tokenizer files are written (see <see cref="TokenizerFilesForExport"/>).
    /// </summary>
    public static OnnxExportReport Export(string modelDir, string? outDir = null)
    {
        var config = BertCheckpoint.LoadConfig(modelDir);
        var weights = BertCheckpoint.LoadWeights(modelDir);
        try
        {
            outDir ??= modelDir;
            if (File.Exists(outDir)) throw new BertLabException($"{outDir} is a file; --out must be a directory");
            var builder = Graph(config, weights, out var head);
            var onnxDir = Path.Combine(outDir, OnnxFolder);
            System.IO.Directory.CreateDirectory(onnxDir);
            var path = Path.Combine(onnxDir, ModelFile);
            var tmp = path + ".tmp";
            long bytes;
            using (var file = File.Create(tmp)) bytes = WriteModel(builder, config, file);
            File.Move(tmp, path, overwrite: true);
            var written = new List<string> { Path.Combine(OnnxFolder, ModelFile) };
            written.AddRange(CopyCompanions(modelDir, outDir, config));
            var outputs = head == OnnxHead.None ? new[] { "last_hidden_state" } : new[] { "last_hidden_state", "logits" };
            return new OnnxExportReport(path, outDir, head, config.Attention.Describe(), AttentionForm(config.Attention), Opset, bytes,
                outputs, builder.OpTypes.ToList(), written);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>"softmax (Hugging Face semantics)", "linear" or "quadratic": how the graph computes this attention.</summary>
    public static string AttentionForm(AttentionConfig a) => OnnxLowering.FormName(AttentionRegistry.Spec(a));

    /// <summary>The serialized ModelProto for a configuration and its weights (Hugging Face names, with or without "bert.").</summary>
    public static byte[] Build(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, out bool hasMaskedLMHead, out OnnxGraphBuilder builder)
    {
        var bytes = Build(config, weights, out OnnxHead head, out builder);
        hasMaskedLMHead = head == OnnxHead.MaskedLM;
        return bytes;
    }

    /// <summary>The serialized ModelProto and the head its "logits" output computes (<see cref="OnnxHead"/>).</summary>
    public static byte[] Build(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, out OnnxHead head, out OnnxGraphBuilder builder)
    {
        builder = Graph(config, weights, out head);
        using var s = new MemoryStream();
        WriteModel(builder, config, s);
        return s.ToArray();
    }

    /// <summary>
    /// One attention layer alone as a ModelProto: inputs query, key, value (float, (batch, heads, sequence, head_dim))
    /// and attention_mask (int64, (batch, sequence)), output context (batch, heads, sequence, head_dim); the layer's
    /// per-head parameters (e.g. scale_logit, p_logit) from <paramref name="parameters"/>. Every registry entry's ONNX
    /// lowering can so be run on its own.
    /// </summary>
    public static byte[] BuildAttention(AttentionConfig attention, int heads, int headDim, IReadOnlyDictionary<string, Tensor> parameters)
    {
        var spec = AttentionRegistry.Spec(attention);
        var b = new OnnxGraphBuilder();
        string d = headDim.ToString(System.Globalization.CultureInfo.InvariantCulture), h = heads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string Qkv(string name) => b.Input(name, OnnxDataType.Float, "batch_size", h, "sequence_length", d);
        string q = Qkv("query"), k = Qkv("key"), v = Qkv("value");
        string mask = b.Input("attention_mask", OnnxDataType.Int64, "batch_size", "sequence_length");
        var graph = new OnnxAttentionGraph(b, heads, headDim,
            name => parameters.TryGetValue(name, out var t) ? t : throw new BertLabException($"attention parameter '{name}' is missing"), "");
        b.Node("Identity", new[] { OnnxLowering.Attention(spec, graph, GraphMasks.Of(graph, mask), q, k, v) }, new[] { "context" });
        b.Output("context", OnnxDataType.Float, "batch_size", h, "sequence_length", d);
        return b.Build("bertlab_attention", Opset, "0");
    }

    static long WriteModel(OnnxGraphBuilder builder, BertConfig config, Stream stream)
    {
        var version = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var meta = new Dictionary<string, string> { ["bertlab.attention"] = config.Attention.ToJson().ToJsonString() };
        return builder.WriteTo(stream, "bertlab_bert", Opset, version, meta);
    }

    static OnnxGraphBuilder Graph(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, out OnnxHead head)
    {
        config.Validate();
        var w = new Weights(weights);
        head = w.Has("cls.predictions.transform.dense.weight") ? OnnxHead.MaskedLM
             : w.Has("classifier.weight") ? OnnxHead.SequenceClassification : OnnxHead.None;
        var b = new OnnxGraphBuilder();
        var g = new GraphWriter(b, config, w);
        string ids = b.Input("input_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        string mask = b.Input("attention_mask", OnnxDataType.Int64, "batch_size", "sequence_length");
        string types = b.Input("token_type_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        string h = g.Encoder(ids, mask, types);
        string D = config.HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        b.Node("Identity", new[] { h }, new[] { "last_hidden_state" });
        b.Output("last_hidden_state", OnnxDataType.Float, "batch_size", "sequence_length", D);
        if (head == OnnxHead.MaskedLM)
        {
            b.Node("Identity", new[] { g.MaskedLMHead(h) }, new[] { "logits" });
            b.Output("logits", OnnxDataType.Float, "batch_size", "sequence_length", config.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else if (head == OnnxHead.SequenceClassification)
        {
            b.Node("Identity", new[] { g.ClassificationHead(h) }, new[] { "logits" });
            b.Output("logits", OnnxDataType.Float, "batch_size", config.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return b;
    }

    /// <summary>config.json (model_type "bert": the graph computes the attention itself), vocab.txt and the tokenizer files.</summary>
    static List<string> CopyCompanions(string modelDir, string outDir, BertConfig config)
    {
        var written = new List<string>();
        bool sameDir = Path.GetFullPath(modelDir).TrimEnd('/') == Path.GetFullPath(outDir).TrimEnd('/');
        if (!sameDir)
        {
            System.IO.Directory.CreateDirectory(outDir);
            var c = config.Clone();
            if (c.Architectures is null) c.Architectures = new List<string> { "BertModel" };
            // The graph computes the attention itself: to an ONNX client (transformers.js) this is a plain BERT.
            var json = (JsonObject)JsonNode.Parse(c.ToJson())!;
            json["model_type"] = "bert";
            File.WriteAllText(Path.Combine(outDir, BertCheckpoint.ConfigFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written.Add(BertCheckpoint.ConfigFile);
            foreach (var name in CompanionFiles)
            {
                var src = Path.Combine(modelDir, name);
                if (!File.Exists(src)) continue;
                File.Copy(src, Path.Combine(outDir, name), overwrite: true);
                written.Add(name);
            }
            var vocab = Path.Combine(outDir, BertCheckpoint.VocabFile);
            if (!File.Exists(vocab)) { File.Copy(Text.Vocabulary.DefaultPath, vocab); written.Add(BertCheckpoint.VocabFile); }
        }
        written.AddRange(TokenizerFilesForExport.WriteIfMissing(outDir, config));
        return written;
    }

    /// <summary>Files of a model directory a client of the ONNX graph needs beside it.</summary>
    static readonly string[] CompanionFiles =
        { "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "README.md", "modules.json", "sentence_bert_config.json" };

    /// <summary>Checkpoint tensors by name, "bert." prefix optional, as fp32 arrays with their shapes checked.</summary>
    sealed class Weights
    {
        readonly IReadOnlyDictionary<string, Tensor> _all;
        public Weights(IReadOnlyDictionary<string, Tensor> all) => _all = all;

        Tensor? Find(string name) =>
            _all.TryGetValue(name, out var t) ? t : _all.TryGetValue("bert." + name, out t) ? t : null;

        public bool Has(string name) => Find(name) is not null;

        public Tensor Tensor(string name, params long[] shape)
        {
            var t = Find(name) ?? throw new BertLabException($"checkpoint has no tensor '{name}' (needed for the ONNX export)");
            if (!t.shape.SequenceEqual(shape))
                throw new BertLabException($"checkpoint tensor '{name}' has shape [{string.Join(", ", t.shape)}] but the config needs [{string.Join(", ", shape)}]");
            return t;
        }

        public float[] Floats(string name, params long[] shape)
        {
            using var f = Tensor(name, shape).to_type(ScalarType.Float32).cpu().contiguous();
            return f.data<float>().ToArray();
        }
    }

    /// <summary>The graph of one model, layer by layer, mirroring BertModel and the attention classes.</summary>
    sealed class GraphWriter
    {
        readonly OnnxGraphBuilder b;
        readonly BertConfig c;
        readonly Weights w;
        readonly int H, dh, D;
        readonly AttentionSpec _spec;
        // Padding masks (ATTENTION.md §1) in the shapes of PaddingMask, shared by the layers.
        GraphMasks? _masks;

        public GraphWriter(OnnxGraphBuilder builder, BertConfig config, Weights weights)
        {
            b = builder; c = config; w = weights;
            H = c.NumAttentionHeads; dh = c.HeadDim; D = c.HiddenSize;
            _spec = AttentionRegistry.Spec(c.Attention);
        }

        string Op(string op, params string[] inputs) => b.Op(op, inputs);
        string F(float v) => b.Scalar(v);

        /// <summary>A Linear (PyTorch weight [out, in]) as MatMul with the transposed weight, then the bias.</summary>
        string Linear(string x, string name, int inDim, int outDim)
        {
            var weight = w.Floats(name + ".weight", outDim, inDim);
            var t = new float[weight.Length];
            for (int o = 0; o < outDim; o++)
                for (int i = 0; i < inDim; i++) t[i * outDim + o] = weight[o * inDim + i];
            string wt = b.Initializer(name + ".weight_t", t, inDim, outDim);
            string bias = b.Initializer(name + ".bias", w.Floats(name + ".bias", outDim), outDim);
            return Op("Add", Op("MatMul", x, wt), bias);
        }

        string LayerNorm(string x, string name)
        {
            string gamma = b.Initializer(name + ".weight", w.Floats(name + ".weight", D), D);
            string beta = b.Initializer(name + ".bias", w.Floats(name + ".bias", D), D);
            return b.Op("LayerNormalization", new[] { x, gamma, beta }, OnnxAttr.Int("axis", -1), OnnxAttr.Float("epsilon", (float)c.LayerNormEps));
        }

        /// <summary>hidden_act: exact gelu (erf), the tanh approximation, or relu.</summary>
        string Act(string x) => c.HiddenAct switch
        {
            "gelu" => Op("Mul", Op("Mul", x, F(0.5f)), Op("Add", F(1f), Op("Erf", Op("Div", x, F(MathF.Sqrt(2f)))))),
            "gelu_new" or "gelu_pytorch_tanh" => Op("Mul", Op("Mul", x, F(0.5f)), Op("Add", F(1f), Op("Tanh",
                Op("Mul", F(MathF.Sqrt(2f / MathF.PI)), Op("Add", x, Op("Mul", F(0.044715f), Op("Mul", x, Op("Mul", x, x)))))))),
            "relu" => Op("Relu", x),
            _ => throw new BertLabException($"hidden_act '{c.HiddenAct}' has no ONNX export"),
        };

        public string Encoder(string ids, string mask, string types)
        {
            // Embeddings: word + position (0..S−1) + token type, LayerNorm (BertEmbeddings).
            string word = b.Initializer("embeddings.word_embeddings.weight", w.Floats("embeddings.word_embeddings.weight", c.VocabSize, D), c.VocabSize, D);
            string pos = b.Initializer("embeddings.position_embeddings.weight", w.Floats("embeddings.position_embeddings.weight", c.MaxPositionEmbeddings, D), c.MaxPositionEmbeddings, D);
            string typ = b.Initializer("embeddings.token_type_embeddings.weight", w.Floats("embeddings.token_type_embeddings.weight", c.TypeVocabSize, D), c.TypeVocabSize, D);
            string seqLen = Op("Gather", Op("Shape", ids), b.ScalarInt64(1));
            string positions = Op("Range", b.ScalarInt64(0), seqLen, b.ScalarInt64(1));
            string e = Op("Add", Op("Add", Op("Gather", word, ids), Op("Gather", pos, positions)), Op("Gather", typ, types));
            string h = LayerNorm(e, "embeddings.LayerNorm");

            _masks = GraphMasks.Of(new OnnxAttentionGraph(b, H, dh, _ => throw new InvalidOperationException(), ""), mask);

            for (int l = 0; l < c.NumHiddenLayers; l++)
            {
                string pre = $"encoder.layer.{l}.";
                string q = SplitHeads(Linear(h, pre + "attention.self.query", D, D));
                string k = SplitHeads(Linear(h, pre + "attention.self.key", D, D));
                string v = SplitHeads(Linear(h, pre + "attention.self.value", D, D));
                string ctx = Attention(q, k, v, pre + "attention.self.");
                ctx = Op("Reshape", b.Op("Transpose", new[] { ctx }, OnnxAttr.Ints("perm", 0, 2, 1, 3)), b.Int64s(0, 0, D));
                string a = LayerNorm(Op("Add", Linear(ctx, pre + "attention.output.dense", D, D), h), pre + "attention.output.LayerNorm");
                string i = Act(Linear(a, pre + "intermediate.dense", D, c.IntermediateSize));
                h = LayerNorm(Op("Add", Linear(i, pre + "output.dense", c.IntermediateSize, D), a), pre + "output.LayerNorm");
            }
            return h;
        }

        /// <summary>cls.predictions: dense, activation, LayerNorm, then the (tied) decoder and its bias.</summary>
        public string MaskedLMHead(string h)
        {
            string t = LayerNorm(Act(Linear(h, "cls.predictions.transform.dense", D, D)), "cls.predictions.transform.LayerNorm");
            string decoder = c.TieWordEmbeddings || !w.Has("cls.predictions.decoder.weight")
                ? b.Op("Transpose", new[] { "embeddings.word_embeddings.weight" }, OnnxAttr.Ints("perm", 1, 0))
                : b.Initializer("cls.predictions.decoder.weight_t", Transposed(w.Floats("cls.predictions.decoder.weight", c.VocabSize, D), c.VocabSize, D), D, c.VocabSize);
            string bias = b.Initializer("cls.predictions.bias", w.Floats("cls.predictions.bias", c.VocabSize), c.VocabSize);
            return Op("Add", Op("MatMul", t, decoder), bias);
        }

        /// <summary>BertPooler (tanh of a dense layer over the first token) then the classifier: (B, num_labels); dropout is off at inference.</summary>
        public string ClassificationHead(string h)
        {
            string first = b.Op("Gather", new[] { h, b.ScalarInt64(0) }, OnnxAttr.Int("axis", 1));
            string pooled = Op("Tanh", Linear(first, "pooler.dense", D, D));
            return Linear(pooled, "classifier", D, c.NumLabels);
        }

        static float[] Transposed(float[] m, int rows, int cols)
        {
            var t = new float[m.Length];
            for (int r = 0; r < rows; r++) for (int k = 0; k < cols; k++) t[k * rows + r] = m[r * cols + k];
            return t;
        }

        string SplitHeads(string x) =>
            b.Op("Transpose", new[] { Op("Reshape", x, b.Int64s(0, 0, H, dh)) }, OnnxAttr.Ints("perm", 0, 2, 1, 3));

        /// <summary>One self-attention call: (B,H,S,dh) Q, K, V → (B,H,S,dh) context, lowered from the layer's spec.</summary>
        string Attention(string q, string k, string v, string paramPrefix)
        {
            var graph = new OnnxAttentionGraph(b, H, dh, name => w.Tensor(paramPrefix + name, H), paramPrefix);
            return OnnxLowering.Attention(_spec, graph, _masks!, q, k, v);
        }
    }
}
