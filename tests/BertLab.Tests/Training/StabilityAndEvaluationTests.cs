using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Data;
using BertLab.Tests.Data;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

/// <summary>Issue 17 items 2–3: the stability monitor's rules on hand-written sequences, the attention statistics on a
/// hand-built output, the unigram baseline by hand, fixed validation masks, checkpoints only before a runaway.</summary>
public class StabilityAndEvaluationTests : IDisposable
{
    readonly string _tmp = DataTestSupport.TempDir();
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    [Fact]
    public void ReturnToUniform_AfterHavingLearned_IsDivergence()
    {
        double lnV = Math.Log(1000); // 6.9078
        var m = new StabilityMonitor(1000, warmupSteps: 0);
        Assert.Null(m.Observe(1, lnV, 1));
        Assert.Null(m.Observe(2, 6.2, 1));
        Assert.Null(m.Observe(3, 5.8, 1));   // 1.1 nat below ln V: it learned
        Assert.Null(m.Observe(4, 5.5, 1));
        Assert.Null(m.Observe(5, 6.6, 1));   // a spike (> 5.5 + 1) but not yet back at ln V
        Assert.False(m.Healthy);
        Assert.Equal(5, m.UnhealthySince);
        var why = m.Observe(6, lnV - 0.05, 1);
        Assert.NotNull(why);
        Assert.Contains("ln V", why);

        // never 1 nat below ln V: a loss at ln V is not a return
        var flat = new StabilityMonitor(1000, 0);
        foreach (var (loss, step) in new[] { lnV, 6.5, 6.0, lnV }.Select((l, i) => (l, i + 1))) Assert.Null(flat.Observe(step, loss, 1));

        // with patience 2, one step near ln V is not enough
        var patient = new StabilityMonitor(1000, 0, patience: 2);
        Assert.Null(patient.Observe(1, 5.0, 1));
        Assert.Null(patient.Observe(2, lnV, 1));
        Assert.Null(patient.Observe(3, 5.2, 1));
        Assert.Null(patient.Observe(4, lnV, 1));
        Assert.NotNull(patient.Observe(5, lnV, 1));
    }

    [Fact]
    public void Runaway_IsALossAboveFactorTimesItsLowestRunningMean_ForPatienceSteps()
    {
        // factor 3, patience 2: the exponential mean (0.95·m + 0.05·loss) settles at 1.0 over the first steps; a loss of 3.5
        // is above 3 × 1.0; one such step is not enough, two in a row are
        var m = new StabilityMonitor(1000, warmupSteps: 0, patience: 2, divergenceFactor: 3.0);
        for (int step = 1; step <= 6; step++) Assert.Null(m.Observe(step, 1.0, 1));
        Assert.Null(m.Observe(7, 3.5, 1));
        Assert.Equal(1, m.Guard.Above);
        Assert.Null(m.Observe(8, 1.0, 1));          // back below: the count starts again
        Assert.Equal(0, m.Guard.Above);
        Assert.Null(m.Observe(9, 3.5, 1));
        var why = m.Observe(10, 3.5, 1);
        Assert.NotNull(why);
        Assert.StartsWith("at step 10: loss 3.5 stayed above 3× its lowest running mean (1)", why);
        // the exponential mean by hand: 1.0 for six steps, then 3.5, 1.0, 3.5, 3.5
        double ema = 1.0;
        foreach (var l in new[] { 3.5, 1.0, 3.5, 3.5 }) ema = 0.95 * ema + 0.05 * l;
        Assert.Equal(ema, m.Guard.Ema, 12);
        Assert.Equal(10, m.Guard.Seen);
        Assert.Equal(1.0, m.Guard.MinEma);
    }

    [Fact]
    public void NonFiniteLossOrNorm_EndsTheRunAtOnce_BeforeAnyOtherRule()
    {
        var m = new StabilityMonitor(1000, warmupSteps: 0, patience: 3, divergenceFactor: 3.0);
        Assert.Null(m.Observe(1, 5.0, 1));
        Assert.StartsWith("non-finite value at step 2: loss is ", m.Observe(2, double.NaN, 1));
        Assert.StartsWith("non-finite value at step 2: gradient norm is ", m.Observe(2, 5.0, double.PositiveInfinity));
        Assert.Equal(1, m.Guard.Seen);              // a non-finite step reaches no other rule
        Assert.Single(m.State.GradNorms);
    }

