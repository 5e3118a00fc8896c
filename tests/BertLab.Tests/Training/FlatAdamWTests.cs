using BertLab.Model;
using BertLab.Training;
using TorchSharp;
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
        // A second backward accumulates into the same (view) gradient: twice the first.
        model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!.backward();
        Assert.True(Grad(probe).allclose(once * 2, rtol: 1e-5, atol: 1e-7));
        opt.ZeroGrad();
        Assert.Equal(0f, Grad(probe).abs().sum().item<float>());
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
