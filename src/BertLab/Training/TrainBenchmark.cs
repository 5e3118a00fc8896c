using System.Diagnostics;
using BertLab.Model;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>One measured configuration of <see cref="TrainBenchmark"/>.</summary>
public sealed record TrainBenchRecord(string Model, string Attention, int SeqLen, int Batch, double StepsPerS, double TokensPerS,
    double FlopsPerToken, double AchievedTflops, double PeakTflops, double Mfu, double? PeakMb, string Device, string? Skipped = null);

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

    /// <summary>Dense fp32 matmul throughput (TFLOP/s): n×n by n×n, best of a few after a warm-up.</summary>
    public double MeasureMatmulPeak(int n = 2048, int reps = 5)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: Device);
        var b = randn(n, n, device: Device);
        matmul(a, b);
        Synchronize();
        double best = double.MaxValue;
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            matmul(a, b);
            Synchronize();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e12;
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
        using var model = new BertForMaskedLM(config);
        model.to(Device);
        model.train();
        var optimizer = Optimizers.Create(model, new OptimizerSettings { Lr = 1e-4 });
        var g = new Generator(1);
        var ids = randint(1000, config.VocabSize, new long[] { k.Batch, k.SeqLen }, generator: g).to(Device);
        var select = (rand(new long[] { k.Batch, k.SeqLen }, generator: g) < 0.15).to(Device);
        var labels = where(select, ids, full_like(ids, -100));
        var inputs = where(select, full_like(ids, 103), ids);
        var mask = ones_like(ids);
        var types = zeros_like(ids);
        MemoryInfo.ResetPeak();
        double baseline = MemoryInfo.ResidentMb();
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.Forward(inputs, mask, types, labels, maskedOnly: true).Loss!;
            loss.backward();
            Optimizers.ClipGradNorm(model.parameters(), 1.0);
            optimizer.step();
        }
        for (int i = 0; i < WarmupSteps; i++) Step();
        Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Steps; i++)
        {
            Step();
            progress?.Invoke($"{k.Model}/{k.Attention}/S={k.SeqLen}: step {i + 1}/{Steps}");
        }
        Synchronize();
        double seconds = sw.Elapsed.TotalSeconds / Steps;
        double tokensPerS = k.Batch * k.SeqLen / seconds;
        double fpt = FlopsPerToken(config, k.SeqLen);
        double achieved = fpt * tokensPerS / 1e12;
        double? peakMb = Device.type == DeviceType.CPU ? Math.Round(MemoryInfo.PeakResidentMb() - baseline, 1) : null;
        return new TrainBenchRecord(k.Model, k.Attention, k.SeqLen, k.Batch, Math.Round(1 / seconds, 4), Math.Round(tokensPerS, 1),
            Math.Round(fpt), Math.Round(achieved, 4), Math.Round(peakTflops, 4), Math.Round(achieved / peakTflops, 4), peakMb,
            Device.type == DeviceType.CUDA ? "cuda" : "cpu");
    }
}
