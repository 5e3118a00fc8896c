namespace BertLab.Attention;

/// <summary>The kernel a configuration asks for ("implementation" in JSON); <see cref="Auto"/> lets the mechanism choose.</summary>
public enum AttentionImplementation { Auto, Fused, Quadratic, Linear }

/// <summary>One allowed value of an attention choice: its config name, what it can do, and how to build it.</summary>
public sealed record SimilarityEntry(string Name, Func<AttentionConfig, Similarity> Create)
{
    /// <summary>Sim(Q, K) = A·Bᵀ for row-wise A = f(Q), B = g(K) (<see cref="Similarity.DotFactors"/> exists):
    /// needed by the linear and the fused kernels.</summary>
    public bool IsDotProduct { get; init; }
    /// <summary>The similarity normalises q and k itself (an explicit "q"/"k" normalisation is then idempotent).</summary>
    public bool NormalizesQK { get; init; }
}

public sealed record ActivationEntry(string Name, Func<Activation> Create)
{
    /// <summary>Act is the identity: no element-wise non-linearity on the matrix, so the right product exists.</summary>
    public bool IsIdentity { get; init; }
    /// <summary>Act is the row softmax that scaled_dot_product_attention computes.</summary>
    public bool IsSoftmax { get; init; }
}

public sealed record ScalingEntry(string Name, Func<Scaling> Create)
{
    /// <summary>No divisor at all (the only scaling the fused kernel supports).</summary>
    public bool IsNone { get; init; }
    /// <summary>The divisor is per query row, from the row sums of the activated matrix (not one number per sequence
    /// and head): the linear cosine CPU kernel, which divides the d×d matrix, cannot apply it.</summary>
    public bool UsesRowSums { get; init; }
}

/// <summary>A vector that "normalize" may name: N(x) = x / max(‖x‖, 1e-12) of that projection before the similarity.</summary>
public sealed record NormalizationEntry(string Name, NormalizedVectors Vector);

/// <summary>A name → entry table whose keys are exactly the allowed config values, in declaration order.</summary>
public sealed class Registry<T>
{
    readonly string _key;
    readonly Dictionary<string, T> _entries = new(StringComparer.Ordinal);
    readonly List<string> _names = new();

    internal Registry(string key, IEnumerable<(string Name, T Entry)> entries)
    {
        _key = key;
        foreach (var (name, entry) in entries) { _entries.Add(name, entry); _names.Add(name); }
    }

    /// <summary>The allowed values, in declaration order.</summary>
    public IReadOnlyList<string> Names => _names;
    public IEnumerable<T> Entries => _names.Select(n => _entries[n]);
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The entry, or the one error message that lists the allowed values.</summary>
    public T this[string name] => Get(name, "attention");

    public T Get(string name, string path) => _entries.TryGetValue(name, out var e) ? e
        : throw new BertLabException($"{path}.{_key}: '{name}' is not allowed; allowed: {string.Join(", ", _names)}");
}

/// <summary>
/// The single source of truth for the attention choices of ATTENTION.md §1: every allowed similarity, activation,
/// scaling, normalisation and implementation, with the capabilities the kernels depend on. Adding a similarity is one
/// entry here (plus its class, which carries its torch forward and its ONNX and Python lowerings);
/// <see cref="AttentionConfig"/> validates against these tables and <see cref="Spec"/> builds the typed form from them.
/// </summary>
public static class AttentionRegistry
{
    public static readonly Registry<SimilarityEntry> Similarities = new("similarity", new[]
    {
        S(new("dot", _ => new DotSimilarity()) { IsDotProduct = true }),
        S(new("cosine", _ => new CosineSimilarity()) { IsDotProduct = true, NormalizesQK = true }),
        S(new("euclidean", _ => new EuclideanSimilarity())),
        S(new("manhattan", c => new ManhattanSimilarity(c.KeyBlock))),
        S(new("lp", c => new LpSimilarity(c.KeyBlock))),
        S(new("angular", _ => new AngularSimilarity())),
    });

