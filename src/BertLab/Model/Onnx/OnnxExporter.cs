using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Model.Onnx;

/// <summary>What <see cref="OnnxExporter.Export"/> wrote.</summary>
public sealed record OnnxExportReport(
    string ModelPath, string Directory, bool HasMaskedLMHead, string Attention, string AttentionForm, int Opset, long Bytes,
    IReadOnlyList<string> Outputs, IReadOnlyList<string> OperatorTypes, IReadOnlyList<string> FilesWritten);

/// <summary>
/// Writes a BertLab / Hugging Face BERT checkpoint as an ONNX graph of standard operators (opset 17): inputs input_ids,
/// attention_mask and token_type_ids (int64, dynamic batch and sequence), output last_hidden_state and, for a masked-LM
/// checkpoint, logits. The attention is BertLab's for every configuration of ATTENTION.md, masking rules included:
/// BERT's softmax with Hugging Face's semantics (padded query rows computed like the others), every other mechanism with
/// padded keys contributing nothing, padded query rows exactly 0 and n counting real tokens. Linearisable mechanisms
/// (cottention and the other dot/cosine ones without an activation) use the linear form Q'(K'ᵀV')/divisor; the others
/// the quadratic one (manhattan and lp materialise a (B, H, S, S, d) difference tensor there).
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
            var builder = Graph(config, weights, out bool mlm);
            var onnxDir = Path.Combine(outDir, OnnxFolder);
            System.IO.Directory.CreateDirectory(onnxDir);
            var path = Path.Combine(onnxDir, ModelFile);
            var tmp = path + ".tmp";
            long bytes;
            using (var file = File.Create(tmp)) bytes = WriteModel(builder, config, file);
            File.Move(tmp, path, overwrite: true);
            var written = new List<string> { Path.Combine(OnnxFolder, ModelFile) };
            written.AddRange(CopyCompanions(modelDir, outDir, config));
            var outputs = mlm ? new[] { "last_hidden_state", "logits" } : new[] { "last_hidden_state" };
            return new OnnxExportReport(path, outDir, mlm, config.Attention.Describe(), AttentionForm(config.Attention), Opset, bytes,
                outputs, builder.OpTypes.ToList(), written);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>"softmax (Hugging Face semantics)", "linear" or "quadratic": how the graph computes this attention.</summary>
    public static string AttentionForm(AttentionConfig a) =>
        AttentionRegistry.Spec(a).PaddedRows == PaddedRows.Computed ? "softmax (Hugging Face semantics)" : a.IsLinearizable ? "linear" : "quadratic";

    /// <summary>The serialized ModelProto for a configuration and its weights (Hugging Face names, with or without "bert.").</summary>
    public static byte[] Build(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, out bool hasMaskedLMHead, out OnnxGraphBuilder builder)
    {
        builder = Graph(config, weights, out hasMaskedLMHead);
        using var s = new MemoryStream();
        WriteModel(builder, config, s);
        return s.ToArray();
    }

    static long WriteModel(OnnxGraphBuilder builder, BertConfig config, Stream stream)
    {
        var version = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        var meta = new Dictionary<string, string> { ["bertlab.attention"] = config.Attention.ToJson().ToJsonString() };
        return builder.WriteTo(stream, "bertlab_bert", Opset, version, meta);
    }

    static OnnxGraphBuilder Graph(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, out bool hasMaskedLMHead)
    {
        config.Validate();
        var w = new Weights(weights);
        hasMaskedLMHead = w.Has("cls.predictions.transform.dense.weight");
        var b = new OnnxGraphBuilder();
        var g = new GraphWriter(b, config, w);
        string ids = b.Input("input_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        string mask = b.Input("attention_mask", OnnxDataType.Int64, "batch_size", "sequence_length");
        string types = b.Input("token_type_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        string h = g.Encoder(ids, mask, types);
        string D = config.HiddenSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        b.Node("Identity", new[] { h }, new[] { "last_hidden_state" });
        b.Output("last_hidden_state", OnnxDataType.Float, "batch_size", "sequence_length", D);
        if (hasMaskedLMHead)
        {
            b.Node("Identity", new[] { g.MaskedLMHead(h) }, new[] { "logits" });
            b.Output("logits", OnnxDataType.Float, "batch_size", "sequence_length", config.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
        // Padding masks (ATTENTION.md §1) in the shapes of PaddingMask.
        string _keys = "", _keysBool = "", _rows = "", _counts = "", _additive = "";

        public GraphWriter(OnnxGraphBuilder builder, BertConfig config, Weights weights)
        {
            b = builder; c = config; w = weights;
            H = c.NumAttentionHeads; dh = c.HeadDim; D = c.HiddenSize;
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

            // Masks: keys (B,1,1,S), rows (B,1,S,1), n = real tokens (B,1,1,1), softmax's additive mask (finfo.min, as Hugging Face).
            string m = b.Op("Cast", new[] { mask }, OnnxAttr.Int("to", (long)OnnxDataType.Float));
            _keys = Op("Unsqueeze", m, b.Int64s(1, 2));
            _keysBool = b.Op("Cast", new[] { _keys }, OnnxAttr.Int("to", (long)OnnxDataType.Bool));
            _rows = Op("Unsqueeze", m, b.Int64s(1, 3));
            _counts = b.Op("ReduceSum", new[] { _keys, b.Int64s(3) }, OnnxAttr.Int("keepdims", 1));
            _additive = Op("Mul", Op("Sub", F(1f), _keys), F(float.MinValue));

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

        static float[] Transposed(float[] m, int rows, int cols)
        {
            var t = new float[m.Length];
            for (int r = 0; r < rows; r++) for (int k = 0; k < cols; k++) t[k * rows + r] = m[r * cols + k];
            return t;
        }

        string SplitHeads(string x) =>
            b.Op("Transpose", new[] { Op("Reshape", x, b.Int64s(0, 0, H, dh)) }, OnnxAttr.Ints("perm", 0, 2, 1, 3));

        string KT(string k) => b.Op("Transpose", new[] { k }, OnnxAttr.Ints("perm", 0, 1, 3, 2));

        /// <summary>N(x) = x · 1/max(‖x‖₂, 1e-12) over the last axis (VectorNormalization.L2).</summary>
        string L2(string x) => Op("Mul", x, Op("Reciprocal", Op("Max",
            b.Op("ReduceL2", new[] { x }, OnnxAttr.Ints("axes", -1), OnnxAttr.Int("keepdims", 1)), F((float)VectorNormalization.Epsilon))));

        /// <summary>N₁(x) = x / max(‖x‖₁, 1e-12) (F.normalize with p = 1).</summary>
        string L1(string x) => Op("Div", x, Op("Max",
            b.Op("ReduceL1", new[] { x }, OnnxAttr.Ints("axes", -1), OnnxAttr.Int("keepdims", 1)), F((float)VectorNormalization.Epsilon)));

        /// <summary>Nₚ(x) with per-head p (1,H,1,1), in the overflow-free form of VectorNormalization.Lp.</summary>
        string Lp(string x, string p)
        {
            string abs = Op("Abs", x);
            string max = b.Op("ReduceMax", new[] { abs }, OnnxAttr.Ints("axes", -1), OnnxAttr.Int("keepdims", 1));
            string positive = Op("Greater", max, F(0f));
            string safeMax = Op("Where", positive, max, F(1f));
            string sum = b.Op("ReduceSum", new[] { Op("Pow", Op("Div", abs, safeMax), p), b.Int64s(-1) }, OnnxAttr.Int("keepdims", 1));
            string safeSum = Op("Where", positive, sum, F(1f));
            string norm = Op("Where", positive, Op("Mul", safeMax, Op("Pow", safeSum, Op("Reciprocal", p))), F(0f));
            return Op("Div", x, Op("Max", norm, F((float)VectorNormalization.Epsilon)));
        }

        /// <summary>A per-head parameter of this layer ([H]) as a (1,H,1,1) constant after <paramref name="transform"/> (computed by torch, as BertLab does).</summary>
        string HeadConstant(string name, Func<Tensor, Tensor> transform, string onnxName, int extraDims = 0)
        {
            using var scope = NewDisposeScope();
            var raw = w.Tensor(name, H).to_type(ScalarType.Float32).cpu();
            var values = transform(raw).contiguous().data<float>().ToArray();
            var dims = new List<long> { 1, H, 1, 1 };
            for (int i = 0; i < extraDims; i++) dims.Add(1);
            return b.Initializer(onnxName, values, dims.ToArray());
        }

        /// <summary>One self-attention call: (B,H,S,dh) Q, K, V → (B,H,S,dh) context.</summary>
        string Attention(string q, string k, string v, string paramPrefix)
        {
            var a = c.Attention;
            if (AttentionRegistry.Spec(a).PaddedRows == PaddedRows.Computed)
            {
                // SoftmaxAttention.Explicit: (QKᵀ)/√d + (1 − m)·finfo.min, softmax, · V. Padded query rows computed like the others.
                string scores = Op("Add", Op("Div", Op("MatMul", q, KT(k)), F(MathF.Sqrt(dh))), _additive);
                return Op("MatMul", b.Op("Softmax", new[] { scores }, OnnxAttr.Int("axis", -1)), v);
            }
            // ComposedAttention.Forward: explicit normalisation, then padded rows of Q', K', V' set to 0.
            if (a.Normalize.Contains("q")) q = L2(q);
            if (a.Normalize.Contains("k")) k = L2(k);
            if (a.Normalize.Contains("v")) v = L2(v);
            q = Op("Mul", q, _rows); k = Op("Mul", k, _rows); v = Op("Mul", v, _rows);

            string? exponent = a.Scaling == "n_pow_sigma"
                ? HeadConstant(paramPrefix + LearnedExponentScaling.ParameterName, t => t.sigmoid(), paramPrefix + "scale_exponent")
                : null;
            string? CountDivisor() => a.Scaling switch
            {
                "none" or "rowsum" => null,
                "n" => Op("Max", _counts, F(1f)),
                "sqrt_n" => Op("Sqrt", Op("Max", _counts, F(1f))),
                "n_pow_sigma" => Op("Max", Op("Pow", _counts, exponent!), F(1f)),
                _ => throw new BertLabException($"attention.scaling '{a.Scaling}' has no ONNX export"),
            };

            if (a.IsLinearizable)
            {
                // ComposedAttention.Linear: O = Q'(K'ᵀV') / divisor; a per-sequence divisor divides the d×d matrix.
                var (qf, kf) = a.Similarity == "dot" ? (Op("Div", q, F(MathF.Sqrt(dh))), k) : (L2(q), L2(k));
                string kv = Op("MatMul", KT(kf), v);
                if (a.Scaling == "rowsum")
                {
                    string ksum = b.Op("ReduceSum", new[] { kf, b.Int64s(2) }, OnnxAttr.Int("keepdims", 1));
                    string divisor = Op("Add", Op("Abs", Op("MatMul", qf, KT(ksum))), F((float)RowSumScaling.Epsilon));
                    return Op("Div", Op("MatMul", qf, kv), divisor);
                }
                string? d = CountDivisor();
                if (d is not null) kv = Op("Div", kv, d);
                return Op("MatMul", qf, kv);
            }

            // ComposedAttention.Quadratic: scores, activation with the key mask, padded query rows 0, · V, divisor.
            string scores2 = Similarity(q, k, paramPrefix);
            string attn = a.Activation switch
            {
                "softmax" => b.Op("Softmax", new[] { Op("Where", _keysBool, scores2, F(float.NegativeInfinity)) }, OnnxAttr.Int("axis", -1)),
                "relu" => Op("Mul", Op("Relu", scores2), _keys),
                "sigmoid" => Op("Mul", Op("Sigmoid", scores2), _keys),
                "none" => Op("Mul", scores2, _keys),
                _ => throw new BertLabException($"attention.activation '{a.Activation}' has no ONNX export"),
            };
            attn = Op("Mul", attn, _rows);
            string output = Op("MatMul", attn, v);
            string? div = a.Scaling == "rowsum"
                ? Op("Add", Op("Abs", b.Op("ReduceSum", new[] { attn, b.Int64s(-1) }, OnnxAttr.Int("keepdims", 1))), F((float)RowSumScaling.Epsilon))
                : CountDivisor();
            return div is null ? output : Op("Div", output, div);
        }

        /// <summary>Sim(Q', K') → (B,H,S,S), as the Similarity classes compute it.</summary>
        string Similarity(string q, string k, string paramPrefix)
        {
            var a = c.Attention;
            switch (a.Similarity)
            {
                case "dot": return Op("MatMul", Op("Div", q, F(MathF.Sqrt(dh))), KT(k));
                case "cosine": return Op("MatMul", L2(q), KT(L2(k)));
                case "euclidean":
                {
                    // 1 − ‖N(q) − N(k)‖/2 through ‖a‖² + ‖b‖² − 2a·b, clamped at 0 before the square root.
                    string na = L2(q), nb = L2(k);
                    string aa = b.Op("ReduceSum", new[] { Op("Mul", na, na), b.Int64s(-1) }, OnnxAttr.Int("keepdims", 1));
                    string bb = Op("Unsqueeze", b.Op("ReduceSum", new[] { Op("Mul", nb, nb), b.Int64s(-1) }, OnnxAttr.Int("keepdims", 0)), b.Int64s(-2));
                    string sq = Op("Sub", Op("Add", aa, bb), Op("Mul", F(2f), Op("MatMul", na, KT(nb))));
                    string dist = Op("Sqrt", Op("Max", sq, F(0f)));
                    return Op("Sub", F(1f), Op("Div", dist, F(2f)));
                }
                case "angular":
                {
                    string cos = Op("MatMul", L2(q), KT(L2(k)));
                    string angle = Op("Acos", Op("Clip", cos, F(-1f), F(1f)));
                    return Op("Sub", F(1f), Op("Div", angle, F(MathF.PI)));
                }
                case "manhattan":
                {
                    string diff = Op("Sub", Op("Unsqueeze", L1(q), b.Int64s(3)), Op("Unsqueeze", L1(k), b.Int64s(2)));   // (B,H,S,S,d)
                    string dist = b.Op("ReduceSum", new[] { Op("Abs", diff), b.Int64s(-1) }, OnnxAttr.Int("keepdims", 0));
                    return Op("Sub", F(1f), Op("Div", dist, F(2f)));
                }
                case "lp":
                {
                    string name = paramPrefix + LpSimilarity.ParameterName;
                    string p = HeadConstant(name, t => LpSimilarity.P(t).view(-1), paramPrefix + "p");
                    string p5 = HeadConstant(name, t => LpSimilarity.P(t).view(-1), paramPrefix + "p5", extraDims: 1);
                    string diff = Op("Sub", Op("Unsqueeze", Lp(q, p), b.Int64s(3)), Op("Unsqueeze", Lp(k, p), b.Int64s(2)));   // (B,H,S,S,d)
                    // BlockwiseLpDistance: m·t^{1/p} with m = max|x|, t = Σ (|x|/m)^p.
                    string abs = Op("Abs", diff);
                    string m = b.Op("ReduceMax", new[] { abs }, OnnxAttr.Ints("axes", -1), OnnxAttr.Int("keepdims", 1));
                    string r = Op("Div", abs, Op("Where", Op("Greater", m, F(0f)), m, F(1f)));
                    string t = b.Op("ReduceSum", new[] { Op("Pow", r, p5), b.Int64s(-1) }, OnnxAttr.Int("keepdims", 0));
                    string dist = Op("Mul", Op("Squeeze", m, b.Int64s(-1)), Op("Pow", t, Op("Reciprocal", p)));
                    return Op("Sub", F(1f), Op("Div", dist, F(2f)));
                }
                default: throw new BertLabException($"attention.similarity '{a.Similarity}' has no ONNX export");
            }
        }
    }
}
