namespace BertLab.Tests.Model.Onnx;

/// <summary>
/// A small BERT-shaped ONNX graph written the way torch.onnx exports a Hugging Face BertModel (named
/// embeddings/biases/LayerNorms, anonymous numbered MatMul weights stored [in, out]), with switches for
/// the variants the importer must handle. The graph is only read structurally, never executed.
/// </summary>
public sealed class TinyBertOnnx
{
    public const int Hidden = 8, Heads = 2, HeadDim = 4, Intermediate = 16, Vocab = 10, Positions = 6, TypeVocab = 2;
    public int Layers { get; init; } = 2;
    public string Prefix { get; init; } = "";
    /// <summary>"concat" (Shape/Gather/Unsqueeze + constants, as torch exports), "constant" ([0,0,heads,dim]) or "none".</summary>
    public string HeadSplit { get; init; } = "concat";
    public bool ScaleScores { get; init; } = true;
    /// <summary>"erf", "tanh", "relu", "gelu-op", "sigmoid".</summary>
    public string Activation { get; init; } = "erf";
    /// <summary>"decomposed" (ReduceMean/Sub/Pow/Add eps/Sqrt/Div) or "op" (LayerNormalization).</summary>
    public string LayerNorm { get; init; } = "decomposed";
    public float Epsilon { get; init; } = 1e-12f;
    /// <summary>A Linear (e.g. "encoder.layer.1.intermediate.dense") whose bias is multiplied instead of added.</summary>
    public string? BrokenLinear { get; init; }
    public bool Pooler { get; init; } = true;
    public bool OmitWordEmbeddings { get; init; }

    /// <summary>Hugging Face name → the anonymous ONNX initializer holding that (transposed) Linear weight.</summary>
    public Dictionary<string, string> AnonymousWeights { get; } = new();

