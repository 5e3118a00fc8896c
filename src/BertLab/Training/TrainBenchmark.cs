using System.Diagnostics;
using BertLab.Model;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>One measured configuration of <see cref="TrainBenchmark"/>.</summary>
public sealed record TrainBenchRecord(string Model, string Attention, int SeqLen, int Batch, double StepsPerS, double TokensPerS,
    double FlopsPerToken, double AchievedTflops, double PeakTflops, double Mfu, double? PeakMb, string Device, string? Skipped = null,
    string Precision = "fp32", string Optimizer = "torch", double MsPerStep = 0, IReadOnlyDictionary<string, double>? BreakdownMs = null,
    IReadOnlyList<double>? StepMs = null);

/// <summary>
/// Masked-LM training throughput (forward, backward, AdamW step; MLM logits at masked positions only) and model FLOPs
/// utilisation against the dense matmul peak measured in the same process. FLOPs per token count the matmuls of a
/// training step (3 × forward): projections and FFN (6 × their weights), attention (softmax: 12·S·H per layer; linear
/// attention: 12·d·H per layer) and the vocabulary projection at the 15% masked positions.
/// </summary>
public sealed class TrainBenchmark
{
    public Device Device { get; init; } = CPU;
    public int WarmupSteps { get; init; } = 2;
    public int Steps { get; init; } = 4;
    /// <summary>fp32, or a bf16 mixed-precision policy (bf16 matmuls, fp32 master weights; see MixedPrecision).</summary>
    public MixedPrecision.Policy Precision { get; init; } = MixedPrecision.Fp32;
    /// <summary>optimizer.implementation as in a training run: "auto" (the trainer's default: <see cref="FlatAdamW"/> for AdamW),
    /// "flat", or "torch" (TorchSharp's per-tensor AdamW and clipping).</summary>
    public string OptimizerImplementation { get; init; } = "auto";
    bool Cuda => Device.type == DeviceType.CUDA;
    /// <summary>Also time the parts of a step on their own (forward; forward + backward; clipping + optimiser step),
    /// each synchronised at its end: where a step's time goes.</summary>
    public bool Breakdown { get; init; }

    public sealed record Case(string Model, string Attention, int SeqLen, int Batch);

    public static IReadOnlyList<Case> DefaultCases(bool cuda) => cuda
        ? new[]
        {
            new Case("base", "softmax", 128, 128), new Case("base", "cottention", 128, 128),
            new Case("base", "softmax", 512, 32), new Case("base", "cottention", 512, 32),
            new Case("base", "softmax", 4096, 4), new Case("base", "cottention", 4096, 4),
            new Case("small", "softmax", 128, 128), new Case("small", "cottention", 128, 128),
        }
        : new[]
        {
            new Case("base", "softmax", 128, 8), new Case("base", "cottention", 128, 8),
            new Case("base", "softmax", 512, 2), new Case("base", "cottention", 512, 2),
            new Case("small", "softmax", 128, 32), new Case("small", "cottention", 128, 32),
        };

    /// <summary>Dense matmul throughput (TFLOP/s) in the compute type of the run (fp32, or bf16 with mixed precision):
    /// n×n by n×n (2048 on a CPU, 8192 on a GPU), best of a few after a warm-up.</summary>
    public double MeasureMatmulPeak(int n = 0, int reps = 0)
    {
        if (n <= 0) n = Cuda ? 8192 : 2048;
        if (reps <= 0) reps = Cuda ? 10 : 5;
        return MachineSpeed.MatmulFlops(Device, Precision.Compute ?? ScalarType.Float32, n, reps) / 1e12;
    }

    void Synchronize()
    {
        if (Device.type == DeviceType.CUDA) torch.cuda.synchronize();
    }

    public static double FlopsPerToken(BertConfig c, int seqLen, double maskedShare = 0.15)
    {
        double h = c.HiddenSize, l = c.NumHiddenLayers, f = c.IntermediateSize, d = c.HeadDim;
        double dense = l * (4 * h * h + 2 * h * f);                 // Q, K, V, output + FFN weights (multiply-adds)
        double attention = c.Attention.IsLinearizable ? l * 2 * d * h : l * 2 * seqLen * h; // QKᵀ and AV per token (multiply-adds)
        double head = maskedShare * (h * h + h * c.VocabSize);       // transform + vocabulary projection at masked positions
        return 6 * (dense + attention + head);                       // 2 FLOPs per multiply-add × 3 (forward + backward)
    }

