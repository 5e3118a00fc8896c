using System.Text.Json.Nodes;

namespace BertLab.Training;

/// <summary>
/// The stability diagnostics of one run, fed on the host with every step's loss and gradient norm and, on logged steps,
/// the per-layer attention statistics. Counts and lists loss spikes (loss above its running minimum by more than
/// <see cref="SpikeNats"/>) and gradient-norm spikes (above <see cref="GradSpikeFactor"/>× the median of the norms so
/// far); says whether the run is healthy (loss within the spike margin of its running minimum: only then may a
/// checkpoint be written, so the one kept after a divergence predates the runaway); applies the return-to-uniform rule
/// (a loss back within <see cref="UniformNats"/> of ln V after having been <see cref="SpikeNats"/> below it); follows
/// each layer's mean attention-output norm from the end of warmup to the end and its slope against ln n.
/// </summary>
public sealed class StabilityMonitor
{
    public const double SpikeNats = 1.0, GradSpikeFactor = 10.0, UniformNats = 0.1;
    /// <summary>Steps listed per kind of spike (the counts go on).</summary>
    public const int MaxListed = 200;
    /// <summary>Norms needed before a gradient spike can be called.</summary>
    public const int MinGradHistory = 10;

    readonly double _lnV;
    readonly int _warmupSteps, _patience;
    readonly List<double> _sortedNorms = new();
    public double MinLoss { get; private set; } = double.PositiveInfinity;
    public int LossSpikeSteps { get; private set; }
    public int GradSpikeSteps { get; private set; }
    public List<int> LossSpikes { get; } = new();
    public List<int> GradSpikes { get; } = new();
    /// <summary>First step of the current stretch above the running minimum + 1 nat (null while healthy).</summary>
    public int? UnhealthySince { get; private set; }
    int _nearUniform;
    // per layer: first statistics at or after the end of warmup, latest, and the slope against ln n (sum, count)
    JsonObject? _atWarmupEnd, _latest;
    int _warmupEndStep = -1, _latestStep = -1;
    readonly Dictionary<int, (double Sum, int Count, double Last)> _slopes = new();
    readonly Dictionary<int, double> _maxRange = new();

    public StabilityMonitor(int vocabularySize, int warmupSteps, int patience = 1)
    {
        _lnV = Math.Log(Math.Max(2, vocabularySize));
        _warmupSteps = warmupSteps;
        _patience = Math.Max(1, patience);
    }

    public bool Healthy => UnhealthySince is null;

    /// <summary>One step's finite loss and gradient norm; returns why the run diverged by the return-to-uniform rule, or null.</summary>
    public string? Observe(int step, double loss, double gradNorm)
    {
        if (double.IsFinite(gradNorm))
        {
            if (_sortedNorms.Count >= MinGradHistory && gradNorm > GradSpikeFactor * Median())
            {
                GradSpikeSteps++;
                if (GradSpikes.Count < MaxListed) GradSpikes.Add(step);
            }
            int at = _sortedNorms.BinarySearch(gradNorm);
            _sortedNorms.Insert(at < 0 ? ~at : at, gradNorm);
        }
        if (!double.IsFinite(loss)) return null;
        bool hadLearned = MinLoss <= _lnV - SpikeNats;
        if (loss > MinLoss + SpikeNats)
        {
            LossSpikeSteps++;
            if (UnhealthySince is null && LossSpikes.Count < MaxListed) LossSpikes.Add(step);
            UnhealthySince ??= step;
        }
        else UnhealthySince = null;
        MinLoss = Math.Min(MinLoss, loss);
        if (hadLearned && loss >= _lnV - UniformNats)
        {
            if (++_nearUniform >= _patience)
                return $"loss {loss:G4} returned to within {UniformNats} nat of ln V = {_lnV:G4} after having reached {MinLoss:G4}";
        }
        else _nearUniform = 0;
        return null;
    }

    public double Median()
    {
        int n = _sortedNorms.Count;
        if (n == 0) return double.NaN;
        return n % 2 == 1 ? _sortedNorms[n / 2] : 0.5 * (_sortedNorms[n / 2 - 1] + _sortedNorms[n / 2]);
    }

    /// <summary>A logged step's attention statistics (the trainer's {"layers": [{"output_norm", "norm_slope_log_n", "sigma", "p"}]}).</summary>
    public void ObserveAttention(int step, JsonObject? statistics)
    {
        if (statistics is null) return;
        if (_atWarmupEnd is null && step >= _warmupSteps) { _atWarmupEnd = (JsonObject)statistics.DeepClone(); _warmupEndStep = step; }
        _latest = (JsonObject)statistics.DeepClone();
        _latestStep = step;
        if (statistics["layers"] is not JsonArray layers) return;
        for (int i = 0; i < layers.Count; i++)
            if (layers[i]?["logit_range"] is JsonNode r)
                _maxRange[i] = Math.Max(_maxRange.GetValueOrDefault(i, double.NegativeInfinity), r.GetValue<double>());
        for (int i = 0; i < layers.Count; i++)
            if (layers[i]?["norm_slope_log_n"] is JsonNode s)
            {
                var (sum, count, _) = _slopes.GetValueOrDefault(i);
                double v = s.GetValue<double>();
                _slopes[i] = (sum + v, count + 1, v);
            }
    }

