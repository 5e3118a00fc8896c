using System.Globalization;
using System.Text.Json.Nodes;

namespace BertLab.Attention;

/// <summary>
/// One attention mechanism as a composition of the choices of ATTENTION.md §1:
/// O = Scale(Mask(Act(Sim(Q', K'))) · V'). Built from a preset name (§2) or a JSON object whose
/// "preset" field (optional) gives defaults that the other fields override.
/// </summary>
public sealed class AttentionConfig
{
    /// <summary>The allowed values, read from <see cref="AttentionRegistry"/> (the tables that also carry capabilities).</summary>
    public static string[] Similarities => AttentionRegistry.Similarities.Names.ToArray();
    public static string[] Activations => AttentionRegistry.Activations.Names.ToArray();
    public static string[] Scalings => AttentionRegistry.Scalings.Names.ToArray();
    public static string[] Normalizable => AttentionRegistry.Normalizations.Names.ToArray();

    /// <summary>The preset this configuration started from (informational; "custom" if none).</summary>
    public string Preset { get; set; } = "softmax";
    public string Similarity { get; set; } = "dot";
    public string Activation { get; set; } = "softmax";
    public string Scaling { get; set; } = "none";
    /// <summary>Rows replaced by N(row) before the similarity; cosine-family similarities imply q and k.</summary>
    public SortedSet<string> Normalize { get; set; } = new();
    /// <summary>auto: fused SDPA for softmax, the cheaper of linear/quadratic otherwise.</summary>
    public AttentionImplementation Implementation { get; set; } = AttentionImplementation.Auto;
    /// <summary>Training only: zero whole token rows of Q and K with this probability (no rescale).</summary>
    public double TokenDropout { get; set; }
    /// <summary>Weight λ of the output-magnitude penalty (mean relu(‖o‖ − ‖x‖) over layers and real tokens).</summary>
    public double OutputPenalty { get; set; }
    /// <summary>Initial p of the lp similarity (p = softplus(r) + 1e-6 equals this exactly at init).</summary>
    public double PInit { get; set; } = 2.0;
    /// <summary>Initial m_h of n_pow_sigma scaling (σ(0.5) ≈ 0.62).</summary>
    public double ScaleInit { get; set; } = 0.5;
    /// <summary>Keys per block for distance similarities (bounds the S×block×d intermediate).</summary>
    public int KeyBlock { get; set; } = 256;

    static readonly Dictionary<string, (string sim, string act, string scale, string[] norm)> PresetTable = new()
    {
        ["softmax"] = ("dot", "softmax", "none", Array.Empty<string>()),
        ["cosine"] = ("cosine", "none", "none", Array.Empty<string>()),
        ["cosine-relu"] = ("cosine", "relu", "none", Array.Empty<string>()),
        ["cosine-n"] = ("cosine", "none", "n", Array.Empty<string>()),
        ["cosine-sqrt-n"] = ("cosine", "none", "sqrt_n", Array.Empty<string>()),
        ["cottention"] = ("cosine", "none", "n_pow_sigma", Array.Empty<string>()),
        ["qkv-norm"] = ("cosine", "none", "none", new[] { "v" }),
        ["cosine-sigmoid"] = ("cosine", "sigmoid", "none", Array.Empty<string>()),
        ["cosine-softmax"] = ("cosine", "softmax", "none", Array.Empty<string>()),
        ["euclidean"] = ("euclidean", "relu", "n", Array.Empty<string>()),
        ["manhattan"] = ("manhattan", "relu", "n", Array.Empty<string>()),
        ["lp"] = ("lp", "relu", "n", Array.Empty<string>()),
        ["angular"] = ("angular", "relu", "n", Array.Empty<string>()),
    };

    public static IReadOnlyCollection<string> PresetNames => PresetTable.Keys;

    public static AttentionConfig FromPreset(string name)
    {
        if (!PresetTable.TryGetValue(name, out var p))
            throw new BertLabException($"unknown attention preset '{name}'; allowed: {string.Join(", ", PresetTable.Keys)}");
        var c = new AttentionConfig { Preset = name, Similarity = p.sim, Activation = p.act, Scaling = p.scale, Normalize = new SortedSet<string>(p.norm) };
        return c;
    }

    /// <summary>ATTENTION.md §3: no element-wise non-linearity on the matrix, so O = Q'(K'ᵀV')/divisor exists
    /// (from the registry's capabilities).</summary>
    public bool IsLinearizable => AttentionRegistry.IsLinearizable(Similarity, Activation);

    /// <summary>Softmax over dot-product scores with no scaling: the fused kernel computes it (from the registry).</summary>
    public bool CanFuse => AttentionRegistry.CanFuse(Similarity, Activation, Scaling);

    /// <summary>BERT's own attention (dot, softmax, no scaling, no normalisation), which has Hugging Face's semantics.</summary>
    public bool IsBertSoftmax => Similarity == "dot" && Activation == "softmax" && Scaling == "none" && Normalize.Count == 0;

