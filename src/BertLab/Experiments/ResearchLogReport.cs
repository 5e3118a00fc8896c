using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Plotting;

namespace BertLab.Experiments;

/// <summary>
/// The research-log section of `bertlab report` (issue 17 item 10): how the study departs from the original recipe, the
/// margin and the "attention in use" gate, loss against learning rate per arm (mean ± 95% interval over seeds, η*, η_max and
/// the LR sensitivity), every finding's verdict with its statistic, interval, margin and runs, and the stability diagnostics
/// where the runs wrote them (summary.json "stability", read defensively).
/// </summary>
public static class ResearchLogReport
{
    /// <summary>summary.json object of study2's stability diagnostics (issue 17 item 2); absent in older runs.</summary>
    public const string StabilityKey = "stability";

    static string N(double v, string f = "0.0000") => double.IsFinite(v) ? v.ToString(f, CultureInfo.InvariantCulture) : "–";
    static string Lr(double lr) => SweepDefinition.FormatNumber(lr);
    static string Mi(MeanInterval m, string f = "0.0000") => m.N < 2 ? $"{N(m.Mean, f)} (1 seed)" : $"{N(m.Mean, f)} ± {N((m.Upper - m.Lower) / 2, f)}";

    public static void Write(ReportDocument doc, SweepResults results, string outDir, List<string> plots)
    {
        doc.Heading(2, "The research log (ATTENTION.md §5) as a study");
        var verdicts = ResearchLogFindings.Evaluate(results);
        if (results.Budget is not string bn || !ResearchLogSweep.Budgets.TryGetValue(bn, out var b))
        {
            doc.Paragraph($"This sweep's budget ('{results.Budget ?? "none"}') is not one of the study's ({ResearchLogSweep.BudgetNames}): no finding can be decided from it.");
            return;
        }
        var st = new StudyRuns(results, ResearchLogSweep.Plan(b));

        doc.Heading(3, "How this study departs from the original recipe");
        doc.Paragraph("The original work: BERT-base (12×768), batch 256 of sentence pairs of varying length (up to 512), Adam then AdamW (ε 1e-7, weight decay 0.01 on all parameters), " +
                      "no clipping in the committed runs, lr 1e-5 then 1e-4 after 10k warmup steps, bf16, up to 1M steps. Every arm here keeps ε 1e-7, weight decay 0.01 on every parameter " +
                      "(no_decay []), warmup then a constant lr, and clips only in the clipping arm.");
        var arms = st.Plan.Arms;
        doc.Table(new[] { "arm", "model", "batch × seq_len", "tokens seen (1st run)", "optimiser", "clipping", "precision", "data", "lrs", "seeds" },
            arms.Select(a =>
            {
                var r = st.Seeds.Select(s => st.Run(a.Arm, a.Lrs[0], s)).FirstOrDefault(x => x?.Config is not null);
                var c = r?.Config;
                int batch = (int)(RunRecord.Num(c?["run"]?["batch_size"]) ?? b.BatchSize), seq = (int)(RunRecord.Num(c?["data"]?["seq_len"]) ?? b.SeqLen);
                int steps = (int)(RunRecord.Num(c?["run"]?["steps"]) ?? b.Steps);
                string opt = c?["optimizer"] is JsonObject o
                    ? $"{o["name"]} (wd {Lr(RunRecord.Num(o["weight_decay"]) ?? double.NaN)}{(o["name"]?.GetValue<string>() == "adam" ? " as L2" : " decoupled")}, ε {Lr(RunRecord.Num(o["eps"]) ?? double.NaN)})" : "–";
                double clip = RunRecord.Num(c?["optimizer"]?["clip_norm"]) ?? 0;
                return new[]
                {
                    a.Arm.Name, c?["model"]?["hidden_size"] is JsonNode h ? $"{c["model"]!["num_hidden_layers"]}×{h}" : b.Model, $"{batch} × {seq}",
                    // real tokens trained (summary.json) where the run says; else the slots batch × seq_len × steps
                    (RunRecord.Num(r?.Summary?["tokens"]) is double real && real > 0 ? (long)real : (long)batch * seq * steps).ToString("N0", CultureInfo.InvariantCulture), opt, clip > 0 ? Lr(clip) : "none",
                    c?["run"]?["precision"]?.GetValue<string>() ?? b.Precision, c?["data"]?["synthetic"]?.GetValue<string>() is string task ? $"synthetic {task.Split(':')[0]} (variable n)" : c?["data"]?["packing"]?.GetValue<string>() ?? "packed (n = seq_len)",
                    string.Join(", ", a.Lrs.Select(Lr)), st.Seeds.Count.ToString(CultureInfo.InvariantCulture),
                };
            }));

        doc.Heading(3, "Margin and the \"attention in use\" gate");
        doc.Paragraph($"Margin: {N(st.Margin)} nats, {st.MarginOrigin}; one margin for every loss comparison of this study. η_max orderings use {N(MaxLrOrdering.MarginDecades, "0.00")} decade. " +
                      $"Learning rates map the log's decades onto this model: the log's 1e-4 is the anchor {Lr(b.Log1e4)} (the small model's softmax optimum), its 1e-5 is {Lr(b.Log1e5)}. " +
                      $"ℓ(η) = mean of a run's last two validation losses, capped at ln V = {N(st.LnV, "0.000")} (a diverged run scores ln V).");
        doc.Paragraph($"Task: every arm trains and is validated on {st.TaskText}" + (st.Task is not null
            ? " (BertLab's generated positional lookup: a query @j must be answered with the j-th value of the sequence, so a masked value can only be recovered by attending to its position; sequence lengths vary within every batch). Natural-text MLM at this model size stays on the unigram plateau within a CPU budget (reports/research-log-tiny, the issue's pilot), where no mechanism differs."
            : "."));
        doc.Paragraph($"Gate: {st.GateText}" + (st.GateLr(b.Log1e5) != b.Log1e4 ? $"; at the log's 1e-5: {st.GateTextAt(b.Log1e5)}" : "") +
                      ". Loss comparisons are decided only where attention is in use at the comparison's lr; otherwise they are \"horizon too short\".");

        // loss against learning rate
        doc.Heading(3, "Loss against learning rate");
        doc.Paragraph("Per arm with a grid: ℓ(η) as mean ± 95% half-width over seeds, then η* (best lr), η_max (largest lr within 0.5 nat of ℓ* that did not diverge) " +
                      "and the LR sensitivity (mean over the grid of ℓ(η) − ℓ*), per seed and as mean ± 95% half-width (η on log10).");
        var gridArms = arms.Where(a => a.Lrs.Count >= 2).ToList();
        var series = new List<Series>();
        var rows = new List<string[]>();
        foreach (var a in gridArms)
        {
            var means = new List<double>();
            var halfWidths = new List<double>();
            var cells = new List<string>();
            foreach (var lr in a.Lrs)
            {
                var vals = st.Seeds.Select(s => st.Score(a.Arm, lr, s)).Where(v => v is not null).Select(v => v!.Value).ToList();
                int div = st.Seeds.Count(s => st.Run(a.Arm, lr, s) is { Diverged: true });
                if (vals.Count == 0) { cells.Add($"{Lr(lr)}: –"); means.Add(double.NaN); halfWidths.Add(double.NaN); continue; }
                var m = MeanInterval.Of(vals);
                means.Add(m.Mean);
                halfWidths.Add((m.Upper - m.Lower) / 2);
                cells.Add($"{Lr(lr)}: {Mi(m, "0.000")}" + (div > 0 ? $" ({div} diverged)" : ""));
            }
            var per = st.Sensitivity(a.Arm);
            string eta = "–", etaMax = "–", sens = "–";
            if (per.Count > 0)
            {
                eta = string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => Lr(kv.Value.BestLr)));
                etaMax = string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => double.IsFinite(kv.Value.MaxStableLr) ? Lr(kv.Value.MaxStableLr) : "none"));
                sens = Mi(MeanInterval.Of(per.Values.Select(v => v.Sensitivity).ToList()), "0.000");
            }
            rows.Add(new[] { a.Arm.Name, string.Join("; ", cells), eta, etaMax, sens });
            if (means.Any(double.IsFinite))
                series.Add(new Series($"{a.Arm.Name} (η_max {etaMax}; sens. {sens})", a.Lrs.Select(Math.Log10).ToList(), means, halfWidths));
        }
        doc.Table(new[] { "arm", "ℓ(η) by lr (mean ± 95%)", "η* per seed", "η_max per seed", "LR sensitivity" }, rows);
        if (series.Count > 0)
        {
            const string file = "plots/loss_vs_lr.png";
            var path = Path.Combine(outDir, file);
            if (File.Exists(path)) File.Delete(path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            LinePlot.Save(path, "l(η): mean over seeds, 95% bars", "log10 learning rate", "l(η) = mean of the last two validation losses (nats)", series, width: 1300, height: 650);
            if (File.Exists(path)) { plots.Add(path); doc.Image(file, "loss against learning rate per arm"); }
        }

        // verdicts
        doc.Heading(3, "Findings");
        doc.Paragraph("Verdict classes: agrees / disagrees (the 95% interval of the paired difference lies beyond the margin, or for a \"did not help\" claim the equivalence test within ±margin) / " +
                      "underpowered (with the paired seeds that would decide it at the observed spread) / not exercised (the mechanism never acted) / not applicable (why) / " +
                      "horizon too short (attention not in use). Statistic: mean paired difference [95% interval], margin, seeds (outcome).");
        doc.Table(new[] { "finding", "claim", "verdict", "why", "rule", "statistic", "gate", "runs" },
            verdicts.Select(v => new[]
            {
                v.Id, v.Claim, "**" + v.VerdictName + "**" + (v.Result.SeedsNeeded is int k ? $" ({k} seeds needed)" : ""), v.Result.Reason, v.Rule, v.Observed, v.Gate,
                v.Runs.Count == 0 ? "–" : $"{v.Runs.Count} runs: " + string.Join(", ", v.Runs.Select(n => results.Find(n) is RunRecord r ? $"#{r.Index}" : "missing").Distinct()),
            }));
        var tally = verdicts.GroupBy(v => v.VerdictName).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        doc.Paragraph($"Verdicts: {string.Join(", ", tally)}; decided (agrees or disagrees): {verdicts.Count(v => v.Result.Decided)} of {verdicts.Count}.");

        // stability diagnostics (study2's summary.json "stability", when present)
        doc.Heading(3, "Stability diagnostics");
        var withStab = results.Runs.Where(r => r.Summary?[StabilityKey] is JsonObject).ToList();
        if (withStab.Count == 0)
            doc.Paragraph($"No run wrote stability diagnostics (summary.json \"{StabilityKey}\": attention-output norms and growth, slope against log n, logit range, loss and gradient spikes); the runs predate them.");
        else
        {
            var keys = withStab.SelectMany(r => Flatten((JsonObject)r.Summary![StabilityKey]!, "")).Select(kv => kv.Key).Distinct().OrderBy(k => k, StringComparer.Ordinal).Take(12).ToList();
            doc.Table(new[] { "#", "run" }.Concat(keys).ToArray(), withStab.Select(r =>
            {
                var f = Flatten((JsonObject)r.Summary![StabilityKey]!, "").ToDictionary(kv => kv.Key, kv => kv.Value);
                return new[] { r.Index.ToString(CultureInfo.InvariantCulture), r.Name }.Concat(keys.Select(k => f.TryGetValue(k, out var v) ? v : "–")).ToArray();
            }));
        }
    }

    /// <summary>Scalar leaves of a JSON object as "a.b" → text; arrays of numbers as a comma list.</summary>
    static IEnumerable<KeyValuePair<string, string>> Flatten(JsonObject o, string prefix)
    {
        foreach (var (k, v) in o)
        {
            string key = prefix.Length == 0 ? k : $"{prefix}.{k}";
            switch (v)
            {
                case JsonObject child: foreach (var kv in Flatten(child, key)) yield return kv; break;
                case JsonArray arr: yield return new(key, string.Join(", ", arr.Select(x => RunRecord.Num(x) is double d ? N(d, "0.###") : x?.ToJsonString() ?? "null"))); break;
                case JsonValue val: yield return new(key, RunRecord.Num(val) is double d2 ? N(d2, "0.####") : val.ToJsonString()); break;
            }
        }
    }
}
