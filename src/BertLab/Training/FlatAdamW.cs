using BertLab.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>
/// AdamW over one contiguous fp32 buffer. The parameters become views into it (decay group first, then the no-decay
/// group), and their gradients views into a second buffer that backward accumulates into in place. A step is then a
/// handful of kernels over the whole model instead of ~10 per parameter tensor (BERT-base has 200: TorchSharp's AdamW
/// launches ~2,000 kernels a step, which on a GPU costs more than the arithmetic). Clipping is one norm and one multiply.
/// The update is PyTorch's AdamW (torch.optim.AdamW, single-tensor form): p ← p(1 − lr·wd);
/// m ← lerp(m, g, 1 − β₁); v ← β₂v + (1 − β₂)g²; p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
/// Nothing here reads a value back to the host on a GPU: the learning rate is a host number, the norm stays a tensor.
/// On the CPU the update is one fused pass (<see cref="FusedAdamWCpu"/>): the kernel sequence above streams the
/// 440 MB buffers of BERT-base through memory ~15 times (and allocates two buffer-sized temporaries), which made this
/// optimiser 12× slower than the per-tensor one, whose tensors partly fit in cache. Also on the CPU the gradients are
/// not views of a buffer: backward hands each parameter its gradient tensor (autograd's first accumulation takes the
/// tensor it computed instead of adding it into a zeroed view), <see cref="ZeroGrad"/> drops them (PyTorch's
/// set_to_none) and the fused pass reads them where they are. On the project's 2-core VM the zero-fill and the
/// accumulating add over BERT-base's 110 M gradients were ~3 % of a training step's CPU time. A parameter that received
/// no gradient is skipped, as torch.optim.AdamW skips it.
/// </summary>
public sealed class FlatAdamW : IDisposable
{
    readonly OptimizerSettings _s;
    readonly Tensor _params, _expAvg, _expAvgSq;
    readonly Tensor? _grads;                // on a GPU: the gradient buffer the parameters' gradients are views of
    readonly long[] _offsets;               // each parameter's offset in the buffers
    readonly long _decayCount;
    readonly bool _cpu;
    // CPU: the clipping factor ClipGradNorm found, applied to the gradients inside the next Step (one pass fewer).
    double _pendingGradScale = 1;
    public long StepCount { get; private set; }

    /// <summary>The parameters, in buffer order (decay group, then no-decay group).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    public FlatAdamW(nn.Module model, OptimizerSettings settings)
    {
        settings.Validate("optimizer");
        _s = settings;
        var (decay, noDecay) = Optimizers.Groups(model, settings);
        var all = decay.Concat(noDecay).ToList();
        if (all.Count == 0) throw new ArgumentException("FlatAdamW: the model has no trainable parameters");
        var device = all[0].device;
        foreach (var p in all)
            if (p.dtype != ScalarType.Float32 || p.device.type != device.type || p.device.index != device.index)
                throw new ArgumentException("FlatAdamW: every parameter must be fp32 on one device (move the model before creating the optimiser)");
        long total = all.Sum(p => p.numel());
        _decayCount = decay.Sum(p => p.numel());
        _cpu = device.type == DeviceType.CPU;
        _params = empty(total, ScalarType.Float32, device);
        _grads = _cpu ? null : zeros(total, ScalarType.Float32, device);
        _offsets = new long[all.Count];
        _expAvg = zeros(total, ScalarType.Float32, device);
        _expAvgSq = zeros(total, ScalarType.Float32, device);
        using (no_grad())
        {
            long offset = 0;
            for (int i = 0; i < all.Count; i++)
            {
                var p = all[i];
                long n = p.numel();
                var view = _params.narrow(0, offset, n).view(p.shape);
                view.copy_(p);
                p.set_(view);
                p.grad = _grads?.narrow(0, offset, n).view(p.shape);
                _offsets[i] = offset;
                offset += n;
            }
        }
        Parameters = all;
    }