    public string Describe()
    {
        var parts = new List<string> { $"similarity={Similarity}", $"activation={Activation}", $"scaling={Scaling}" };
        if (Normalize.Count > 0) parts.Add($"normalize={string.Join("", Normalize)}");
        if (TokenDropout > 0) parts.Add($"token_dropout={TokenDropout.ToString(CultureInfo.InvariantCulture)}");
        if (OutputPenalty > 0) parts.Add($"output_penalty={OutputPenalty.ToString(CultureInfo.InvariantCulture)}");
        if (Implementation != AttentionImplementation.Auto) parts.Add($"implementation={AttentionRegistry.Name(Implementation)}");
        return $"{Preset} ({string.Join(", ", parts)})";
    }

    public void Validate(string path)
    {
        AttentionRegistry.Similarities.Get(Similarity, path);
        AttentionRegistry.Activations.Get(Activation, path);
        AttentionRegistry.Scalings.Get(Scaling, path);
        foreach (var n in Normalize) AttentionRegistry.Normalizations.Get(n, path);
        if (TokenDropout < 0 || TokenDropout >= 1) throw new BertLabException($"{path}.token_dropout must be in [0, 1), got {TokenDropout}");
        if (OutputPenalty < 0) throw new BertLabException($"{path}.output_penalty must be ≥ 0, got {OutputPenalty}");
        if (PInit <= 1e-6) throw new BertLabException($"{path}.p_init must be > 1e-6, got {PInit}");
        if (KeyBlock < 1) throw new BertLabException($"{path}.key_block must be ≥ 1, got {KeyBlock}");
        if (Implementation == AttentionImplementation.Linear && !IsLinearizable)
            throw new BertLabException($"{path}.implementation: 'linear' needs a dot-product similarity ({DotProductSimilarities}) with activation 'none' (this is {Similarity}/{Activation})");
        if (Implementation == AttentionImplementation.Fused && !CanFuse)
            throw new BertLabException($"{path}.implementation: 'fused' needs a dot-product similarity ({DotProductSimilarities}), activation 'softmax' and scaling 'none' (this is {Similarity}/{Activation}/{Scaling})");
    }

    static string DotProductSimilarities => string.Join(", ", AttentionRegistry.Similarities.Entries.Where(e => e.IsDotProduct).Select(e => e.Name));

    static readonly string[] Keys = { "preset", "similarity", "activation", "scaling", "normalize", "implementation", "token_dropout", "output_penalty", "p_init", "scale_init", "key_block" };

    /// <summary>Reads a preset name or an object; unknown keys are errors naming the key path.</summary>
    public static AttentionConfig FromJson(JsonNode node, string path)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var name)) { var p = FromPreset(name); p.Validate(path); return p; }
        if (node is not JsonObject o) throw new BertLabException($"{path}: expected a preset name or an object");
        foreach (var (k, _) in o)
            if (!Keys.Contains(k)) throw new BertLabException($"{path}: unknown key '{k}'; allowed: {string.Join(", ", Keys)}");
        var c = o["preset"] is JsonNode pn ? FromPreset(Str(pn, path + ".preset")) : FromPreset("softmax");
        if (o["preset"] is null) c.Preset = "custom";
        if (o["similarity"] is JsonNode s) c.Similarity = Str(s, path + ".similarity");
        if (o["activation"] is JsonNode a) c.Activation = Str(a, path + ".activation");
        if (o["scaling"] is JsonNode sc) c.Scaling = Str(sc, path + ".scaling");
        if (o["implementation"] is JsonNode im) c.Implementation = AttentionRegistry.Implementations.Get(Str(im, path + ".implementation"), path);
        if (o["normalize"] is JsonNode nm)
        {
            if (nm is JsonArray arr) c.Normalize = new SortedSet<string>(arr.Select(x => Str(x!, path + ".normalize")));
            else c.Normalize = new SortedSet<string>(Str(nm, path + ".normalize").Select(ch => ch.ToString()));
        }
        if (o["token_dropout"] is JsonNode td) c.TokenDropout = Num(td, path + ".token_dropout");
        if (o["output_penalty"] is JsonNode op) c.OutputPenalty = Num(op, path + ".output_penalty");
        if (o["p_init"] is JsonNode pi) c.PInit = Num(pi, path + ".p_init");
        if (o["scale_init"] is JsonNode si) c.ScaleInit = Num(si, path + ".scale_init");
        if (o["key_block"] is JsonNode kb) c.KeyBlock = (int)Num(kb, path + ".key_block");
        c.Validate(path);
        return c;
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["preset"] = Preset,
            ["similarity"] = Similarity,
            ["activation"] = Activation,
            ["scaling"] = Scaling,
            ["normalize"] = new JsonArray(Normalize.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["implementation"] = AttentionRegistry.Name(Implementation),
            ["token_dropout"] = TokenDropout,
            ["output_penalty"] = OutputPenalty,
            ["p_init"] = PInit,
            ["scale_init"] = ScaleInit,
            ["key_block"] = KeyBlock,
        };
        return o;
    }

    public AttentionConfig Clone() => FromJson(ToJson(), "attention");

    static string Str(JsonNode n, string path) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new BertLabException($"{path} must be a string, got {n.ToJsonString()}");

    static double Num(JsonNode n, string path) =>
        JsonNumbers.TryGetDouble(n, out var d) ? d : throw new BertLabException($"{path} must be a number, got {n.ToJsonString()}");
}
