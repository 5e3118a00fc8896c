using BertLab.Attention;
using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model;

/// <summary>BertLab's BERT is the same function as Hugging Face's (transformers 5.17 golden outputs and gradients).</summary>
public class HuggingFaceGoldenTests
{
    const double Tol = 1e-5;

    static Dictionary<string, Tensor> Golden(string model, string file = "golden.safetensors") =>
        SafetensorsFile.Load(Path.Combine(Fixtures.HfModel(model), file));

    static void SetImplementation(BertConfig c, string impl) => c.Attention.Implementation = AttentionRegistry.Implementations[impl];

    [Theory]
    [InlineData("fused")]
    [InlineData("explicit")]
    public void MaskedLM_MatchesOutputsAndGradients(string impl)
    {
        using var scope = NewDisposeScope();
        var g = Golden("tiny-bert-mlm");
        var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"), adjust: c => SetImplementation(c, impl));
        model.eval();
        var output = model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"],
            new ForwardOptions { HiddenStates = true, Attentions = impl == "explicit" });
        Fixtures.AssertClose(g["output.logits"], output.Logits, Tol, "logits");
        Fixtures.AssertClose(g["output.loss"].reshape(-1), output.Loss!.reshape(-1), Tol, "loss");
        for (int i = 0; i < 3; i++)
            Fixtures.AssertClose(g[$"output.hidden_states.{i}"], output.Encoder.HiddenStates[i], Tol, $"hidden_states.{i}");
        if (impl == "explicit")
            for (int i = 0; i < 2; i++)
                Fixtures.AssertClose(g[$"output.attentions.{i}"], output.Encoder.Attentions[i], Tol, $"attentions.{i}");
        output.Loss!.backward();
        AssertGradients(model, g, () =>
        {
            var m64 = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"), adjust: c => SetImplementation(c, "explicit"));
            m64.to(ScalarType.Float64).eval();
            m64.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]).Loss!.backward();
            return m64;
        });
    }

    [Fact]
    public void MaskedLM_MaskedOnlyLogitsGiveTheSameLoss()
    {
        using var scope = NewDisposeScope();
        var g = Golden("tiny-bert-mlm");
        var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"));
        model.eval();
        var output = model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"], maskedOnly: true);
        Fixtures.AssertClose(g["output.loss"].reshape(-1), output.Loss!.reshape(-1), Tol, "loss");
        long labelled = g["input.labels"].ne(-100).sum().item<long>();
        Assert.Equal(labelled, output.Logits.shape[0]);
    }

    [Fact]
    public void MaskedLM_PairInputMatches()
    {
        using var scope = NewDisposeScope();
        var g = Golden("tiny-bert-mlm", "golden_pair.safetensors");
        Assert.True(g["input.token_type_ids"].sum().item<long>() > 0, "the pair fixture has segment B");
        foreach (var impl in new[] { "fused", "explicit" })
        {
            var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"), adjust: c => SetImplementation(c, impl));
            model.eval();
            var output = model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"]);
            Fixtures.AssertClose(g["output.logits"], output.Logits, Tol, $"pair logits ({impl})");
        }
    }

    [Theory]
    [InlineData("tiny-bert-cls3", "fused")]
    [InlineData("tiny-bert-cls3", "explicit")]
    [InlineData("tiny-bert-reg1", "fused")]
    [InlineData("tiny-bert-reg1", "explicit")]
    public void SequenceClassification_MatchesOutputsAndGradients(string name, string impl)
    {
        using var scope = NewDisposeScope();
        var g = Golden(name);
        var (model, report) = BertCheckpoint.LoadSequenceClassification(Fixtures.HfModel(name), adjust: c => SetImplementation(c, impl));
        Assert.Empty(report.NewlyInitialized);
        model.eval();
        var output = model.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"],
            new ForwardOptions { HiddenStates = true, Attentions = impl == "explicit" });
        Fixtures.AssertClose(g["output.logits"], output.Logits, Tol, "logits");
        Fixtures.AssertClose(g["output.loss"].reshape(-1), output.Loss!.reshape(-1), Tol, "loss");
        for (int i = 0; i < 3; i++)
            Fixtures.AssertClose(g[$"output.hidden_states.{i}"], output.Encoder.HiddenStates[i], Tol, $"hidden_states.{i}");
        if (impl == "explicit")
            for (int i = 0; i < 2; i++)
                Fixtures.AssertClose(g[$"output.attentions.{i}"], output.Encoder.Attentions[i], Tol, $"attentions.{i}");
        output.Loss!.backward();
        AssertGradients(model, g, () =>
        {
            var (m64, _) = BertCheckpoint.LoadSequenceClassification(Fixtures.HfModel(name), adjust: c => SetImplementation(c, "explicit"));
            m64.to(ScalarType.Float64).eval();
            var labels = g["input.labels"].is_floating_point() ? g["input.labels"].to_type(ScalarType.Float64) : g["input.labels"];
            m64.Forward(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], labels).Loss!.backward();
            return m64;
        });
    }

    /// <summary>
    /// Every parameter's gradient within 1e-5 of the reference's max-abs. A few fp32 gradients nearly cancel
    /// (e.g. the embedding LayerNorm bias under a classification loss, max-abs 1e-5): their reference carries fp32
    /// rounding error of about its own 1e-5. For those, the same model is also run in float64 (the exact value)
    /// and our fp32 gradient must be no further from the reference than twice the reference's own error.
    /// </summary>
    static void AssertGradients(nn.Module model, Dictionary<string, Tensor> g, Func<nn.Module>? float64Run = null)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var goldenGrads = g.Keys.Where(k => k.StartsWith("grad.")).ToList();
        Assert.Equal(goldenGrads.Count, parameters.Count);
        Dictionary<string, Tensor>? exact = null;
        foreach (var key in goldenGrads)
        {
            var name = key["grad.".Length..];
            Assert.True(parameters.ContainsKey(name), $"model has no parameter {name}");
            var grad = parameters[name].grad;
            Assert.NotNull(grad);
            var reference = g[key].to_type(ScalarType.Float64);
            double refMax = reference.abs().max().item<double>();
            double err = (grad!.to_type(ScalarType.Float64) - reference).abs().max().item<double>();
            if (err <= Tol * refMax) continue;
            if (refMax < 1e-9)
            {
                // Analytically zero (softmax is invariant to the key bias): both sides are rounding noise.
                Assert.True(err < 1e-9, $"grad {name} should be ~0, differs by {err:E3}");
                continue;
            }
            Assert.True(float64Run is not null, $"grad {name}: max abs error {err:E3} > {Tol:E0} × {refMax:E3}");
            exact ??= float64Run!().named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
            double refError = (exact[name] - reference).abs().max().item<double>();
            Assert.True(err <= 2 * refError && refError <= 1e-4 * refMax,
                $"grad {name}: max abs error {err:E3} > {Tol:E0} × {refMax:E3}, and the reference's own fp32 error is only {refError:E3}");
        }
    }
}