    public static readonly Registry<ActivationEntry> Activations = new("activation", new[]
    {
        A(new("softmax", () => new SoftmaxActivation()) { IsSoftmax = true }),
        A(new("relu", () => new ElementwiseActivation("relu", t => TorchSharp.torch.nn.functional.relu(t), (g, s) => g.Relu(s), "F.relu(s)"))),
        A(new("sigmoid", () => new ElementwiseActivation("sigmoid", t => t.sigmoid(), (g, s) => g.Sigmoid(s), "torch.sigmoid(s)"))),
        A(new("none", () => new ElementwiseActivation("none", t => t, (g, s) => s, "s")) { IsIdentity = true }),
    });

    public static readonly Registry<ScalingEntry> Scalings = new("scaling", new[]
    {
        C(new("none", () => new NoScaling()) { IsNone = true }),
        C(new("n", () => new CountScaling())),
        C(new("sqrt_n", () => new SqrtCountScaling())),
        C(new("n_pow_sigma", () => new LearnedExponentScaling())),
        C(new("rowsum", () => new RowSumScaling()) { UsesRowSums = true }),
    });

    /// <summary>JSON spelling → implementation; "explicit" is the historical alias of "quadratic" (read, never written).</summary>
    public static readonly Registry<AttentionImplementation> Implementations = new("implementation", new[]
    {
        I("auto", AttentionImplementation.Auto), I("fused", AttentionImplementation.Fused), I("explicit", AttentionImplementation.Quadratic),
        I("quadratic", AttentionImplementation.Quadratic), I("linear", AttentionImplementation.Linear),
    });

    /// <summary>The vectors a "normalize" entry may name.</summary>
    public static readonly Registry<NormalizationEntry> Normalizations = new("normalize", new[]
    {
        N(new("q", NormalizedVectors.Q)), N(new("k", NormalizedVectors.K)), N(new("v", NormalizedVectors.V)),
    });

    /// <summary>The typed form of a configuration (validated first, errors naming <paramref name="path"/>): the entries it
    /// names and the parts built from them, which the kernels and the lowerings read.</summary>
    public static AttentionSpec Spec(AttentionConfig config, string path = "attention")
    {
        config.Validate(path);
        var normalize = NormalizedVectors.None;
        foreach (var n in config.Normalize) normalize |= Normalizations.Get(n, path).Vector;
        var similarity = Similarities.Get(config.Similarity, path);
        var activation = Activations.Get(config.Activation, path);
        var scaling = Scalings.Get(config.Scaling, path);
        return new AttentionSpec(similarity, similarity.Create(config), activation, activation.Create(), scaling, scaling.Create(),
            normalize, config.Implementation, config.TokenDropout);
    }

    /// <summary>The JSON spelling written for an implementation.</summary>
    public static string Name(AttentionImplementation i) => i switch
    {
        AttentionImplementation.Auto => "auto",
        AttentionImplementation.Fused => "fused",
        AttentionImplementation.Quadratic => "quadratic",
        AttentionImplementation.Linear => "linear",
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    /// <summary>ATTENTION.md §3: a dot-product similarity and no activation, so O = Q'(K'ᵀV')/divisor exists.</summary>
    public static bool IsLinearizable(string similarity, string activation) =>
        Similarities[similarity].IsDotProduct && Activations[activation].IsIdentity;

    /// <summary>Softmax over dot-product scores with no scaling: scaled_dot_product_attention computes it.</summary>
    public static bool CanFuse(string similarity, string activation, string scaling) =>
        Similarities[similarity].IsDotProduct && Activations[activation].IsSoftmax && Scalings[scaling].IsNone;

    static (string, SimilarityEntry) S(SimilarityEntry e) => (e.Name, e);
    static (string, ActivationEntry) A(ActivationEntry e) => (e.Name, e);
    static (string, ScalingEntry) C(ScalingEntry e) => (e.Name, e);
    static (string, NormalizationEntry) N(NormalizationEntry e) => (e.Name, e);
    static (string, AttentionImplementation) I(string name, AttentionImplementation value) => (name, value);
}
