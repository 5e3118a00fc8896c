using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Training;
using BertLab.Experiments.Statistics;

namespace BertLab.Experiments;

/// <summary>
/// <c>bertlab compare</c>: two arms of a sweep (a run name without its seed, e.g. "cosine lr=1e-3"), paired by seed, compared on a
/// metric with <see cref="PairedComparison"/>. Runs are read through <see cref="SweepResults"/>; a diverged run counts as ln V
/// on loss metrics (the uniform guess over the vocabulary, as in learning-rate sensitivity) and as 0 on accuracy; runs that
/// did not finish (failed, stopped, pending) are left out and listed.
/// </summary>
public sealed class SweepComparison
{
    public static readonly string[] Metrics = { "val_loss", "val_loss_last2", "val_recall_loss", "val_nonrecall_loss", "val_accuracy", "val_perplexity", "train_loss" };

    public required string A { get; init; }
    public required string B { get; init; }
    public required string Metric { get; init; }
    public required PairedComparison Statistic { get; init; }
    /// <summary>Runs left out, with why (unfinished, or a seed the other arm lacks).</summary>
    public required IReadOnlyList<string> LeftOut { get; init; }
    /// <summary>Diverged runs counted at the cap.</summary>
    public required IReadOnlyList<string> Capped { get; init; }

    /// <summary>"cosine lr=1e-3 seed2" → "cosine lr=1e-3" (the seed label the sweep adds is dropped).</summary>
    public static string ArmName(RunRecord run)
    {
        long? seed = SeedOf(run);
        string suffix = seed is long s ? $"seed{s.ToString(CultureInfo.InvariantCulture)}" : "";
        if (suffix.Length > 0 && run.Name.EndsWith(" " + suffix, StringComparison.Ordinal)) return run.Name[..^(suffix.Length + 1)];
        if (suffix.Length > 0 && run.Name == suffix) return "(base)";
        return run.Name;
    }

    public static long? SeedOf(RunRecord run)
    {
        var node = run.Config?["run"]?["seed"] ?? run.Settings["run.seed"];
        return JsonNumbers.TryGetDouble(node, out var d) ? (long)d : null;
    }

    public static bool LowerIsBetter(string metric) => metric != "val_accuracy";

    /// <summary>What a metric's values measure: nats for the losses; null for accuracy (a fraction) and perplexity.</summary>
    public static string? Unit(string metric) => metric is "val_accuracy" or "val_perplexity" ? null : "nats";

    /// <summary>The arms of a sweep, in run order, with their runs.</summary>
    public static IReadOnlyList<(string Arm, IReadOnlyList<RunRecord> Runs)> Arms(SweepResults sweep) =>
        sweep.Runs.GroupBy(ArmName).Select(g => (g.Key, (IReadOnlyList<RunRecord>)g.ToList())).ToList();

    public static SweepComparison Compare(SweepResults sweep, string a, string b, string metric = "val_loss", double? margin = null)
    {
        if (!Metrics.Contains(metric)) throw new BertLabException($"compare: unknown metric '{metric}'; allowed: {string.Join(", ", Metrics)}");
        if (a == b) throw new BertLabException($"compare: --a and --b name the same arm '{a}'");
        var arms = Arms(sweep);
        IReadOnlyList<RunRecord> Find(string name)
        {
            var hit = arms.FirstOrDefault(x => x.Arm == name || SweepDefinition.Slug(x.Arm) == name);
            if (hit.Runs is null)
                throw new BertLabException($"compare: no arm named '{name}' in {sweep.Directory}; arms: {string.Join(", ", arms.Select(x => $"'{x.Arm}'"))}");
            return hit.Runs;
        }
        var runsA = Find(a); var runsB = Find(b);

        var leftOut = new List<string>(); var capped = new List<string>();
        Dictionary<long, double> Values(IReadOnlyList<RunRecord> runs, string arm)
        {
            var values = new Dictionary<long, double>();
            foreach (var r in runs)
            {
                long seed = SeedOf(r) ?? throw new BertLabException($"compare: run '{r.Name}' has no seed in its configuration");
                if (values.ContainsKey(seed)) throw new BertLabException($"compare: arm '{arm}' has two runs with seed {seed}; arms must differ from each other only by seed");
                double? v = Value(r, metric, out bool cap);
                if (v is null) { leftOut.Add($"{r.Name} ({r.Status.ToText()}{(r.Detail is null ? "" : ": " + r.Detail)})"); continue; }
                if (cap) capped.Add(r.Name);
                values[seed] = v.Value;
            }
            return values;
        }
        var va = Values(runsA, a); var vb = Values(runsB, b);
        foreach (var s in va.Keys.Except(vb.Keys)) leftOut.Add($"{a} seed {s} (no finished run with this seed in '{b}')");
        foreach (var s in vb.Keys.Except(va.Keys)) leftOut.Add($"{b} seed {s} (no finished run with this seed in '{a}')");
        var pairs = va.Keys.Intersect(vb.Keys).OrderBy(s => s).Select(s => new SeedPair(s, va[s], vb[s])).ToList();
        if (pairs.Count == 0)
            throw new BertLabException($"compare: '{a}' and '{b}' have no finished runs with a common seed (a: seeds {Seeds(va)}, b: seeds {Seeds(vb)})");
        double floor = metric == "val_accuracy" ? 0.01 : PairedComparison.DefaultMarginFloor;
        var stat = PairedComparison.Compute(pairs, LowerIsBetter(metric), margin, floor, Unit(metric));
        return new SweepComparison { A = a, B = b, Metric = metric, Statistic = stat, LeftOut = leftOut, Capped = capped };

        static string Seeds(Dictionary<long, double> v) => v.Count == 0 ? "none" : string.Join(",", v.Keys.OrderBy(s => s));
    }

