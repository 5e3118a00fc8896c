namespace BertLab.Training;

/// <summary>Hyper-parameters of <see cref="FineTuner"/>; the defaults follow BERT's GLUE recipe (Devlin et al. 2019, appendix A.3).</summary>
public sealed class FineTuneOptions
{
    public int Epochs { get; set; } = 3;
    /// <summary>Peak learning rate of AdamW.</summary>
    public double LearningRate { get; set; } = 2e-5;
    public int BatchSize { get; set; } = 32;
    public int EvalBatchSize { get; set; } = 64;
    /// <summary>Tokens per example including [CLS]/[SEP]; longer inputs are truncated (longest-first for pairs).</summary>
    public int MaxLength { get; set; } = 128;
    /// <summary>Decoupled weight decay on weight matrices (not on biases and LayerNorm).</summary>
    public double WeightDecay { get; set; } = 0.01;
    /// <summary>Fraction of all steps spent warming the learning rate up from 0.</summary>
    public double WarmupRatio { get; set; } = 0.1;
    /// <summary>Gradient-norm clipping; 0 turns it off.</summary>
    public double MaxGradNorm { get; set; } = 1.0;
    /// <summary>Seeds to run; each fixes initialisation of the head, dropout and data order. Results report the median.</summary>
    public IReadOnlyList<int> Seeds { get; set; } = new[] { 1 };
    /// <summary>Use at most this many training examples (the first ones); 0 = all. For quick runs.</summary>
    public int MaxTrainExamples { get; set; }
    /// <summary>Write the fine-tuned model (best seed, best epoch) to the output folder.</summary>
    public bool SaveModel { get; set; } = true;
    /// <summary>Report progress every this many optimiser steps.</summary>
    public int LogEvery { get; set; } = 50;

    /// <summary>Seeds 1..count (<c>--seeds count</c>); checked here, the one rule for the count.</summary>
    public static IReadOnlyList<int> SeedRange(int count) =>
        count >= 1 ? Enumerable.Range(1, count).ToArray() : throw new BertLabException($"--seeds must be at least 1, got {count}");

    public void Validate()
    {
        if (Epochs < 1) throw new BertLabException($"--epochs must be at least 1, got {Epochs}");
        if (!(LearningRate > 0)) throw new BertLabException($"--lr must be positive, got {LearningRate}");
        if (BatchSize < 1) throw new BertLabException($"--batch-size must be at least 1, got {BatchSize}");
        if (EvalBatchSize < 1) throw new BertLabException($"evaluation batch size must be at least 1, got {EvalBatchSize}");
        if (MaxLength < 3) throw new BertLabException($"--max-length must be at least 3 ([CLS] x [SEP]), got {MaxLength}");
        if (WeightDecay < 0) throw new BertLabException($"weight decay must not be negative, got {WeightDecay}");
        if (WarmupRatio is < 0 or >= 1) throw new BertLabException($"warm-up ratio must be in [0, 1), got {WarmupRatio}");
        if (Seeds.Count < 1) throw new BertLabException("fine-tuning needs at least one seed");
        if (Seeds.Distinct().Count() != Seeds.Count) throw new BertLabException("seeds must differ");
    }
}
