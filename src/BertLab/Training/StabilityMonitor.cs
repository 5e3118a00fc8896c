using System.Text.Json.Nodes;

namespace BertLab.Training;

/// <summary>
/// Every divergence rule of a run, and its stability diagnostics, fed on the host with every step's loss and gradient
/// norm and, on logged steps, the per-layer attention statistics. The rules, checked every step (<see cref="Observe"/>):
/// a non-finite loss or gradient norm; the runaway rule (the loss above divergence_factor × the lowest exponential mean
/// of the loss, for divergence_patience consecutive steps); the return-to-uniform rule (a loss back within
/// <see cref="UniformNats"/> of ln V after having been <see cref="SpikeNats"/> below it, for divergence_patience steps).
/// The diagnostics: counts and lists of loss spikes (loss above its running minimum by more than <see cref="SpikeNats"/>)
/// and gradient-norm spikes (above <see cref="GradSpikeFactor"/>× the median of the norms so far); whether the run is
/// healthy (loss within the spike margin of its running minimum: only then may a checkpoint be written, so the one kept
/// after a divergence predates the runaway); the best validation (whose checkpoint the pruning keeps); each layer's mean
/// attention-output norm from the end of warmup to the end and its slope against ln n. All of it lives in
/// <see cref="Guard"/> and <see cref="State"/>, which a checkpoint carries (<see cref="TrainerState"/>).
/// </summary>
public sealed class StabilityMonitor
{
    public const double SpikeNats = 1.0, GradSpikeFactor = 10.0, UniformNats = 0.1;
    /// <summary>Steps listed per kind of spike (the counts go on).</summary>
    public const int MaxListed = 200;
    /// <summary>Norms needed before a gradient spike can be called.</summary>
    public const int MinGradHistory = 10;
    /// <summary>Steps of the runaway rule's exponential mean before it may call a runaway.</summary>
    public const int RunawayWarmup = 5;

    readonly double _lnV, _divergenceFactor;
    readonly int _warmupSteps, _patience;

    /// <param name="divergenceFactor">run.divergence_factor; +∞ (the default) turns the runaway rule off.</param>
    public StabilityMonitor(int vocabularySize, int warmupSteps, int patience = 1, double divergenceFactor = double.PositiveInfinity)
    {
        _lnV = Math.Log(Math.Max(2, vocabularySize));
        _warmupSteps = warmupSteps;
        _patience = Math.Max(1, patience);
        _divergenceFactor = divergenceFactor;
    }

    /// <summary>The monitor of a pre-training run: the run's vocabulary, warmup, divergence_patience and divergence_factor.</summary>
    public static StabilityMonitor For(RunConfig config) =>
        new(config.Model.VocabSize, config.Schedule.WarmupSteps, config.Run.DivergencePatience, config.Run.DivergenceFactor);

    /// <summary>The runaway rule's state and the best validation (a checkpoint's "guard").</summary>
    public GuardState Guard { get; private set; } = new();
    /// <summary>The diagnostics' state (a checkpoint's "stability").</summary>
    public StabilityState State { get; private set; } = new();

    /// <summary>Continues from a checkpoint's state; <paramref name="stability"/> null (a checkpoint older than the
    /// diagnostics' state): the diagnostics start afresh.</summary>
    public void Restore(GuardState guard, StabilityState? stability)
    {
        Guard = guard;
        State = stability ?? new StabilityState();
    }

    public double MinLoss => State.MinLoss;
    public int LossSpikeSteps => State.LossSpikeSteps;
    public int GradSpikeSteps => State.GradSpikeSteps;
    public IReadOnlyList<int> LossSpikes => State.LossSpikes;
    public IReadOnlyList<int> GradSpikes => State.GradSpikes;
    /// <summary>First step of the current stretch above the running minimum + 1 nat (null while healthy).</summary>
    public int? UnhealthySince => State.UnhealthySince;
    public bool Healthy => UnhealthySince is null;

    /// <summary>
    /// One step's loss and gradient norm (step = steps done): returns why the run diverged, or null. A non-finite value
    /// ends the run at once (the optimiser skipped that step: nothing non-finite reached the weights); then the runaway
    /// rule; then the spikes are counted and the return-to-uniform rule applied.
    /// </summary>
    public string? Observe(int step, double loss, double gradNorm)
    {
        if (!double.IsFinite(loss) || !double.IsFinite(gradNorm))
            return $"non-finite value at step {step}: {(!double.IsFinite(loss) ? $"loss is {loss}" : $"gradient norm is {gradNorm}")}";
        if (Runaway(loss) is string far) return $"at step {step}: {far}";
        CountGradientSpike(step, gradNorm);
        return ReturnedToUniform(step, loss) is string uniform ? $"at step {step}: {uniform}" : null;
    }

    /// <summary>A loss far above its running mean for several steps: above divergence_factor × the lowest running
    /// mean seen so far (an exponential mean over ~20 steps), for divergence_patience consecutive steps.</summary>
    string? Runaway(double loss)
    {
        var g = Guard;
        g.Seen++;
        g.Ema = double.IsNaN(g.Ema) ? loss : 0.95 * g.Ema + 0.05 * loss;
        if (g.Seen < RunawayWarmup) { g.MinEma = Math.Min(g.MinEma, g.Ema); return null; }
        if (double.IsFinite(_divergenceFactor) && loss > _divergenceFactor * g.MinEma)
        {
            g.Above++;
            if (g.Above >= _patience)
                return $"loss {loss:G4} stayed above {_divergenceFactor}× its lowest running mean ({g.MinEma:G4}) for {g.Above} steps";
        }
        else g.Above = 0;
        g.MinEma = Math.Min(g.MinEma, g.Ema);
        return null;
    }

