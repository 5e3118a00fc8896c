using System.Globalization;
using System.Text.RegularExpressions;
using BertLab.Model.Onnx.Proto;
using TorchSharp;

namespace BertLab.Model.Onnx;

/// <summary>What <see cref="OnnxBertImporter"/> read from an ONNX graph.</summary>
public sealed class OnnxBertImport
{
    public required BertConfig Config { get; init; }
    /// <summary>Hugging Face BertModel parameter name (no "bert." prefix) → fp32 tensor in PyTorch layout (Linear weights [out, in]).</summary>
    public required Dictionary<string, torch.Tensor> Weights { get; init; }
    /// <summary>Hugging Face parameter name → the ONNX initializer it came from.</summary>
    public required IReadOnlyDictionary<string, string> Sources { get; init; }
    /// <summary>Parameters that were stored transposed ([in, out]) in the graph and were transposed back.</summary>
    public required IReadOnlySet<string> Transposed { get; init; }
    /// <summary>Things a user may want to know (ignored initializers, defaults taken).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    public void Deconstruct(out BertConfig config, out Dictionary<string, torch.Tensor> weights) { config = Config; weights = Weights; }
}

/// <summary>
/// Imports a BERT exported to ONNX (e.g. by torch.onnx from a Hugging Face BertModel) into a Hugging
/// Face BertModel state dict plus its <see cref="BertConfig"/>, reading everything from the graph itself:
/// named initializers (embeddings, biases, LayerNorms, pooler) keep their names; each anonymous MatMul
/// weight takes the name of the Linear whose bias is added to that MatMul's output and is transposed
/// from ONNX's [in, out] to PyTorch's [out, in]; sizes come from the weights, the head count from the
/// attention's head-split Reshape (or the score scale), layer_norm_eps from the LayerNorm's epsilon,
/// and hidden_act from the activation's operators.
/// </summary>
public static class OnnxBertImporter
{
    const string WordEmbeddings = "embeddings.word_embeddings.weight";

    static readonly Regex ParameterName = new(
        @"^(embeddings\.(word_embeddings|position_embeddings|token_type_embeddings)\.weight" +
        @"|embeddings\.LayerNorm\.(weight|bias)" +
        @"|encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.(weight|bias)" +
        @"|encoder\.layer\.\d+\.(attention\.output|output)\.LayerNorm\.(weight|bias)" +
        @"|pooler\.dense\.(weight|bias))$", RegexOptions.CultureInvariant);

    static readonly Regex LayerIndex = new(@"^encoder\.layer\.(\d+)\.", RegexOptions.CultureInvariant);

    static readonly string[] LayerLinears =
    {
        "attention.self.query", "attention.self.key", "attention.self.value",
        "attention.output.dense", "intermediate.dense", "output.dense",
    };

    /// <summary>Reads an .onnx file; <paramref name="heads"/> is required only when the graph does not reveal the head count.</summary>
    public static (BertConfig config, Dictionary<string, torch.Tensor> weights) Import(string path, int? heads = null)
    {
        var r = ImportDetailed(path, heads);
        return (r.Config, r.Weights);
    }

    public static OnnxBertImport ImportDetailed(string path, int? heads = null)
    {
        var model = OnnxModel.Load(path);
        try { return ImportDetailed(model, heads); }
        catch (BertLabException e) { throw new BertLabException($"{path}: {e.Message}", e); }
    }