    public byte[] Build()
    {
        var b = new OnnxBuilder();
        int next = 900;
        string Anon() => (next++).ToString();
        string P(string n) => Prefix + n;

        b.Input("input_ids"); b.Input("attention_mask"); b.Input("token_type_ids");
        string word = OmitWordEmbeddings ? b.Float("embedding.table", new long[] { Vocab, Hidden }) : b.Float(P("embeddings.word_embeddings.weight"), new long[] { Vocab, Hidden });
        string pos = b.Float(P("embeddings.position_embeddings.weight"), new long[] { Positions, Hidden });
        string typ = b.Float(P("embeddings.token_type_embeddings.weight"), new long[] { TypeVocab, Hidden });
        b.Int64(P("embeddings.position_ids"), 0, 1, 2, 3, 4, 5);
        string x = b.Op("Add", b.Op("Gather", word, "input_ids"), b.Op("Gather", typ, "token_type_ids"));
        x = b.Op("Add", x, b.Op("Gather", pos, P("embeddings.position_ids")));
        x = Norm(b, x, P("embeddings.LayerNorm"));
        string mask = b.Op("Mul", b.Op("Sub", b.ConstFloat(1f), b.Op("Cast", new[] { "attention_mask" }, OnnxBuilder.IntAttr("to", 1))), b.ConstFloat(-10000f));

        for (int l = 0; l < Layers; l++)
        {
            string pre = $"encoder.layer.{l}.";
            string Linear(string input, string linear, long inDim, long outDim)
            {
                string w = b.Float(Anon(), new[] { inDim, outDim });
                AnonymousWeights[pre + linear + ".weight"] = w;
                string bias = b.Float(P(pre + linear + ".bias"), new[] { outDim });
                string mm = b.Op("MatMul", input, w);
                return pre + linear == BrokenLinear ? b.Op("Mul", bias, mm) : b.Op("Add", bias, mm);
            }
            string q = Split(b, Linear(x, "attention.self.query", Hidden, Hidden));
            string k = Split(b, Linear(x, "attention.self.key", Hidden, Hidden));
            string v = Split(b, Linear(x, "attention.self.value", Hidden, Hidden));
            string scores = b.Op("MatMul", q, b.Op("Transpose", new[] { k }, OnnxBuilder.IntsAttr("perm", 0, 1, 3, 2)));
            if (ScaleScores) scores = b.Op("Div", scores, b.ConstFloat(MathF.Sqrt(HeadDim)));
            string probs = b.Op("Softmax", new[] { b.Op("Add", scores, mask) }, OnnxBuilder.IntAttr("axis", -1));
            string ctx = b.Op("Transpose", new[] { b.Op("MatMul", probs, v) }, OnnxBuilder.IntsAttr("perm", 0, 2, 1, 3));
            ctx = b.Op("Reshape", ctx, b.Int64(Anon(), 0, 0, Hidden));
            string attn = Norm(b, b.Op("Add", Linear(ctx, "attention.output.dense", Hidden, Hidden), x), P(pre + "attention.output.LayerNorm"));
            string h = Linear(attn, "intermediate.dense", Hidden, Intermediate);
            h = Activation switch
            {
                "erf" => b.Op("Mul", b.Op("Mul", h, b.Op("Add", b.Op("Erf", b.Op("Div", h, b.ConstFloat(1.4142135f))), b.ConstFloat(1f))), b.ConstFloat(0.5f)),
                "tanh" => b.Op("Mul", h, b.Op("Add", b.Op("Tanh", b.Op("Mul", h, b.ConstFloat(0.79788456f))), b.ConstFloat(1f))),
                "relu" => b.Op("Relu", h),
                "gelu-op" => b.Op("Gelu", new[] { h }, new ProtoWriter().String(1, "approximate").String(4, "tanh").Int(20, 3)),
                "sigmoid" => b.Op("Mul", h, b.Op("Sigmoid", b.Op("Mul", h, b.ConstFloat(1.702f)))),
                _ => throw new ArgumentException(Activation),
            };
            x = Norm(b, b.Op("Add", Linear(h, "output.dense", Intermediate, Hidden), attn), P(pre + "output.LayerNorm"));
        }
        b.Node("Identity", new[] { x }, new[] { "last_hidden_state" });
        b.Output("last_hidden_state");
        if (Pooler)
        {
            string first = b.Op("Gather", new[] { x, b.Int64(Anon(), 0) }, OnnxBuilder.IntAttr("axis", 1));
            string pooled = b.Op("Gemm", new[] { first, b.Float(P("pooler.dense.weight"), new long[] { Hidden, Hidden }), b.Float(P("pooler.dense.bias"), new long[] { Hidden }) },
                OnnxBuilder.IntAttr("transB", 1));
            b.Node("Tanh", new[] { pooled }, new[] { "pooler_output" });
            b.Output("pooler_output");
        }
        return b.Build();

        string Split(OnnxBuilder g, string t)
        {
            string shape = HeadSplit switch
            {
                "concat" => g.Op("Concat", new[]
                {
                    g.Op("Unsqueeze", g.Op("Gather", new[] { g.Op("Shape", t), g.Int64(Anon(), 0) }, OnnxBuilder.IntAttr("axis", 0)), g.Int64(Anon(), 0)),
                    g.Op("Unsqueeze", g.Op("Gather", new[] { g.Op("Shape", t), g.Int64(Anon(), 1) }, OnnxBuilder.IntAttr("axis", 0)), g.Int64(Anon(), 0)),
                    g.Int64(Anon(), Heads), g.Int64(Anon(), HeadDim),
                }, OnnxBuilder.IntAttr("axis", 0)),
                "constant" => g.Int64(Anon(), 0, 0, Heads, HeadDim),
                "none" => g.Op("Concat", new[] { g.Op("Shape", t), g.Op("Shape", t) }, OnnxBuilder.IntAttr("axis", 0)),
                _ => throw new ArgumentException(HeadSplit),
            };
            return g.Op("Transpose", new[] { g.Op("Reshape", t, shape) }, OnnxBuilder.IntsAttr("perm", 0, 2, 1, 3));
        }
    }

    string Norm(OnnxBuilder b, string x, string name)
    {
        string w = b.Float(name + ".weight", new long[] { Hidden });
        string bias = b.Float(name + ".bias", new long[] { Hidden });
        if (LayerNorm == "op")
            return b.Op("LayerNormalization", new[] { x, w, bias }, OnnxBuilder.FloatAttr("epsilon", Epsilon), OnnxBuilder.IntAttr("axis", -1));
        string centered = b.Op("Sub", x, b.Op("ReduceMean", new[] { x }, OnnxBuilder.IntsAttr("axes", -1)));
        string variance = b.Op("ReduceMean", new[] { b.Op("Pow", centered, b.ConstFloat(2f)) }, OnnxBuilder.IntsAttr("axes", -1));
        string normed = b.Op("Div", centered, b.Op("Sqrt", b.Op("Add", variance, b.ConstFloat(Epsilon))));
        return b.Op("Add", b.Op("Mul", normed, w), bias);
    }

    public string WriteTo(string dir)
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"tiny-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, Build());
        return path;
    }
}
