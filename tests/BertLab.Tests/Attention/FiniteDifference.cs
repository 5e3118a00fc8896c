using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>A central-difference gradient checker (TorchSharp has no torch.autograd.gradcheck). Float64 inputs.</summary>
static class FiniteDifference
{
    /// <summary>
    /// Compares the autograd gradient of the scalar <paramref name="loss"/> with (f(x+h) − f(x−h)) / 2h for every
    /// element of every input. Returns the worst |analytic − numeric| / (atol + rtol·|numeric|), ≤ 1 passes,
    /// and a description of where it happened.
    /// </summary>
    public static (double worst, string where) Check(Func<Tensor[], Tensor> loss, Tensor[] inputs, double h = 1e-6, double atol = 1e-6, double rtol = 1e-4)
    {
        var leaves = inputs.Select(t => t.detach().clone().requires_grad_()).ToArray();
        loss(leaves).backward();
        var analytic = leaves.Select(l => l.grad is null ? zeros_like(l) : l.grad.clone()).ToArray();
        double worst = 0; string where = "";
        using var _ = no_grad();
        for (int i = 0; i < leaves.Length; i++)
        {
            var flat = leaves[i].detach().clone();
            var view = flat.view(-1);
            var a = analytic[i].view(-1);
            for (long j = 0; j < view.shape[0]; j++)
            {
                double x = view[j].item<double>();
                view[j] = x + h;
                double plus = loss(Replace(leaves, i, flat)).item<double>();
                view[j] = x - h;
                double minus = loss(Replace(leaves, i, flat)).item<double>();
                view[j] = x;
                double numeric = (plus - minus) / (2 * h);
                double an = a[j].item<double>();
                double score = Math.Abs(an - numeric) / (atol + rtol * Math.Abs(numeric));
                if (double.IsNaN(an) || double.IsNaN(numeric)) score = double.PositiveInfinity;
                if (score > worst) { worst = score; where = $"input {i} element {j}: analytic {an:G6}, numeric {numeric:G6}"; }
            }
        }
        return (worst, where);
    }

    static Tensor[] Replace(Tensor[] xs, int i, Tensor with)
    {
        var copy = xs.Select(x => x.detach()).ToArray();
        copy[i] = with;
        return copy;
    }
}
