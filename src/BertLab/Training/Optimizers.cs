using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>Builds the optimiser of a run: two parameter groups (with and without weight decay), lr set per step by the schedule.</summary>
public static class Optimizers
{
    public static (List<Parameter> decay, List<Parameter> noDecay) Groups(nn.Module model, OptimizerSettings s)
    {
        var decay = new List<Parameter>();
        var noDecay = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            (s.NoDecay.Any(pattern => name.Contains(pattern, StringComparison.Ordinal)) ? noDecay : decay).Add(p);
        }
        return (decay, noDecay);
    }

    public static OptimizerHelper Create(nn.Module model, OptimizerSettings s)
    {
        s.Validate("optimizer");
        var (decay, noDecay) = Groups(model, s);
        switch (s.Name)
        {
            case "adamw":
                return optim.AdamW(new[]
                {
                    new AdamW.ParamGroup(decay, new AdamW.Options { LearningRate = s.Lr, weight_decay = s.WeightDecay, beta1 = s.Beta1, beta2 = s.Beta2, eps = s.Eps }),
                    new AdamW.ParamGroup(noDecay, new AdamW.Options { LearningRate = s.Lr, weight_decay = 0, beta1 = s.Beta1, beta2 = s.Beta2, eps = s.Eps }),
                }, s.Lr, s.Beta1, s.Beta2, s.Eps, 0);
            case "adam":
                return optim.Adam(new[]
                {
                    new Adam.ParamGroup(decay, new Adam.Options { LearningRate = s.Lr, weight_decay = s.WeightDecay, beta1 = s.Beta1, beta2 = s.Beta2, eps = s.Eps }),
                    new Adam.ParamGroup(noDecay, new Adam.Options { LearningRate = s.Lr, weight_decay = 0, beta1 = s.Beta1, beta2 = s.Beta2, eps = s.Eps }),
                }, s.Lr, s.Beta1, s.Beta2, s.Eps, 0);
            case "sgd":
                return optim.SGD(new[]
                {
                    new SGD.ParamGroup(decay, new SGD.Options { LearningRate = s.Lr, weight_decay = s.WeightDecay, momentum = s.Momentum }),
                    new SGD.ParamGroup(noDecay, new SGD.Options { LearningRate = s.Lr, weight_decay = 0, momentum = s.Momentum }),
                }, s.Lr, s.Momentum);
            default:
                throw new BertLabException($"optimizer.name: '{s.Name}' is not allowed; allowed: {string.Join(", ", OptimizerSettings.Names)}");
        }
    }

    public static void SetLearningRate(optim.Optimizer optimizer, double lr)
    {
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
    }

    /// <summary>Global L2 norm of all gradients (before clipping), clipping in place when maxNorm &gt; 0. Stays on the device.</summary>
    public static Tensor ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = Gradients(parameters);
        if (grads.Count == 0) return tensor(0f);
        var total = Norm(grads);
        if (maxNorm > 0)
        {
            var coef = ClipCoefficient(total, maxNorm);
            using (no_grad()) foreach (var g in grads) g.mul_(coef);
        }
        return total;
    }

    /// <summary>Global L2 norm of the parameters' gradients (those that have one), as a tensor.</summary>
    public static Tensor GlobalNorm(IEnumerable<Parameter> parameters) => Norm(Gradients(parameters));

    static List<Tensor> Gradients(IEnumerable<Parameter> parameters) => parameters.Where(p => p.grad is not null).Select(p => p.grad!).ToList();

    static Tensor Norm(List<Tensor> grads) => grads.Count == 0 ? tensor(0f) : stack(grads.Select(g => g.norm()).ToArray()).norm();

    /// <summary>torch.nn.utils.clip_grad_norm_'s factor: min(1, maxNorm / (‖g‖ + 1e-6)), as a tensor (no host sync).</summary>
    public static Tensor ClipCoefficient(Tensor totalNorm, double maxNorm) => (maxNorm / (totalNorm + 1e-6)).clamp_max(1.0);
}