    [Fact]
    public void TheBestValidation_IsTheLowestLossSoFar()
    {
        var m = new StabilityMonitor(1000, 0);
        Assert.Equal(-1, m.BestValidationStep);
        m.OfferValidation(5.0, 10);
        m.OfferValidation(4.0, 20);
        m.OfferValidation(4.5, 30);
        m.OfferValidation(4.0, 40);                 // not lower: the earlier step stays the best
        Assert.Equal(20, m.BestValidationStep);
        Assert.Equal(4.0, m.Guard.BestValLoss);
    }

    [Fact]
    public void LossAndGradientSpikes_AreCountedAndListedByStep()
    {
        var m = new StabilityMonitor(30522, 0);
        double[] losses = [10, 9, 8, 7.5, 8.6, 8.7, 7.4, 7.3, 8.31, 7.2, 7.1, 7.0];
        for (int i = 0; i < losses.Length; i++) m.Observe(i + 1, losses[i], i == 11 ? 20.0 : i == 10 ? 9.9 : 1.0);
        // above running minimum + 1: steps 5, 6 (min 7.5) and 9 (min 7.3): two episodes starting at 5 and 9
        Assert.Equal(3, m.LossSpikeSteps);
        Assert.Equal(new[] { 5, 9 }, m.LossSpikes);
        Assert.True(m.Healthy);
        // median of the first 11 norms is 1: 9.9 is not above 10×, 20 is
        Assert.Equal(1, m.GradSpikeSteps);
        Assert.Equal(new[] { 12 }, m.GradSpikes);
        var json = m.ToJson();
        Assert.Equal(3, json["loss_spike_steps"]!.GetValue<int>());
        Assert.Equal(1, json["grad_spike_steps"]!.GetValue<int>());
    }

    [Fact]
    public void AttentionStatistics_OnAHandBuiltOutput_GiveTheNormsTheSlopeAndThePlantedSigma()
    {
        using var scope = NewDisposeScope();
        // three sequences of 2, 4 and 8 real tokens in a batch of width 8; every real token of sequence i has norm
        // 1 + 0.5·ln(n_i) (a vector (norm, 0, 0, 0)); padded positions hold garbage that must be ignored
        int[] n = [2, 4, 8];
        var output = full(3, 8, 4, 100f);
        var mask = zeros(3, 8, dtype: ScalarType.Bool);
        double sum = 0; int count = 0;
        for (int i = 0; i < 3; i++)
        {
            double norm = 1 + 0.5 * Math.Log(n[i]);
            output[i, ..n[i]] = zeros(n[i], 4);
            output[i, ..n[i], 0] = full(n[i], (float)norm);
            mask[i, ..n[i]] = tensor(true);
            sum += norm * n[i]; count += n[i];
        }
        var parameters = new Dictionary<string, Tensor> { [LearnedExponentScaling.ParameterName] = tensor(new float[] { 0f, (float)Math.Log(3) }) };
        var s = AttentionStatistics.Compute(output, mask, parameters);
        Assert.Equal(sum / count, s.MeanOutputNorm, 5);
        Assert.NotNull(s.NormLogLengthSlope);
        Assert.Equal(0.5, s.NormLogLengthSlope!.Value, 5);
        Assert.Equal(new[] { 0.5, 0.75 }, s.ScaleExponent!.Select(x => Math.Round(x, 6)));
        // one length only: no slope
        Assert.Null(AttentionStatistics.Compute(output[..1], mask[..1], parameters).NormLogLengthSlope);
    }

    [Fact]
    public void LogitRange_CoversRealPairsOnly()
    {
        using var scope = NewDisposeScope();
        // B = 2, H = 1, S = 3: sequence 0 has 2 real tokens, sequence 1 all 3; padded pairs hold ±1000
        var logits = full(2, 1, 3, 3, 1000f);
        logits[0, 0, 2] = full(3, -1000f);
        logits[0, 0, ..2, ..2] = tensor(new float[,] { { 1, -2 }, { 3, 0.5f } });
        logits[1, 0] = tensor(new float[,] { { 0, 1, 2 }, { -1, 2.5f, 0 }, { 1, 1, 1 } });
        var mask = tensor(new bool[,] { { true, true, false }, { true, true, true } });
        var (lo, hi) = AttentionStatistics.LogitRange(logits, mask);
        Assert.Equal(-2, lo);
        Assert.Equal(3, hi);
    }

