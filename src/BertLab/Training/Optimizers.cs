using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>Optimiser construction shared by the training loops.</summary>
public static class Optimizers
{
    /// <summary>
    /// BERT's parameters that take no weight decay: every bias and every LayerNorm parameter
    /// (Hugging Face names: "*.bias", "*LayerNorm*").
    /// </summary>
    public static bool IsNoDecay(string parameterName) => parameterName.EndsWith(".bias") || parameterName.Contains("LayerNorm");

    /// <summary>
    /// AdamW with decoupled weight decay (Loshchilov &amp; Hutter) on the weight matrices only: two parameter
    /// groups, <paramref name="weightDecay"/> and 0 (<see cref="IsNoDecay"/>). TorchSharp's AdamW defaults to 0 decay,
    /// so the value is always passed explicitly.
    /// </summary>
    public static AdamW AdamW(nn.Module model, double learningRate, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            (IsNoDecay(name) ? noDecay : decay).Add(p);
        }
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { LearningRate = learningRate, weight_decay = weightDecay, beta1 = beta1, beta2 = beta2, eps = eps }),
            new(noDecay, new AdamW.Options { LearningRate = learningRate, weight_decay = 0, beta1 = beta1, beta2 = beta2, eps = eps }),
        };
        return optim.AdamW(groups, learningRate, beta1, beta2, eps, weightDecay);
    }

    /// <summary>Sets the learning rate of every parameter group.</summary>
    public static void SetLearningRate(optim.Optimizer optimizer, double learningRate)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = learningRate;
    }
}
