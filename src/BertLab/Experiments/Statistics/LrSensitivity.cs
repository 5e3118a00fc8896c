using System.Text.Json.Nodes;

namespace BertLab.Experiments.Statistics;

/// <summary>One learning rate of a grid: its validation losses in step order and whether the run diverged.</summary>
public sealed record LrPoint(double Lr, IReadOnlyList<double> ValLosses, bool Diverged);

/// <summary>
/// Learning-rate sensitivity (Wortsman et al., "Small-scale proxies for large-scale Transformer training instabilities",
/// arXiv 2309.14322) of one variant from a grid of learning rates: ℓ(η) = mean of the last two validation losses capped at
/// ln V (a diverged run, or one with no finite loss, counts as ln V); η* = argmin ℓ; ℓ* = ℓ(η*); η_max = the largest η with
/// ℓ(η) ≤ ℓ* + 0.5 that did not diverge; sensitivity = mean over the grid of ℓ(η) − ℓ*.
/// </summary>
public sealed record LrSensitivity(IReadOnlyList<(double Lr, double Loss, bool Diverged)> Curve, double BestLr, double BestLoss, double MaxStableLr, double Sensitivity)
{
    public const double StableWithin = 0.5;

    /// <summary>ℓ(η) of one run: mean of its last two validation losses, capped at ln V; ln V when diverged or without losses.</summary>
    public static double Loss(LrPoint p, double lnV)
    {
        if (p.Diverged) return lnV;
        var last = p.ValLosses.Skip(Math.Max(0, p.ValLosses.Count - 2)).ToList();
        if (last.Count == 0 || last.Any(v => !double.IsFinite(v))) return lnV;
        return Math.Min(last.Average(), lnV);
    }

    public static LrSensitivity Compute(IReadOnlyList<LrPoint> grid, double lnV)
    {
        if (grid.Count == 0) throw new BertLabException("learning-rate sensitivity: the grid is empty");
        if (!(lnV > 0)) throw new BertLabException($"learning-rate sensitivity: ln V must be > 0, got {lnV}");
        if (grid.Select(p => p.Lr).Distinct().Count() != grid.Count) throw new BertLabException("learning-rate sensitivity: a learning rate appears twice in the grid");
        var curve = grid.OrderBy(p => p.Lr).Select(p => (p.Lr, Loss(p, lnV), p.Diverged)).ToList();
        var best = curve.OrderBy(c => c.Item2).ThenBy(c => c.Lr).First();
        double bestLoss = best.Item2;
        var stable = curve.Where(c => !c.Diverged && c.Item2 <= bestLoss + StableWithin).ToList();
        double maxLr = stable.Count > 0 ? stable.Max(c => c.Lr) : double.NaN; // NaN: every run diverged
        double sens = curve.Average(c => c.Item2 - bestLoss);
        return new LrSensitivity(curve, best.Lr, bestLoss, maxLr, sens);
    }

    public JsonObject ToJson()
    {
        static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
        return new JsonObject
        {
            ["best_lr"] = Num(BestLr), ["best_loss"] = Num(Math.Round(BestLoss, 6)), ["max_stable_lr"] = Num(MaxStableLr), ["sensitivity"] = Num(Math.Round(Sensitivity, 6)),
            ["curve"] = new JsonArray(Curve.Select(c => (JsonNode)new JsonObject { ["lr"] = c.Lr, ["loss"] = Math.Round(c.Loss, 6), ["diverged"] = c.Diverged }).ToArray()),
        };
    }
}

/// <summary>A mean over seeds with its 95% t-interval (bounds NaN with one seed).</summary>
public sealed record MeanInterval(double Mean, double Lower, double Upper, double Sd, int N)
{
    public static MeanInterval Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new BertLabException("mean: no values");
        int n = values.Count;
        double mean = values.Average();
        double sd = n < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double half = PairedComparison.HalfWidth(n, sd);
        return new MeanInterval(mean, mean - half, mean + half, sd, n);
    }

    public JsonObject ToJson()
    {
        static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        return new JsonObject { ["mean"] = Num(Mean), ["ci95"] = new JsonArray(Num(Lower), Num(Upper)), ["sd"] = Num(Sd), ["n"] = N };
    }
}

/// <summary>Learning-rate sensitivity per seed (each seed's own grid), then mean ± 95% interval over seeds. η* and η_max are
/// summarised on log10, where a grid in half-decade steps is evenly spaced.</summary>
public sealed record LrSensitivityOverSeeds(IReadOnlyDictionary<long, LrSensitivity> PerSeed, MeanInterval Sensitivity, MeanInterval BestLoss,
    MeanInterval Log10BestLr, MeanInterval? Log10MaxStableLr)
{
    public static LrSensitivityOverSeeds Compute(IReadOnlyDictionary<long, IReadOnlyList<LrPoint>> gridsBySeed, double lnV)
    {
        if (gridsBySeed.Count == 0) throw new BertLabException("learning-rate sensitivity: no seeds");
        var per = gridsBySeed.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key, kv => LrSensitivity.Compute(kv.Value, lnV));
        var stable = per.Values.Where(s => double.IsFinite(s.MaxStableLr)).Select(s => Math.Log10(s.MaxStableLr)).ToList();
        return new LrSensitivityOverSeeds(per,
            MeanInterval.Of(per.Values.Select(s => s.Sensitivity).ToList()),
            MeanInterval.Of(per.Values.Select(s => s.BestLoss).ToList()),
            MeanInterval.Of(per.Values.Select(s => Math.Log10(s.BestLr)).ToList()),
            stable.Count > 0 ? MeanInterval.Of(stable) : null);
    }

    /// <summary>Pairs two variants' per-seed values (e.g. sensitivity) on the seeds both have.</summary>
    public static IReadOnlyList<SeedPair> Pair(LrSensitivityOverSeeds a, LrSensitivityOverSeeds b, Func<LrSensitivity, double> value) =>
        a.PerSeed.Keys.Intersect(b.PerSeed.Keys).OrderBy(s => s).Select(s => new SeedPair(s, value(a.PerSeed[s]), value(b.PerSeed[s]))).ToList();

    public JsonObject ToJson() => new()
    {
        ["sensitivity"] = Sensitivity.ToJson(), ["best_loss"] = BestLoss.ToJson(), ["log10_best_lr"] = Log10BestLr.ToJson(),
        ["log10_max_stable_lr"] = Log10MaxStableLr?.ToJson(),
        ["per_seed"] = new JsonObject(PerSeed.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv.Value.ToJson()))),
    };
}