    [Fact]
    public void TrainingLogs_TheLogitRangePerLayer()
    {
        using var scope = NewDisposeScope();
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = 200, ["max_position_embeddings"] = 64 };
        json["attention"] = "cosine";
        json["data"] = new JsonObject { ["seq_len"] = 32 };
        json["run"] = new JsonObject { ["steps"] = 2, ["batch_size"] = 8, ["log_interval"] = 1, ["eval_interval"] = 100, ["checkpoint_interval"] = 100, ["threads"] = 2 };
        var dir = Path.Combine(_tmp, "logits");
        var summary = new Trainer(RunConfig.FromJson(json), dir, FixedBatchSource.Random(8, 32, 200, 3)).Run();
        var layer = TrainingPlots.ReadMetrics(dir).Last(m => m["attention"] is not null)["attention"]!["layers"]![0]!;
        double range = layer["logit_range"]!.GetValue<double>();
        Assert.InRange(range, 1e-6, 2.0 + 1e-9);   // cosine similarities lie in [−1, 1]
        Assert.NotNull(layer["norm_slope_log_n"]);  // the random batch has varying lengths
        Assert.Equal(range, summary.Stability!["layers"]![0]!["logit_range_end"]!.GetValue<double>());
    }

    [Fact]
    public void OutputNormGrowth_IsMeasuredFromTheEndOfWarmup()
    {
        var m = new StabilityMonitor(100, warmupSteps: 10);
        JsonObject Stats(double norm, double slope) => new() { ["layers"] = new JsonArray(new JsonObject { ["output_norm"] = norm, ["norm_slope_log_n"] = slope, ["sigma"] = new JsonArray(0.5, 0.7) }) };
        m.ObserveAttention(5, Stats(1.0, 0.1));
        m.ObserveAttention(10, Stats(2.0, 0.2));
        m.ObserveAttention(20, Stats(3.0, 0.4));
        m.ObserveAttention(30, Stats(5.0, 0.6));
        var layer = m.ToJson()["layers"]![0]!;
        Assert.Equal(2.0, layer["output_norm_warmup_end"]!.GetValue<double>());
        Assert.Equal(5.0, layer["output_norm_end"]!.GetValue<double>());
        Assert.Equal(2.5, layer["output_norm_growth"]!.GetValue<double>());
        Assert.Equal(0.325, layer["norm_slope_log_n_mean"]!.GetValue<double>(), 6);
        Assert.Equal(0.7, layer["sigma"]![1]!.GetValue<double>());
    }

    [Fact]
    public void MonitorState_SavedAndRestored_ContinuesTheSameDiagnostics()
    {
        var rng = new Random(4);
        var steps = Enumerable.Range(1, 60).Select(i => (Loss: 8 - 0.05 * i + (i % 17 == 0 ? 1.5 : 0) + rng.NextDouble() * 0.1, Norm: i % 23 == 0 ? 40.0 : 1 + rng.NextDouble())).ToList();
        JsonObject Stats(int i) => new() { ["layers"] = new JsonArray(new JsonObject { ["output_norm"] = 1.0 + 0.01 * i, ["norm_slope_log_n"] = 0.001 * i }) };
        var whole = new StabilityMonitor(30522, 10);
        for (int i = 0; i < 60; i++) { whole.Observe(i + 1, steps[i].Loss, steps[i].Norm); if (i % 5 == 4) whole.ObserveAttention(i + 1, Stats(i)); }
        var first = new StabilityMonitor(30522, 10);
        for (int i = 0; i < 30; i++) { first.Observe(i + 1, steps[i].Loss, steps[i].Norm); if (i % 5 == 4) first.ObserveAttention(i + 1, Stats(i)); }
        // through the checkpoint's serialiser, as a resume reads it
        var saved = TrainerState.Parse(new TrainerState { Step = 30, Data = new JsonObject(), Guard = first.Guard, Stability = first.State }.ToJson(), "test");
        var second = new StabilityMonitor(30522, 10);
        second.Restore(saved.Guard, saved.Stability);
        for (int i = 30; i < 60; i++) { second.Observe(i + 1, steps[i].Loss, steps[i].Norm); if (i % 5 == 4) second.ObserveAttention(i + 1, Stats(i)); }
        Assert.True(whole.LossSpikeSteps > 0 && whole.GradSpikeSteps > 0);
        Assert.Equal(whole.ToJson().ToJsonString(), second.ToJson().ToJsonString());
    }

    [Fact]
    public void UnigramLoss_ByHand()
    {
        // counts: token 0 special (−1), token 1 seen 3×, token 2 once, token 3 never: N = 4, V' = 3,
        // q = (c + 1) / 7 = 4/7, 2/7, 1/7
        var u = new UnigramBaseline([-1, 3, 1, 0]);
        double sum = 0;
        long n = u.AddLosses([1, 2, -100, 3, 1], ref sum);
        Assert.Equal(4, n);
        double expected = (2 * Math.Log(7.0 / 4) + Math.Log(7.0 / 2) + Math.Log(7.0)) / 4;
        Assert.Equal(expected, sum / n, 12);
    }

    static readonly Lazy<string> Prepared = new(() =>
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", Enumerable.Range(0, 300).Select(i =>
            $"Paragraph {i}: " + string.Join(' ', Enumerable.Repeat("the quick brown fox jumps over the lazy dog.", 1 + i % 5)))));
        var output = Path.Combine(dir, "out");
        new DataPreparer(DataTestSupport.Tokenizer, new PrepareOptions { SequenceLength = 32, ValidationFraction = 0.2 }).Prepare(CorpusFile.Resolve([input]), output);
        return output;
    });

    static long[] Data(Tensor t) => t.contiguous().data<long>().ToArray();

    [Fact]
    public void ValidationMasks_AreTheSameForEverySeed_TrainingMasksAreNot()
    {
        using var a = new ShardBatchSource(Prepared.Value, DataTestSupport.Vocab, seed: 1);
        using var b = new ShardBatchSource(Prepared.Value, DataTestSupport.Vocab, seed: 2);
        var va = a.Validation(8, 0).ToList();
        var vb = b.Validation(8, 0).ToList();
        Assert.True(va.Count > 1);
        Assert.Equal(va.Count, vb.Count);
        for (int i = 0; i < va.Count; i++)
        {
            Assert.Equal(Data(va[i].Labels), Data(vb[i].Labels));
            Assert.Equal(Data(va[i].InputIds), Data(vb[i].InputIds));
        }
        Assert.Equal(va.Count, a.Validation(8, 0).Count());                      // 0 = the whole validation set
        Assert.Single(a.Validation(8, 1));
        using var ta = a.NextTrain(8);
        using var tb = b.NextTrain(8);
        Assert.NotEqual(Data(ta.Labels), Data(tb.Labels));
        // the counts behind the unigram baseline: every real ordinary training token, specials −1
        var counts = a.TrainingTokenCounts();
        Assert.Equal(-1, counts[DataTestSupport.Vocab.ClsId]);
        Assert.True(counts[DataTestSupport.Vocab.IdOf("fox")] > 0);
    }

    [Fact]
    public void Training_ReportsUnigramLoss_Lengths_Stability_AndKeepsOnlyHealthyCheckpoints()
    {
        using var scope = NewDisposeScope();
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0, ["max_position_embeddings"] = 64 };
        json["attention"] = "softmax";
        json["data"] = new JsonObject { ["seq_len"] = 32 };
        // lr 3 without clipping: the loss first falls, then runs away (the divergence guard ends the run)
        json["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = 3.0, ["clip_norm"] = 0.0 };
        json["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = 2 };
        json["run"] = new JsonObject { ["steps"] = 60, ["batch_size"] = 8, ["log_interval"] = 1, ["eval_interval"] = 5, ["eval_batches"] = 0, ["checkpoint_interval"] = 1, ["keep_last"] = 1, ["threads"] = 2 };
        var config = RunConfig.FromJson(json);
        var dir = Path.Combine(_tmp, "run");
        using var source = new ShardBatchSource(Prepared.Value, DataTestSupport.Vocab, 42);
        var summary = new Trainer(config, dir, source).Run();
        Assert.NotNull(summary.Validation?.UnigramLoss);
        Assert.InRange(summary.Validation!.UnigramLoss!.Value, 1.0, Math.Log(30522));
        Assert.NotNull(summary.Lengths);
        Assert.Equal(32, summary.Lengths!["max"]!.GetValue<int>());
        Assert.NotNull(summary.Stability);
        var records = TrainingPlots.ReadMetrics(dir).Where(m => m["loss"] is not null).ToList();
        var checkpoints = new RunDirectory(dir).Checkpoints();
        double min = double.PositiveInfinity;
        var healthyAt = new Dictionary<int, bool>();
        foreach (var r in records)
        {
            double loss = r["loss"]!.GetValue<double>();
            healthyAt[r["step"]!.GetValue<int>()] = loss <= Math.Min(min, loss) + StabilityMonitor.SpikeNats;
            min = Math.Min(min, loss);
        }
        var trace = string.Join(" ", records.Select(r => r["loss"]!.GetValue<double>().ToString("F2")));
        Assert.True(healthyAt.ContainsValue(false), $"the run never left its healthy band ({summary.Status}): {trace}");
        Assert.NotEmpty(checkpoints);
        foreach (var (_, step) in checkpoints) Assert.True(healthyAt[step], $"checkpoint at step {step} was written while the loss was > 1 nat above its minimum");
        var disk = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.NotNull(disk["stability"]?["loss_spike_steps"]);
        Assert.NotNull(disk["lengths"]?["padding_share"]);
    }
}
