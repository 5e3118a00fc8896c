using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests;

/// <summary>Paths of the copied reference fixtures and numeric comparison helpers.</summary>
public static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures");
    public static string Path_(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());
    public static string HfModel(string name) => Path_("hf-transformers", name);

    /// <summary>Asserts max|actual − expected| ≤ rel · max|expected| (the fixtures' tolerance rule).</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rel, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.to_type(ScalarType.Float64);
        var a = actual.detach().to_type(ScalarType.Float64);
        double scale = Math.Max(e.abs().max().item<double>(), 1e-30);
        double err = (a - e).abs().max().item<double>();
        Assert.True(err <= rel * scale, $"{what}: max abs error {err:E3} > {rel:E0} × {scale:E3}");
    }
}
