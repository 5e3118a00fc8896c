namespace BertLab.Training;

/// <summary>The optimiser section of a run configuration; each initial value is its key's default, and what the keys mean and allow is in <see cref="RunConfigKeys"/>.</summary>
public sealed class OptimizerSettings
{
    public static readonly string[] Names = { "adamw", "adam", "sgd" };
    public static readonly string[] Implementations = { "auto", "flat", "torch" };

    public string Name { get; set; } = "adamw";
    public double Lr { get; set; } = 5e-4;
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
    public double Eps { get; set; } = 1e-8;
    public double WeightDecay { get; set; } = 0.01;
    public double Momentum { get; set; } = 0.9;
    /// <summary>"bias", "LayerNorm", and the attention scalars "scale_logit"/"p_logit".</summary>
    public List<string> NoDecay { get; set; } = new() { "bias", "LayerNorm", "scale_logit", "p_logit" };
    public double ClipNorm { get; set; } = 1.0;
    /// <summary>auto (flat AdamW for adamw on every device, TorchSharp's for adam and sgd), flat (AdamW over one buffer) or torch.</summary>
    public string Implementation { get; set; } = "auto";

    /// <summary>Checks every value against its key's rule (<see cref="RunConfigKeys"/>).</summary>
    public void Validate(string path) => RunConfigKeys.Validate(this, path);
}

/// <summary>The learning-rate schedule section of a run configuration; each initial value is its key's default (see <see cref="RunConfigKeys"/>).</summary>
public sealed class ScheduleSettings
{
    public static readonly string[] Names = { "constant", "linear", "cosine", "inverse_sqrt" };

    public string Name { get; set; } = "linear";
    public int WarmupSteps { get; set; } = 30;
    public double MinRatio { get; set; }

    /// <summary>Checks every value against its key's rule (<see cref="RunConfigKeys"/>).</summary>
    public void Validate(string path) => RunConfigKeys.Validate(this, path);
}