    /// <summary>The summary.json "stability" object.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["loss_min"] = double.IsFinite(MinLoss) ? Math.Round(MinLoss, 6) : null,
            ["loss_spike_steps"] = LossSpikeSteps, ["loss_spikes"] = Ints(LossSpikes),
            ["grad_norm_median"] = double.IsFinite(Median()) ? Math.Round(Median(), 6) : null,
            ["grad_spike_steps"] = GradSpikeSteps, ["grad_spikes"] = Ints(GradSpikes),
        };
        if (_latest?["layers"] is JsonArray last)
        {
            var layers = new JsonArray();
            var first = _atWarmupEnd?["layers"] as JsonArray;
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
                if (_slopes.TryGetValue(i, out var s))
                {
                    l["norm_slope_log_n_mean"] = Math.Round(s.Sum / s.Count, 6);
                    l["norm_slope_log_n_last"] = s.Last;
                }
                if (last[i]!["logit_range"] is JsonNode range) l["logit_range_end"] = range.DeepClone();
                if (_maxRange.TryGetValue(i, out var maxRange)) l["logit_range_max"] = maxRange;
                if (last[i]!["sigma"] is JsonNode sigma) l["sigma"] = sigma.DeepClone();
                if (last[i]!["p"] is JsonNode p) l["p"] = p.DeepClone();
                layers.Add(l);
            }
            o["warmup_end_step"] = _warmupEndStep >= 0 ? _warmupEndStep : null;
            o["end_step"] = _latestStep;
            o["layers"] = layers;
        }
        return o;
    }

    /// <summary>Everything the monitor carries, for a checkpoint (a resumed run continues the same diagnostics).</summary>
    public JsonObject SaveState() => new()
    {
        ["min_loss"] = double.IsFinite(MinLoss) ? MinLoss : null, ["loss_spike_steps"] = LossSpikeSteps, ["grad_spike_steps"] = GradSpikeSteps,
        ["loss_spikes"] = Ints(LossSpikes), ["grad_spikes"] = Ints(GradSpikes), ["unhealthy_since"] = UnhealthySince, ["near_uniform"] = _nearUniform,
        ["grad_norms"] = new JsonArray(_sortedNorms.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
        ["warmup_end"] = _atWarmupEnd?.DeepClone(), ["warmup_end_step"] = _warmupEndStep, ["latest"] = _latest?.DeepClone(), ["latest_step"] = _latestStep,
        ["max_logit_range"] = new JsonArray(_maxRange.OrderBy(kv => kv.Key).Select(kv => (JsonNode?)new JsonArray(kv.Key, kv.Value)).ToArray()),
        ["slopes"] = new JsonArray(_slopes.OrderBy(kv => kv.Key).Select(kv => (JsonNode?)new JsonArray(kv.Key, kv.Value.Sum, kv.Value.Count, kv.Value.Last)).ToArray()),
    };

    public void RestoreState(JsonObject s)
    {
        MinLoss = s["min_loss"]?.GetValue<double>() ?? double.PositiveInfinity;
        LossSpikeSteps = s["loss_spike_steps"]!.GetValue<int>();
        GradSpikeSteps = s["grad_spike_steps"]!.GetValue<int>();
        LossSpikes.Clear(); LossSpikes.AddRange(s["loss_spikes"]!.AsArray().Select(x => x!.GetValue<int>()));
        GradSpikes.Clear(); GradSpikes.AddRange(s["grad_spikes"]!.AsArray().Select(x => x!.GetValue<int>()));
        UnhealthySince = s["unhealthy_since"]?.GetValue<int>();
        _nearUniform = s["near_uniform"]!.GetValue<int>();
        _sortedNorms.Clear(); _sortedNorms.AddRange(s["grad_norms"]!.AsArray().Select(x => x!.GetValue<double>()));
        _atWarmupEnd = s["warmup_end"] is JsonObject w ? (JsonObject)w.DeepClone() : null;
        _warmupEndStep = s["warmup_end_step"]!.GetValue<int>();
        _latest = s["latest"] is JsonObject l ? (JsonObject)l.DeepClone() : null;
        _latestStep = s["latest_step"]!.GetValue<int>();
        _maxRange.Clear();
        if (s["max_logit_range"] is JsonArray ranges)
            foreach (var e in ranges) _maxRange[e![0]!.GetValue<int>()] = e[1]!.GetValue<double>();
        _slopes.Clear();
        foreach (var e in s["slopes"]!.AsArray())
            _slopes[e![0]!.GetValue<int>()] = (e[1]!.GetValue<double>(), e[2]!.GetValue<int>(), e[3]!.GetValue<double>());
    }

    static JsonArray Ints(List<int> v) => new(v.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
}
