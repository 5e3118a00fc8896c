using System.Globalization;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Which kernel of <see cref="AttentionKernels"/> each preset's calls would get for one run's shape, device, precision
/// and attention dropout, in training and in evaluation: printed when a run starts (summary.json then records, per
/// layer, what actually ran: batches cut shorter than S may fall on the other side of the S &gt; d rule).
/// </summary>
public static class KernelPlan
{
    /// <summary>The kernel for a call with these facts (Q, K, V in bf16 under a mixed-precision policy, fp32 otherwise).</summary>
    public static AttentionKernel For(AttentionConfig config, DeviceType device, long seqLen, long headDim, double dropout, bool training, MixedPrecision.Policy precision)
    {
        bool reduced = precision.Compute is not null;
        var call = new AttentionCall(device, precision.Compute ?? ScalarType.Float32, reduced, !reduced || precision.Fp32Residual,
            training, training ? dropout : 0, NeedProbs: false, seqLen, headDim);
        return AttentionKernels.Choose(AttentionRegistry.Spec(config), call);
    }

    /// <summary>A header and one line per preset ("preset: training kernel / evaluation kernel"), the run's own
    /// mechanism marked (or added, when it is not a plain preset).</summary>
    public static IReadOnlyList<string> Describe(AttentionConfig run, DeviceType device, long seqLen, long headDim, double dropout, MixedPrecision.Policy precision)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"attention kernels at S = {seqLen}, d = {headDim} on {device.ToString().ToLowerInvariant()}, {precision.Name}, attention dropout {dropout} (training / evaluation):"),
        };
        string runJson = run.ToJson().ToJsonString();
        bool runIsPreset = false;
        int width = Math.Max(AttentionConfig.PresetNames.Max(p => p.Length), 8);
        string Row(string name, AttentionConfig c) =>
            $"  {name.PadRight(width)}  {For(c, device, seqLen, headDim, dropout, true, precision).Name} / {For(c, device, seqLen, headDim, dropout, false, precision).Name}";
        foreach (var preset in AttentionConfig.PresetNames)
        {
            var c = AttentionConfig.FromPreset(preset);
            bool isRun = c.ToJson().ToJsonString() == runJson;
            runIsPreset |= isRun;
            lines.Add(Row(preset, c) + (isRun ? "   ← this run" : ""));
        }
        if (!runIsPreset) lines.Add(Row("this run", run) + $"   ({run.Describe()})");
        return lines;
    }
}