    /// <summary>Zeroes the gradient buffer on a GPU (the parameters' gradients stay views of it: never set them to null
    /// there); on the CPU drops the gradients (the next backward creates them).</summary>
    public void ZeroGrad()
    {
        if (_grads is not null) _grads.zero_();
        else foreach (var p in Parameters) p.grad = null;
        _pendingGradScale = 1;
    }

    /// <summary>Global L2 norm of the gradients before clipping; scales them to maxNorm when above (maxNorm &gt; 0).
    /// On the CPU the scaling is not a pass of its own: the factor is applied to the gradients inside the next
    /// <see cref="Step"/> (the gradient buffer itself then keeps the unclipped values until <see cref="ZeroGrad"/>).</summary>
    public Tensor ClipGradNorm(double maxNorm)
    {
        var total = _grads is not null ? _grads.norm() : Optimizers.GlobalNorm(Parameters);
        if (maxNorm > 0)
        {
            using var coefficient = Optimizers.ClipCoefficient(total, maxNorm);
            if (_cpu) _pendingGradScale = coefficient.item<float>();
            else _grads!.mul_(coefficient);
        }
        return total;
    }

    public void Step(double? lr = null)
    {
        double rate = lr ?? _s.Lr;
        StepCount++;
        if (_cpu)
        {
            using (var gradScope = NewDisposeScope())
            {
                var grads = new (long, Tensor?)[Parameters.Count];
                for (int i = 0; i < grads.Length; i++)
                    grads[i] = (_offsets[i], Parameters[i].grad is Tensor g ? (g.is_contiguous() ? g : g.contiguous()) : null);
                FusedAdamWCpu.Step(_params, grads, _expAvg, _expAvgSq, _decayCount, rate, _s, StepCount, _pendingGradScale);
            }
            _pendingGradScale = 1;
            return;
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (_s.WeightDecay != 0 && _decayCount > 0) _params.narrow(0, 0, _decayCount).mul_(1 - rate * _s.WeightDecay);
        _expAvg.lerp_(_grads!, 1 - _s.Beta1);
        _expAvgSq.mul_(_s.Beta2).addcmul_(_grads!, _grads!, 1 - _s.Beta2);
        double bc1 = 1 - Math.Pow(_s.Beta1, StepCount);
        double bc2 = 1 - Math.Pow(_s.Beta2, StepCount);
        var denom = (_expAvgSq.sqrt() / Math.Sqrt(bc2)).add_(_s.Eps);
        _params.addcdiv_(_expAvg, denom, -rate / bc1);
    }

    /// <summary>The moments and the step count (safetensors; the parameters are saved with the model).</summary>
    public void Save(string path) => SafetensorsFile.Save(path, new Dictionary<string, Tensor>
    {
        ["exp_avg"] = _expAvg, ["exp_avg_sq"] = _expAvgSq, ["step"] = tensor(new[] { StepCount }),
    });

    public void Load(string path)
    {
        var t = SafetensorsFile.Load(path);
        foreach (var key in new[] { "exp_avg", "exp_avg_sq", "step" })
            if (!t.ContainsKey(key)) throw new BertLabException($"{path}: no '{key}' (not a flat AdamW state)");
        if (t["exp_avg"].numel() != _expAvg.numel() || t["exp_avg_sq"].numel() != _expAvgSq.numel())
            throw new BertLabException($"{path}: optimiser state for {t["exp_avg"].numel():N0} parameters, the model has {_expAvg.numel():N0}");
        using (no_grad())
        {
            _expAvg.copy_(t["exp_avg"]);
            _expAvgSq.copy_(t["exp_avg_sq"]);
        }
        StepCount = t["step"].to_type(ScalarType.Int64).item<long>();
    }

    public void Dispose()
    {
        _expAvg.Dispose(); _expAvgSq.Dispose();
        // _params and _grads stay alive through the parameters' views.
    }
}