    public static OnnxBertImport ImportDetailed(OnnxModel model, int? heads = null)
    {
        if (heads is <= 0) throw new BertLabException($"--heads must be a positive integer, got {heads}");
        var g = model.Graph;
        var notes = new List<string>();

        // 1. The naming prefix (none for a BertModel export, "bert." for a task-head model).
        string? wordName = g.InitializerOrder.FirstOrDefault(n => n == WordEmbeddings || n.EndsWith("." + WordEmbeddings, StringComparison.Ordinal));
        if (wordName is null)
            throw new BertLabException(
                $"no BERT structure found in the ONNX graph: there is no initializer named '{WordEmbeddings}' " +
                $"(a Hugging Face BertModel export keeps the names of its embeddings, biases and LayerNorms); " +
                $"initializers: {Preview(g.InitializerOrder)}");
        string prefix = wordName[..^WordEmbeddings.Length];

        // 2. Named parameters.
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);   // hf name -> onnx initializer
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);  // onnx initializer -> hf name
        var transposed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in g.InitializerOrder)
        {
            var t = g.Initializers[name];
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) { if (t.IsFloatingPoint && !IsAnonymous(name)) notes.Add($"ignored initializer '{name}' (not part of the BertModel)"); continue; }
            string hf = name[prefix.Length..];
            if (!ParameterName.IsMatch(hf))
            {
                if (t.IsFloatingPoint && !IsAnonymous(name)) notes.Add($"ignored initializer '{name}' (not a BertModel parameter)");
                continue;
            }
            if (!t.IsFloatingPoint) throw new BertLabException($"initializer '{name}' has element type {t.DataType}; a BERT parameter must be floating-point");
            sources[hf] = name;
            claimed[name] = hf;
        }

        // 3. Every Linear: find its weight from the graph (anonymous MatMul initializers) and its orientation.
        var linears = sources.Keys.Where(k => k.EndsWith(".bias", StringComparison.Ordinal) && !k.Contains("LayerNorm", StringComparison.Ordinal))
            .Select(k => k[..^".bias".Length]).ToList();
        foreach (var linear in linears)
        {
            string biasInit = sources[linear + ".bias"];
            var (weightInit, storedInOut) = FindLinearWeight(g, linear, biasInit);
            if (sources.TryGetValue(linear + ".weight", out var named) && named != weightInit)
                throw new BertLabException($"Linear '{linear}': initializer '{named}' has its weight's name, but the graph multiplies by '{weightInit}' before adding '{biasInit}'");
            if (claimed.TryGetValue(weightInit, out var other) && other != linear + ".weight")
                throw new BertLabException($"initializer '{weightInit}' would be the weight of both '{other}' and '{linear}.weight'");
            sources[linear + ".weight"] = weightInit;
            claimed[weightInit] = linear + ".weight";
            if (storedInOut) transposed.Add(linear + ".weight");
        }

        foreach (var name in g.InitializerOrder)
        {
            var t = g.Initializers[name];
            if (t.IsFloatingPoint && t.Dims.Length >= 2 && !claimed.ContainsKey(name) && IsAnonymous(name))
                notes.Add($"ignored anonymous initializer '{name}' [{string.Join(",", t.Dims)}]: no Linear bias is added to its product");
        }

        // 4. Sizes.
        var word = g.Initializers[sources[WordEmbeddings]];
        if (word.Dims.Length != 2) throw new BertLabException($"'{sources[WordEmbeddings]}' must be a matrix [vocab, hidden], got [{string.Join(",", word.Dims)}]");
        int vocab = (int)word.Dims[0], hidden = (int)word.Dims[1];
        int positions = (int)Require(g, sources, "embeddings.position_embeddings.weight").Dims[0];
        int typeVocab = (int)Require(g, sources, "embeddings.token_type_embeddings.weight").Dims[0];

        var layerIds = sources.Keys.Select(k => LayerIndex.Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().OrderBy(i => i).ToList();
        if (layerIds.Count == 0) throw new BertLabException("no BERT structure found in the ONNX graph: no 'encoder.layer.N.*' parameters");
        for (int i = 0; i < layerIds.Count; i++)
            if (layerIds[i] != i) throw new BertLabException($"encoder layers are not numbered 0..{layerIds.Count - 1}: found {string.Join(", ", layerIds)}");
        int layers = layerIds.Count;
        int intermediate = (int)Require(g, sources, "encoder.layer.0.intermediate.dense.bias").Dims[0];

        // 5. Structure read from operators.
        int? graphHeads = InferHeads(g, sources, hidden, out string headsHow);
        int numHeads;
        if (heads is int given)
        {
            if (graphHeads is int found && found != given)
                throw new BertLabException($"--heads {given} contradicts the graph, which splits attention into {found} heads ({headsHow})");
            numHeads = given;
        }
        else numHeads = graphHeads ?? throw new BertLabException(
            $"cannot tell the number of attention heads from the ONNX graph (no head-split Reshape or score scale found); pass it with --heads (hidden size is {hidden})");
        if (hidden % numHeads != 0) throw new BertLabException($"hidden size {hidden} is not a multiple of {numHeads} heads");

        double? eps = InferLayerNormEps(g, sources["embeddings.LayerNorm.weight"]);
        if (eps is null) notes.Add("layer_norm_eps: no LayerNorm epsilon found in the graph; using 1e-12 (BERT's)");
        string act = InferActivation(g, sources["encoder.layer.0.intermediate.dense.bias"]);

        var config = new BertConfig
        {
            VocabSize = vocab, HiddenSize = hidden, NumHiddenLayers = layers, NumAttentionHeads = numHeads,
            IntermediateSize = intermediate, HiddenAct = act, MaxPositionEmbeddings = positions, TypeVocabSize = typeVocab,
            LayerNormEps = eps ?? 1e-12, Architectures = new List<string> { "BertModel" },
        };
        config.Validate();

        // 6. Every parameter present with the right shape.
        var expected = ExpectedShapes(config);
        bool hasPooler = sources.ContainsKey("pooler.dense.bias") || sources.ContainsKey("pooler.dense.weight");
        if (!hasPooler)
        {
            notes.Add("the graph has no pooler (pooler.dense)");
            expected.Remove("pooler.dense.weight"); expected.Remove("pooler.dense.bias");
        }
        foreach (var (name, shape) in expected)
        {
            if (!sources.TryGetValue(name, out var init))
                throw new BertLabException($"no BERT structure found in the ONNX graph: parameter '{name}' is missing (expected an initializer named '{prefix}{name}'" +
                                           (name.EndsWith(".weight") && !name.Contains("LayerNorm") && !name.Contains("embeddings") ? " or a MatMul weight whose product gets its bias)" : ")"));
            var dims = g.Initializers[init].Dims;
            if (transposed.Contains(name)) dims = dims.Reverse().ToArray();
            if (!dims.SequenceEqual(shape))
                throw new BertLabException($"parameter '{name}' (initializer '{init}') has shape [{string.Join(",", dims)}], expected [{string.Join(",", shape)}] for this configuration");
        }
        foreach (var extra in sources.Keys.Where(k => !expected.ContainsKey(k)).ToList())
            throw new BertLabException($"parameter '{extra}' does not belong to a {layers}-layer BertModel");

        // 7. Tensors (fp32, PyTorch layout).
        var weights = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in expected.Keys)
            {
                var t = g.Initializers[sources[name]].ToTorchFloat();
                if (transposed.Contains(name))
                {
                    var tt = t.t().contiguous();
                    t.Dispose();
                    t = tt;
                }
                weights[name] = t;
            }
        }
        catch
        {
            foreach (var t in weights.Values) t.Dispose();
            throw;
        }
        return new OnnxBertImport { Config = config, Weights = weights, Sources = sources, Transposed = transposed, Notes = notes };
    }

    /// <summary>Parameter name → PyTorch shape for a BertModel of this configuration (pooler included).</summary>
    public static Dictionary<string, long[]> ExpectedShapes(BertConfig c)
    {
        long h = c.HiddenSize, i = c.IntermediateSize;
        var d = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["embeddings.word_embeddings.weight"] = new[] { (long)c.VocabSize, h },
            ["embeddings.position_embeddings.weight"] = new[] { (long)c.MaxPositionEmbeddings, h },
            ["embeddings.token_type_embeddings.weight"] = new[] { (long)c.TypeVocabSize, h },
            ["embeddings.LayerNorm.weight"] = new[] { h },
            ["embeddings.LayerNorm.bias"] = new[] { h },
        };
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var lin in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                d[p + lin + ".weight"] = new[] { h, h };
                d[p + lin + ".bias"] = new[] { h };
            }
            d[p + "attention.output.LayerNorm.weight"] = new[] { h };
            d[p + "attention.output.LayerNorm.bias"] = new[] { h };
            d[p + "intermediate.dense.weight"] = new[] { i, h };
            d[p + "intermediate.dense.bias"] = new[] { i };
            d[p + "output.dense.weight"] = new[] { h, i };
            d[p + "output.dense.bias"] = new[] { h };
            d[p + "output.LayerNorm.weight"] = new[] { h };
            d[p + "output.LayerNorm.bias"] = new[] { h };
        }
        d["pooler.dense.weight"] = new[] { h, h };
        d["pooler.dense.bias"] = new[] { h };
        return d;
    }

    /// <summary>Names of the six Linear layers of an encoder layer, in Hugging Face order.</summary>
    public static IReadOnlyList<string> EncoderLinears => LayerLinears;

    static bool IsAnonymous(string name) => name.Length > 0 && name.All(char.IsAsciiDigit) || name.StartsWith("onnx::", StringComparison.Ordinal);

    static OnnxTensor Require(OnnxGraph g, Dictionary<string, string> sources, string name) =>
        sources.TryGetValue(name, out var init) ? g.Initializers[init]
            : throw new BertLabException($"no BERT structure found in the ONNX graph: parameter '{name}' is missing");

    /// <summary>
    /// The weight initializer of a Linear: the MatMul (or Gemm) whose output the bias is added to.
    /// Returns whether it is stored [in, out] (MatMul, Gemm transB=0) and so needs transposing.
    /// </summary>
    static (string init, bool storedInOut) FindLinearWeight(OnnxGraph g, string linear, string biasInit)
    {
        var users = g.Consumers(biasInit);
        if (users.Count == 0) throw new BertLabException($"Linear '{linear}': its bias '{biasInit}' is used by no node, so its MatMul cannot be found");
        var seen = new List<string>();
        foreach (var user in users)
        {
            if (user.OpType == "Gemm" && user.Inputs.Count >= 3 && user.Inputs[2] == biasInit)
            {
                bool transB = user.Attribute("transB")?.Int == 1;
                if (user.Attribute("transA")?.Int == 1) throw new BertLabException($"Linear '{linear}': Gemm '{user.Name}' transposes its input (transA=1), which a Linear does not");
                var (w, inOut) = WeightOperand(g, user.Inputs[1]);
                if (w is not null) return (w, transB ? !inOut : inOut);
                seen.Add($"Gemm '{user.Name}' whose weight operand '{user.Inputs[1]}' is not an initializer");
                continue;
            }
            if (user.OpType == "Add" && user.Inputs.Count == 2)
            {
                string other = user.Inputs[0] == biasInit ? user.Inputs[1] : user.Inputs[0];
                var mm = g.Producer(other);
                if (mm is { OpType: "MatMul" })
                {
                    var (w, inOut) = WeightOperand(g, mm.Inputs[1]);
                    if (w is not null) return (w, inOut);
                    seen.Add($"MatMul '{mm.Name}' whose second operand '{mm.Inputs[1]}' is not an initializer");
                }
                else seen.Add(mm is null ? $"Add '{user.Name}' of '{other}', which no node produces" : $"Add '{user.Name}' of the output of {mm.OpType} '{mm.Name}'");
                continue;
            }
            seen.Add($"{user.OpType} '{user.Name}'");
        }
        throw new BertLabException($"Linear '{linear}' has no matching MatMul: its bias '{biasInit}' is used by {string.Join("; ", seen)} — expected Add(bias, MatMul(x, weight)) or Gemm(x, weight, bias)");
    }

    /// <summary>An initializer used as a right-hand MatMul operand, possibly through a 2-D Transpose.</summary>
    static (string? init, bool storedInOut) WeightOperand(OnnxGraph g, string value)
    {
        if (g.Initializers.TryGetValue(value, out var t) && t.IsFloatingPoint && t.Dims.Length == 2) return (value, true);
        var p = g.Producer(value);
        if (p is { OpType: "Transpose" } && g.Initializers.TryGetValue(p.Inputs[0], out var tt) && tt.IsFloatingPoint && tt.Dims.Length == 2)
        {
            var perm = p.Attribute("perm")?.Ints;
            if (perm is null || perm.Count == 0 || perm.SequenceEqual(new long[] { 1, 0 })) return (p.Inputs[0], false);
        }
        return (null, false);
    }

    /// <summary>
    /// The head count, from the Reshape that splits query/key/value into [batch, seq, heads, head_dim]
    /// or, failing that, from the constant the attention scores are scaled by (sqrt(head_dim)).
    /// </summary>
    static int? InferHeads(OnnxGraph g, Dictionary<string, string> sources, int hidden, out string how)
    {
        foreach (var part in new[] { "query", "key", "value" })
        {
            var bias = sources.GetValueOrDefault($"encoder.layer.0.attention.self.{part}.bias");
            if (bias is null) continue;
            foreach (var add in g.Consumers(bias))
                foreach (var output in add.Outputs)
                    foreach (var reshape in g.Consumers(output).Where(n => n.OpType == "Reshape" && n.Inputs[0] == output))
                    {
                        var tail = TrailingShapeConstants(g, reshape.Inputs[1]);
                        if (tail.Count < 2) continue;
                        long h = tail[^2], d = tail[^1];
                        if (h == -1 && d > 0 && hidden % d == 0) h = hidden / d;
                        if (h > 0 && (d == -1 ? hidden % h == 0 : h * d == hidden))
                        {
                            how = $"Reshape '{reshape.Name}' of the layer-0 {part} to [..., {tail[^2]}, {tail[^1]}]";
                            return (int)h;
                        }
                    }
        }
        // Fallback: scores = (q·kᵀ) / sqrt(head_dim) or * 1/sqrt(head_dim), a few nodes before the softmax.
        foreach (var softmax in g.Nodes.Where(n => n.OpType == "Softmax"))
        {
            var queue = new Queue<(string value, int depth)>();
            queue.Enqueue((softmax.Inputs[0], 0));
            while (queue.Count > 0)
            {
                var (v, depth) = queue.Dequeue();
                var p = g.Producer(v);
                if (p is null || depth > 3 || p.OpType is not ("Add" or "Div" or "Mul")) continue;
                if (p.OpType is "Div" or "Mul")
                {
                    double? c = g.ScalarConstant(p.Inputs[1]) ?? (p.OpType == "Mul" ? g.ScalarConstant(p.Inputs[0]) : null);
                    if (c is double s && s > 0)
                    {
                        double d = p.OpType == "Div" ? s * s : 1.0 / (s * s);
                        long di = (long)Math.Round(d);
                        if (di > 0 && Math.Abs(d - di) < 1e-3 * d && hidden % di == 0)
                        {
                            how = $"{p.OpType} '{p.Name}' scales the attention scores by 1/sqrt({di})";
                            return (int)(hidden / di);
                        }
                    }
                }
                foreach (var i in p.Inputs) queue.Enqueue((i, depth + 1));
            }
        }
        how = "";
        return null;
    }

    /// <summary>The constant values at the end of a shape tensor (through Concat/Unsqueeze of constants).</summary>
    static List<long> TrailingShapeConstants(OnnxGraph g, string value)
    {
        var c = g.ConstantValue(value);
        if (c is not null) return c.DataType is OnnxDataType.Int64 or OnnxDataType.Int32 ? c.ToInt64Array().ToList() : new List<long>();
        var p = g.Producer(value);
        if (p is { OpType: "Unsqueeze" })
        {
            var inner = g.ConstantValue(p.Inputs[0]);
            return inner is { ElementCount: 1 } && inner.DataType is OnnxDataType.Int64 or OnnxDataType.Int32 ? inner!.ToInt64Array().ToList() : new List<long>();
        }
        if (p is { OpType: "Concat" })
        {
            var result = new List<long>();
            for (int i = p.Inputs.Count - 1; i >= 0; i--)
            {
                var part = TrailingShapeConstants(g, p.Inputs[i]);
                bool whole = g.ConstantValue(p.Inputs[i]) is not null || g.Producer(p.Inputs[i]) is { OpType: "Unsqueeze" } && part.Count == 1;
                result.InsertRange(0, part);
                if (!whole) break;
            }
            return result;
        }
        return new List<long>();
    }

    /// <summary>The epsilon of the LayerNorm that the given weight scales: a LayerNormalization attribute or the constant added to the variance.</summary>
    static double? InferLayerNormEps(OnnxGraph g, string lnWeightInit)
    {
        foreach (var user in g.Consumers(lnWeightInit))
        {
            if (user.OpType is "LayerNormalization" or "SkipLayerNormalization" or "EmbedLayerNormalization")
                return RoundToFloat(user.Attribute("epsilon")?.Float ?? 1e-5f); // ONNX's default epsilon
            if (user.OpType != "Mul") continue;
            // Mul(normalized, weight): normalized = Div(x - mean, Sqrt(Add(var, eps)))
            var queue = new Queue<(string value, int depth)>(user.Inputs.Where(i => i != lnWeightInit).Select(i => (i, 0)));
            while (queue.Count > 0)
            {
                var (v, depth) = queue.Dequeue();
                var p = g.Producer(v);
                if (p is null || depth > 3) continue;
                if (p.OpType == "Sqrt")
                {
                    var add = g.Producer(p.Inputs[0]);
                    if (add is { OpType: "Add" })
                        foreach (var operand in add.Inputs)
                            if (g.ScalarConstant(operand) is double eps) return RoundToFloat((float)eps);
                    continue;
                }
                if (p.OpType is "Div" or "Mul") foreach (var i in p.Inputs) queue.Enqueue((i, depth + 1));
            }
        }
        return null;
    }

    /// <summary>1e-12 stored as fp32 reads 9.99999996e-13: keep the shortest decimal that round-trips through float.</summary>
    static double RoundToFloat(float f) => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>hidden_act from the operators between the intermediate Linear and the output Linear of layer 0.</summary>
    static string InferActivation(OnnxGraph g, string intermediateBias)
    {
        var seen = new HashSet<OnnxNode>();
        var ops = new List<OnnxNode>();
        var queue = new Queue<(OnnxNode node, int depth)>(g.Consumers(intermediateBias).Select(n => (n, 0)));
        while (queue.Count > 0)
        {
            var (node, depth) = queue.Dequeue();
            if (!seen.Add(node)) continue;
            if (node.OpType is "MatMul" or "Gemm" && depth > 0) continue; // the output Linear: stop
            ops.Add(node);
            if (depth >= 10) continue;
            foreach (var o in node.Outputs) foreach (var c in g.Consumers(o)) queue.Enqueue((c, depth + 1));
        }
        var types = ops.Select(n => n.OpType).ToHashSet();
        var gelu = ops.FirstOrDefault(n => n.OpType is "Gelu" or "BiasGelu" or "FastGelu");
        if (gelu is not null)
            return gelu.OpType == "FastGelu" || gelu.Attribute("approximate")?.String == "tanh" ? "gelu_new" : "gelu";
        if (types.Contains("Erf")) return "gelu";
        if (types.Contains("Tanh")) return "gelu_new";
        if (types.Contains("Relu")) return "relu";
        throw new BertLabException(
            $"cannot tell the activation of the feed-forward layer (operators after the intermediate Linear: {string.Join(", ", ops.Select(n => n.OpType).Distinct())}); " +
            $"supported: gelu (Erf), gelu_new (Tanh), relu");
    }

    static string Preview(IReadOnlyList<string> names) =>
        names.Count == 0 ? "(none)" : string.Join(", ", names.Take(8).Select(n => $"'{n}'")) + (names.Count > 8 ? $", ... ({names.Count} in all)" : "");
}
