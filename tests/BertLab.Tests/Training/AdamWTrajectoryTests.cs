using System.Text.Json;
using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

/// <summary>adamw_trajectory.json: 6 AdamW steps of transformers/PyTorch (param groups, clipping, warmup + decay).</summary>
public static class TrajectoryFixture
{
    public sealed record Trajectory(double[] Losses, double[] Lrs, double[] GradNorms, Dictionary<string, double> FinalParamSums);

    public static Trajectory LoadFixture()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), "adamw_trajectory.json")));
        var r = doc.RootElement;
        double[] Arr(string k) => r.GetProperty(k).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var sums = r.GetProperty("final_param_sums").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        return new Trajectory(Arr("losses"), Arr("lrs"), Arr("grad_norms"), sums);
    }

    public static OptimizerSettings FixtureOptimizer => new()
    {
        Name = "adamw", Lr = 1e-3, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8, WeightDecay = 0.01,
        NoDecay = new() { "bias", "LayerNorm" }, ClipNorm = 1.0,
    };

    public static ScheduleSettings FixtureSchedule => new() { Name = "linear", WarmupSteps = 2 };

    public static void AssertMatches(Trajectory expected, IList<double> losses, IList<double> lrs, IList<double> norms, nn.Module model)
    {
        Assert.Equal(expected.Losses.Length, losses.Count);
        for (int i = 0; i < losses.Count; i++)
        {
            Assert.True(Math.Abs(losses[i] - expected.Losses[i]) <= 1e-5 * Math.Abs(expected.Losses[i]), $"loss {i}: {losses[i]} vs {expected.Losses[i]}");
            Assert.True(Math.Abs(lrs[i] - expected.Lrs[i]) <= 1e-12, $"lr {i}: {lrs[i]} vs {expected.Lrs[i]}");
            Assert.True(Math.Abs(norms[i] - expected.GradNorms[i]) <= 1e-5 * expected.GradNorms[i], $"grad norm {i}: {norms[i]} vs {expected.GradNorms[i]}");
        }
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(expected.FinalParamSums.Count, parameters.Count);
        foreach (var (name, sum) in expected.FinalParamSums)
        {
            double actual = parameters[name].to_type(ScalarType.Float64).sum().item<double>();
            Assert.True(Math.Abs(actual - sum) <= 1e-4 * Math.Max(1.0, Math.Abs(sum)), $"sum of {name}: {actual} vs {sum}");
        }
    }

}

public class AdamWTrajectoryTests
{
    /// <summary>Both optimiser implementations of the trainer (TorchSharp's per-tensor AdamW and the flat one) against
    /// PyTorch's trajectory: losses, learning rates, gradient norms before clipping, final parameter sums.</summary>
    [Theory]
    [InlineData("torch")]
    [InlineData("flat")]
    public void OptimizerScheduleAndClipping_ReproduceTheReference(string implementation)
    {
        using var scope = NewDisposeScope();
        var expected = TrajectoryFixture.LoadFixture();
        var g = SafetensorsFile.Load(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), "golden.safetensors"));
        var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"));
        model.train();
        var settings = TrajectoryFixture.FixtureOptimizer;
        settings.Implementation = implementation;
        using var opt = new TrainingOptimizer(model, settings, CPU);
        Assert.Equal(implementation, opt.Implementation);
        var schedule = new LrSchedule(TrajectoryFixture.FixtureSchedule, totalSteps: 6);
        var losses = new List<double>(); var lrs = new List<double>(); var norms = new List<double>();
        for (int step = 0; step < 6; step++)
        {
            double lr = settings.Lr * schedule.Factor(step);
            opt.SetLearningRate(lr);
            opt.ZeroGrad();
            var loss = model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!;
            loss.backward();
            var norm = opt.ClipGradNorm(settings.ClipNorm);
            opt.Step();
            losses.Add(loss.item<float>()); lrs.Add(lr); norms.Add(norm.item<float>());
        }
        TrajectoryFixture.AssertMatches(expected, losses, lrs, norms, model);
    }
}