    public TrainBenchRecord Run(Case k, double peakTflops, Action<string>? progress = null)
    {
        var config = ModelPresets.Create(k.Model);
        config.Attention = Attention.AttentionConfig.FromPreset(k.Attention);
        config.HiddenDropoutProb = 0.1;
        if (k.SeqLen > config.MaxPositionEmbeddings) config.MaxPositionEmbeddings = k.SeqLen;
        torch.manual_seed(0);
        Synchronize();
        double? deviceBaseline = Cuda ? CudaMemory.UsedMb() : null;
        MemoryInfo.ResetPeak();
        double baseline = MemoryInfo.ResidentMb();
        using var model = new BertForMaskedLM(config);
        model.to(Device);
        model.train();
        using var optimizer = new TrainingOptimizer(model, new OptimizerSettings { Lr = 1e-4, Implementation = OptimizerImplementation }, Device);
        // The batch is built on the host, masked positions included (as the trainer's data path does), then moved once.
        var g = new Generator(1);
        var cpuIds = randint(1000, config.VocabSize, new long[] { k.Batch, k.SeqLen }, generator: g);
        var select = rand(new long[] { k.Batch, k.SeqLen }, generator: g) < 0.15;
        var cpuLabels = where(select, cpuIds, full_like(cpuIds, -100));
        var cpuIndex = BertForMaskedLM.MaskedPositions(cpuLabels);
        long masked = cpuIndex.shape[0];
        var maskedIndex = cpuIndex.to(Device);
        var labels = cpuLabels.to(Device);
        var inputs = where(select, full_like(cpuIds, 103), cpuIds).to(Device);
        var types = zeros_like(inputs);
        // No padding: no attention mask (as Hugging Face's benchmark), so SDPA may take its flash kernel.
        Tensor Forward()
        {
            MaskedLMOutput output;
            using (MixedPrecision.Enter(Precision))
                output = model.Forward(inputs, null, types, labels, maskedOnly: true, maskedIndex: maskedIndex);
            // the trainer's objective (one batch, no accumulation): mean MLM loss + λ · output penalty
            return TrainingObjective.MaskedLM(output.MlmLossSum!, output.Encoder.OutputPenalty, config.Attention.OutputPenalty, masked, masked).Total;
        }
        void Update()
        {
            optimizer.ClipGradNorm(1.0);
            optimizer.Step();
        }
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            Forward().backward();
            Update();
        }
        for (int i = 0; i < WarmupSteps; i++) Step();
        Synchronize();
        var sw = Stopwatch.StartNew();
        // Each step's own time on the CPU (on a GPU the steps overlap the host, and a sync per step would change that):
        // on a shared machine one slow step moves the mean, and the list shows it.
        var stepMs = Cuda ? null : new List<double>();
        for (int i = 0; i < Steps; i++)
        {
            double started = sw.Elapsed.TotalMilliseconds;
            Step();
            stepMs?.Add(Math.Round(sw.Elapsed.TotalMilliseconds - started, 1));
            if (!Cuda) progress?.Invoke($"{k.Model}/{k.Attention}/S={k.SeqLen}: step {i + 1}/{Steps}");
        }
        Synchronize();
        double seconds = sw.Elapsed.TotalSeconds / Steps;
        // The peak again, right after the timed steps: MFU is priced at the best of both readings, so a slow moment of a
        // shared machine while the peak was read before cannot flatter it (one such reading gave 324 GFLOP/s instead of
        // ~380, MFU 0.85 instead of ~0.72).
        peakTflops = Math.Max(peakTflops, MeasureMatmulPeak());
        Dictionary<string, double>? breakdown = null;
        if (Breakdown)
        {
            double Time(Action part)
            {
                Synchronize();
                var t = Stopwatch.StartNew();
                for (int i = 0; i < Steps; i++) { using var scope = NewDisposeScope(); part(); }
                Synchronize();
                return Math.Round(t.Elapsed.TotalMilliseconds / Steps, 3);
            }
            double f = Time(() => Forward());
            double fb = Time(() => { optimizer.ZeroGrad(); Forward().backward(); });
            double o = Time(Update);
            breakdown = new Dictionary<string, double> { ["forward"] = f, ["backward"] = Math.Round(fb - f, 3), ["optimizer"] = o };
        }
        double tokensPerS = k.Batch * k.SeqLen / seconds;
        double fpt = FlopsPerToken(config, k.SeqLen);
        double achieved = fpt * tokensPerS / 1e12;
        double? peakMb = Cuda
            ? (CudaMemory.UsedMb() is double used && deviceBaseline is double b0 ? Math.Round(used - b0, 1) : null)
            : Math.Round(MemoryInfo.PeakResidentMb() - baseline, 1);
        return new TrainBenchRecord(k.Model, k.Attention, k.SeqLen, k.Batch, Math.Round(1 / seconds, 4), Math.Round(tokensPerS, 1),
            Math.Round(fpt), Math.Round(achieved, 4), Math.Round(peakTflops, 4), Math.Round(achieved / peakTflops, 4), peakMb,
            Cuda ? "cuda" : "cpu", Precision: Precision.Name, Optimizer: optimizer.Implementation + "-adamw",
            MsPerStep: Math.Round(seconds * 1000, 3), BreakdownMs: breakdown, StepMs: stepMs);
    }
}
