namespace BertLab.Training;

/// <summary>The optimiser section of a run configuration.</summary>
public sealed class OptimizerSettings
{
    public static readonly string[] Names = { "adamw", "adam", "sgd" };

    /// <summary>adamw (decoupled weight decay), adam (weight decay as an L2 penalty in the gradient), sgd (with momentum).</summary>
    public string Name { get; set; } = "adamw";
    public double Lr { get; set; } = 1e-4;
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
    public double Eps { get; set; } = 1e-8;
    public double WeightDecay { get; set; } = 0.01;
    public double Momentum { get; set; } = 0.9;
    /// <summary>Parameters without weight decay: names containing any of these ("bias", "LayerNorm", and the attention
    /// scalars "scale_logit"/"p_logit" by default). An empty list decays everything.</summary>
    public List<string> NoDecay { get; set; } = new() { "bias", "LayerNorm", "scale_logit", "p_logit" };
    /// <summary>Clip the global gradient norm to this value; 0 = no clipping.</summary>
    public double ClipNorm { get; set; } = 1.0;
    /// <summary>auto (flat AdamW for adamw on every device, TorchSharp's for adam and sgd), flat (AdamW over one buffer) or torch.</summary>
    public string Implementation { get; set; } = "auto";
    public static readonly string[] Implementations = { "auto", "flat", "torch" };

    public void Validate(string path)
    {
        if (!Names.Contains(Name)) throw new BertLabException($"{path}.name: '{Name}' is not allowed; allowed: {string.Join(", ", Names)}");
        if (!(Lr > 0)) throw new BertLabException($"{path}.lr must be > 0, got {Lr}");
        if (Beta1 is < 0 or >= 1) throw new BertLabException($"{path}.beta1 must be in [0, 1), got {Beta1}");
        if (Beta2 is < 0 or >= 1) throw new BertLabException($"{path}.beta2 must be in [0, 1), got {Beta2}");
        if (!(Eps > 0)) throw new BertLabException($"{path}.eps must be > 0, got {Eps}");
        if (WeightDecay < 0) throw new BertLabException($"{path}.weight_decay must be ≥ 0, got {WeightDecay}");
        if (Momentum is < 0 or >= 1) throw new BertLabException($"{path}.momentum must be in [0, 1), got {Momentum}");
        if (!Implementations.Contains(Implementation)) throw new BertLabException($"{path}.implementation: '{Implementation}' is not allowed; allowed: {string.Join(", ", Implementations)}");
        if (ClipNorm < 0) throw new BertLabException($"{path}.clip_norm must be ≥ 0 (0 = off), got {ClipNorm}");
    }
}

/// <summary>The learning-rate schedule section of a run configuration.</summary>
public sealed class ScheduleSettings
{
    public static readonly string[] Names = { "constant", "linear", "cosine", "inverse_sqrt" };

    /// <summary>constant (after warmup), linear (warmup then linear decay to 0), cosine (warmup then cosine to min_ratio), inverse_sqrt.</summary>
    public string Name { get; set; } = "linear";
    public int WarmupSteps { get; set; } = 100;
    /// <summary>Final lr as a fraction of the peak, for cosine.</summary>
    public double MinRatio { get; set; }

    public void Validate(string path)
    {
        if (!Names.Contains(Name)) throw new BertLabException($"{path}.name: '{Name}' is not allowed; allowed: {string.Join(", ", Names)}");
        if (WarmupSteps < 0) throw new BertLabException($"{path}.warmup_steps must be ≥ 0, got {WarmupSteps}");
        if (MinRatio is < 0 or > 1) throw new BertLabException($"{path}.min_ratio must be in [0, 1], got {MinRatio}");
    }
}
