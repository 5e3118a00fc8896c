using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Model;
using BertLab.Model.Onnx;
using BertLab.Tests.Attention;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace BertLab.Tests.Model;

/// <summary>
/// Every registry entry's lowerings, run: each (similarity, activation, scaling) triple, each normalisation, the presets
/// and the forced implementations, lowered to an ONNX graph of one attention layer and run by ONNX Runtime, and to the
/// Python module of a model folder (bertlab_attention.py) and run by python3-torch, against BertLab's own forward on the
/// same padded Q, K, V and parameters. An entry whose lowering is missing or computes something else fails here.
/// </summary>
public sealed class AttentionLoweringTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-lowering-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    const int B = 2, H = 2, S = 7, D = 4;
    static readonly int[] Lengths = { 7, 4 };
    const double Tolerance = 1e-4;

    /// <summary>The attention values every registry entry appears in (as JSON).</summary>
    public static IEnumerable<string> Attentions()
    {
        var all = new List<string>();
        foreach (var sim in AttentionRegistry.Similarities.Names)
            foreach (var act in AttentionRegistry.Activations.Names)
                foreach (var sc in AttentionRegistry.Scalings.Names)
                    all.Add($$"""{"similarity": "{{sim}}", "activation": "{{act}}", "scaling": "{{sc}}"}""");
        foreach (var n in AttentionRegistry.Normalizations.Names)
        {
            all.Add($$"""{"preset": "cosine-relu", "normalize": "{{n}}"}""");
            all.Add($$"""{"similarity": "dot", "activation": "none", "scaling": "n", "normalize": "{{n}}"}""");
        }
        all.AddRange(AttentionConfig.PresetNames.Select(p => $"\"{p}\""));
        // Every implementation entry (the "explicit" alias included) on every preset it may force.
        foreach (var impl in AttentionRegistry.Implementations.Names.Where(n => n != "auto"))
            foreach (var preset in AttentionConfig.PresetNames)
            {
                var c = AttentionConfig.FromPreset(preset);
                c.Implementation = AttentionRegistry.Implementations[impl];
                try { c.Validate("attention"); } catch (BertLabException) { continue; }
                all.Add($$"""{"preset": "{{preset}}", "implementation": "{{impl}}"}""");
            }
        all.Add("""{"preset": "softmax", "token_dropout": 0.1}""");
        all.Add("""{"preset": "lp", "p_init": 3.5, "scaling": "n_pow_sigma"}""");
        return all.Distinct();
    }

    public static IEnumerable<object[]> Cases() => Attentions().Select(a => new object[] { a });

    /// <summary>Q, K, V (B, H, S, d) with a padded second sequence, the parameters moved off their initial values, and
    /// BertLab's output in evaluation (through whichever kernel the table chooses).</summary>
    sealed record Case(AttentionConfig Config, Tensor Q, Tensor K, Tensor V, Tensor Mask, Dictionary<string, Tensor> Parameters, Tensor Expected);

    static Case Make(string attention, int seed)
    {
        var config = AttentionConfig.FromJson(JsonNode.Parse(attention)!, "attention");
        var mech = new AttentionMechanism(config);
        manual_seed(seed);
        // Positive offsets keep rowsum's denominators away from 0.
        var q = randn(B, H, S, D) * 0.5 + 0.5; var k = randn(B, H, S, D) * 0.5 + 0.5; var v = randn(B, H, S, D);
        var parameters = AttentionTestKit.Parameters(mech, H, ScalarType.Float32);
        var mask = AttentionTestKit.LengthMask(S, Lengths).to_type(ScalarType.Int64);
        using var _ = no_grad();
        var expected = mech.Forward(new AttentionInputs { Query = q, Key = k, Value = v, KeyMask = mask.to_type(ScalarType.Bool), Parameter = n => parameters[n] }).Output;
        return new Case(config, q, k, v, mask, parameters, expected);
    }

    static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxLowering_RunByOnnxRuntime_EqualsBertLab(string attention)
    {
        using var scope = NewDisposeScope();
        var c = Make(attention, attention.Length);
        var bytes = OnnxExporter.BuildAttention(c.Config, H, D, c.Parameters);
        using var session = new InferenceSession(bytes);
        var dims = new[] { B, H, S, D };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("query", new DenseTensor<float>(Floats(c.Q), dims)),
            NamedOnnxValue.CreateFromTensor("key", new DenseTensor<float>(Floats(c.K), dims)),
            NamedOnnxValue.CreateFromTensor("value", new DenseTensor<float>(Floats(c.V), dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(c.Mask.contiguous().data<long>().ToArray(), new[] { B, S })),
        };
        using var results = session.Run(inputs);
        var onnx = tensor(results.Single(r => r.Name == "context").AsTensor<float>().ToArray()).view(B, H, S, D);
        double err = AttentionTestKit.RelativeError(onnx, c.Expected);
        Assert.True(err <= Tolerance, $"{c.Config.Describe()} [{OnnxExporter.AttentionForm(c.Config)}]: ONNX Runtime differs from BertLab by {err:E2} (relative)");
    }

    [PythonTorchFact]
    public void PythonLowering_RunByPyTorch_EqualsBertLab_AndCreatesTheSameParameters()
    {
        using var scope = NewDisposeScope();
        var code = Path.Combine(_tmp, "code");
        Directory.CreateDirectory(code);
        ModelFiles.WriteRemoteCode(code);
        var jobs = new JsonArray();
        var cases = new List<(string Attention, Case Case, string Output)>();
        int i = 0;
        foreach (var attention in Attentions())
        {
            var c = Make(attention, attention.Length);
            string inputs = Path.Combine(_tmp, $"{i}.in.safetensors"), output = Path.Combine(_tmp, $"{i}.out.safetensors");
            var tensors = new Dictionary<string, Tensor> { ["query"] = c.Q, ["key"] = c.K, ["value"] = c.V, ["attention_mask"] = c.Mask };
            foreach (var (name, p) in c.Parameters) tensors["param." + name] = p;
            SafetensorsFile.Save(inputs, tensors);
            jobs.Add(new JsonObject { ["attention"] = c.Config.ToJson(), ["heads"] = H, ["inputs"] = inputs, ["output"] = output });
            cases.Add((attention, c, output));
            i++;
        }
        var jobsPath = Path.Combine(_tmp, "jobs.json");
        File.WriteAllText(jobsPath, jobs.ToJsonString());
        PythonTorch.Run("bertlab_attention_cases.py", [code, jobsPath]);

        // Every case is checked, and the message lists all that differ.
        var failures = new List<string>();
        foreach (var (attention, c, output) in cases)
        {
            var got = SafetensorsFile.Load(output);
            double err = AttentionTestKit.RelativeError(got["output"], c.Expected);
            if (!(err <= Tolerance)) failures.Add($"{c.Config.Describe()}: bertlab_attention.py differs from BertLab by {err:E2} (relative)");
            // The module's parameters: the same names and initial values as the mechanism's.
            var init = new AttentionMechanism(c.Config).CreateParameters(H);
            var created = got.Keys.Where(k => k.StartsWith("init.")).Select(k => k["init.".Length..]).Order().ToList();
            if (!init.Keys.Order().SequenceEqual(created))
                failures.Add($"{attention}: parameters {string.Join(", ", created)}, BertLab's {string.Join(", ", init.Keys.Order())}");
            else
                foreach (var (name, value) in init)
                    if (!got["init." + name].allclose(value, rtol: 1e-6, atol: 1e-7)) failures.Add($"{attention}: initial {name} differs");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} attentions:\n{string.Join("\n", failures)}");
    }
}