    void CountGradientSpike(int step, double gradNorm)
    {
        var norms = State.GradNorms;
        if (norms.Count >= MinGradHistory && gradNorm > GradSpikeFactor * Median())
        {
            State.GradSpikeSteps++;
            if (State.GradSpikes.Count < MaxListed) State.GradSpikes.Add(step);
        }
        int at = norms.BinarySearch(gradNorm);
        norms.Insert(at < 0 ? ~at : at, gradNorm);
    }

    /// <summary>Loss spikes and health; then whether the loss is back near ln V after having learned.</summary>
    string? ReturnedToUniform(int step, double loss)
    {
        var s = State;
        bool hadLearned = s.MinLoss <= _lnV - SpikeNats;
        if (loss > s.MinLoss + SpikeNats)
        {
            s.LossSpikeSteps++;
            if (s.UnhealthySince is null && s.LossSpikes.Count < MaxListed) s.LossSpikes.Add(step);
            s.UnhealthySince ??= step;
        }
        else s.UnhealthySince = null;
        s.MinLoss = Math.Min(s.MinLoss, loss);
        if (hadLearned && loss >= _lnV - UniformNats)
        {
            if (++s.NearUniform >= _patience)
                return $"loss {loss:G4} returned to within {UniformNats} nat of ln V = {_lnV:G4} after having reached {s.MinLoss:G4}";
        }
        else s.NearUniform = 0;
        return null;
    }

    /// <summary>A validation loss at <paramref name="step"/>: the lowest so far is the best, whose checkpoint is kept.</summary>
    public void OfferValidation(double loss, int step)
    {
        if (loss < Guard.BestValLoss) { Guard.BestValLoss = loss; Guard.BestStep = step; }
    }

    /// <summary>The step of the best validation so far; −1 when none.</summary>
    public int BestValidationStep => Guard.BestStep;

    public double Median()
    {
        var sorted = State.GradNorms;
        int n = sorted.Count;
        if (n == 0) return double.NaN;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>A logged step's attention statistics (the trainer's {"layers": [{"output_norm", "norm_slope_log_n", "sigma", "p"}]}).</summary>
    public void ObserveAttention(int step, JsonObject? statistics)
    {
        if (statistics is null) return;
        var s = State;
        if (s.WarmupEnd is null && step >= _warmupSteps) { s.WarmupEnd = (JsonObject)statistics.DeepClone(); s.WarmupEndStep = step; }
        s.Latest = (JsonObject)statistics.DeepClone();
        s.LatestStep = step;
        if (statistics["layers"] is not JsonArray layers) return;
        for (int i = 0; i < layers.Count; i++)
            if (layers[i]?["logit_range"] is JsonNode r)
                s.MaxLogitRange[i] = Math.Max(s.MaxLogitRange.GetValueOrDefault(i, double.NegativeInfinity), r.GetValue<double>());
        for (int i = 0; i < layers.Count; i++)
            if (layers[i]?["norm_slope_log_n"] is JsonNode slope)
            {
                var (sum, count, _) = s.Slopes.GetValueOrDefault(i);
                double v = slope.GetValue<double>();
                s.Slopes[i] = new SlopeSum(sum + v, count + 1, v);
            }
    }

    /// <summary>The summary.json "stability" object.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["loss_min"] = double.IsFinite(MinLoss) ? Math.Round(MinLoss, 6) : null,
            ["loss_spike_steps"] = LossSpikeSteps, ["loss_spikes"] = Ints(State.LossSpikes),
            ["grad_norm_median"] = double.IsFinite(Median()) ? Math.Round(Median(), 6) : null,
            ["grad_spike_steps"] = GradSpikeSteps, ["grad_spikes"] = Ints(State.GradSpikes),
        };
        if (State.Latest?["layers"] is JsonArray last)
        {
            var layers = new JsonArray();
            var first = State.WarmupEnd?["layers"] as JsonArray;
            for (int i = 0; i < last.Count; i++)
            {
                var l = new JsonObject();
                double end = last[i]!["output_norm"]!.GetValue<double>();
                l["output_norm_end"] = end;
                if (first is not null && i < first.Count)
                {
                    double start = first[i]!["output_norm"]!.GetValue<double>();
                    l["output_norm_warmup_end"] = start;
                    l["output_norm_growth"] = start > 0 ? Math.Round(end / start, 6) : null;
                }
                if (State.Slopes.TryGetValue(i, out var s))
                {
                    l["norm_slope_log_n_mean"] = Math.Round(s.Sum / s.Count, 6);
                    l["norm_slope_log_n_last"] = s.Last;
                }
                if (last[i]!["logit_range"] is JsonNode range) l["logit_range_end"] = range.DeepClone();
                if (State.MaxLogitRange.TryGetValue(i, out var maxRange)) l["logit_range_max"] = maxRange;
                if (last[i]!["sigma"] is JsonNode sigma) l["sigma"] = sigma.DeepClone();
                if (last[i]!["p"] is JsonNode p) l["p"] = p.DeepClone();
                layers.Add(l);
            }
            o["warmup_end_step"] = State.WarmupEndStep >= 0 ? State.WarmupEndStep : null;
            o["end_step"] = State.LatestStep;
            o["layers"] = layers;
        }
        return o;
    }

    static JsonArray Ints(List<int> v) => new(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
}
