using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

public class FlatAdamWTests
{
    [Fact]
    public void ParametersAndGradients_AreViewsOfTheBuffers_AndAccumulate()
    {
        using var scope = NewDisposeScope();
        var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"));
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        var opt = new FlatAdamW(model, TrajectoryFixture.FixtureOptimizer);
        // Values are kept when the parameters move into the buffer.
        foreach (var (name, p) in model.named_parameters()) Assert.True(p.eq(before[name]).all().item<bool>(), name);
        var g = SafetensorsFile.Load(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), "golden.safetensors"));
        Tensor Grad(string name) => model.named_parameters().First(p => p.name == name).parameter.grad!.clone();
        const string probe = "bert.encoder.layer.0.attention.self.query.weight";
        opt.ZeroGrad();
        model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!.backward();
        var once = Grad(probe);
        Assert.True(once.abs().sum().item<float>() > 0);
        // A second backward accumulates into the same gradient: twice the first.
        model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!.backward();
        Assert.True(Grad(probe).allclose(once * 2, rtol: 1e-5, atol: 1e-7));
        // On the CPU ZeroGrad drops the gradients (set_to_none; the next backward creates them again).
        opt.ZeroGrad();
        Assert.Null(model.named_parameters().First(p => p.name == probe).parameter.grad);
        model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!.backward();
        Assert.True(Grad(probe).allclose(once, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void Step_MatchesTorchAdamW_WithClipping_AndSkipsParametersWithoutGradient()
    {
        // The fused CPU pass over separate gradients against TorchSharp's per-tensor AdamW + clipping (the same
        // arithmetic: torch.optim.AdamW's single-tensor form), three steps, with a parameter that gets no gradient.
        using var scope = NewDisposeScope();
        var settings = new OptimizerSettings { Lr = 1e-2, WeightDecay = 0.1 };
        (nn.Module<Tensor, Tensor> model, Parameter unused) Make()
        {
            manual_seed(3);
            var m = nn.Sequential(nn.Linear(6, 5), nn.GELU(), nn.Linear(5, 4));
            var extra = new Parameter(randn(3));
            m.register_parameter("unused", extra);
            return (m, extra);
        }
        var (a, unusedA) = Make();
        var (b, unusedB) = Make();
        var flat = new FlatAdamW(a, settings);
        var reference = Optimizers.Create(b, settings);   // TorchSharp's AdamW, the same two groups (no decay on biases)
        var unusedBefore = unusedA.clone();
        manual_seed(4);
        var x = randn(7, 6) * 3;
        for (int step = 0; step < 3; step++)
        {
            flat.ZeroGrad();
            a.forward(x).pow(2).sum().backward();
            var normA = flat.ClipGradNorm(1.0).item<float>();
            flat.Step();
            reference.zero_grad();
            b.forward(x).pow(2).sum().backward();
            var normB = Optimizers.ClipGradNorm(b.parameters(), 1.0).item<float>();
            reference.step();
            Assert.Equal(normB, normA, normB * 1e-5f);
            Assert.True(normA > 1.0, "the gradients must be large enough to be clipped");
        }
        foreach (var ((name, pa), (_, pb)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(pa.allclose(pb, rtol: 1e-5, atol: 1e-6), $"{name}: {(pa - pb).abs().max().item<float>()}");
        Assert.True(unusedA.eq(unusedBefore).all().item<bool>(), "a parameter without gradient is left alone");
        Assert.True(unusedB.eq(unusedBefore).all().item<bool>());
    }

    [Fact]
    public void RejectsParametersThatAreNotFp32()
    {
        using var scope = NewDisposeScope();
        var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"));
        model.to(ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => new FlatAdamW(model, TrajectoryFixture.FixtureOptimizer));
    }
}