    /// <summary>The run's value of the metric; null when the run did not finish. Diverged: ln V for losses (cap = true), e^(ln V) = V for perplexity, 0 for accuracy.</summary>
    public static double? Value(RunRecord r, string metric, out bool capped)
    {
        capped = false;
        if (!r.Completed && !r.Diverged) return null;
        double lnV = Math.Log(RunRecord.Num(r.Config?["model"]?["vocab_size"]) ?? 30522);
        if (r.Diverged)
        {
            capped = true;
            return metric switch { "val_accuracy" => 0, "val_perplexity" => Math.Exp(lnV), _ => lnV };
        }
        double? v = metric switch
        {
            "val_loss" => r.ValLoss,
            "val_loss_last2" => r.Eval.Count == 0 ? null : LrSensitivity.Loss(new LrPoint(r.Lr ?? 0, r.Eval.Select(e => RunRecord.Num(e["val_loss"]) ?? double.NaN).ToList(), false), lnV),
            "val_accuracy" => r.ValAccuracy,
            "val_perplexity" => r.ValPerplexity,
            "val_recall_loss" => r.Validation(MetricKeys.ValRecallLoss),
            "val_nonrecall_loss" => r.Validation(MetricKeys.ValNonRecallLoss),
            "train_loss" => r.LastLoss,
            _ => null,
        };
        if (v is double x && !double.IsFinite(x) && metric != "val_accuracy") { capped = true; return metric == "val_perplexity" ? Math.Exp(lnV) : lnV; }
        return v;
    }

    public JsonObject ToJson()
    {
        var o = Statistic.ToJson();
        o["a"] = A; o["b"] = B; o["metric"] = Metric;
        o["difference"] = "a - b";
        o["left_out"] = new JsonArray(LeftOut.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());
        o["capped_at_ln_vocab"] = new JsonArray(Capped.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());
        return o;
    }

    public string Describe()
    {
        var s = Statistic;
        string F(double v) => double.IsFinite(v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "n/a";
        var lines = new List<string>
        {
            $"compare {Metric}: a = '{A}', b = '{B}' ({s.N} paired seed(s); {(s.LowerIsBetter ? "lower" : "higher")} is better)",
        };
        foreach (var p in s.Pairs) lines.Add($"  seed {p.Seed}: a {F(p.A)}  b {F(p.B)}  a − b {F(p.A - p.B)}");
        lines.Add($"mean a − b      {F(s.MeanDifference)}  95% CI [{F(s.Lower)}, {F(s.Upper)}]  (SD of differences {F(s.DifferenceSd)})");
        lines.Add($"pooled seed SD  {F(s.PooledSd)}");
        lines.Add($"margin          ±{F(s.Margin)}  ({(s.MarginGiven ? "given" : $"max({(Metric == "val_accuracy" ? "0.01" : "0.02")}, 2 × pooled SD), computed from the runs it judges; fix it before the runs with --margin")})");
        lines.Add($"equivalence p   {F(s.EquivalenceP)}");
        lines.Add($"verdict         {PairedComparison.OutcomeName(s.Outcome)}{(s.SeedsNeeded is int k ? $" (about {k} paired seeds would decide it)" : "")}");
        lines.Add($"                {s.Reason}");
        foreach (var c in Capped) lines.Add($"note: {c} diverged; counted as the uniform guess (ln V)");
        foreach (var l in LeftOut) lines.Add($"left out: {l}");
        return string.Join("\n", lines);
    }
}
