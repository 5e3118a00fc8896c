using System.Globalization;

namespace BertLab.Experiments;

/// <summary>One finding of ATTENTION.md §5 set beside what the reproduction observed.</summary>
public sealed record FindingVerdict(string Id, string Claim, string Verdict, string Rule, string Observed, IReadOnlyList<string> Runs);

/// <summary>
/// Explicit decision rules, one per finding, over the research-log runs' final validation loss (val) and status. A run
/// that diverged counts as worse than any run that did not; "beats" means a lower val by more than
/// <see cref="Margin"/> nats; "helped a lot" means by more than <see cref="LargeMargin"/>. A rule whose runs are missing
/// or failed gives "inconclusive", and so does a comparison of two completed runs neither of which learned (its final
/// val is not below its first logged training loss by <see cref="MinProgress"/> nats): at a low lr and a small budget
/// both runs are still near the uniform guess and their difference says nothing about the claim.
/// </summary>
public static class ResearchLogFindings
{
    public const double Margin = 0.05;
    public const double LargeMargin = 0.25;
    public const double MinProgress = 0.5;
    public const string Agrees = "agrees", Disagrees = "disagrees", Inconclusive = "inconclusive", Observed = "observed (no claim)";

    static string N(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
    static string R(string opt, string preset, double lr, string? variant = null) => ResearchLogSweep.RunName(opt, preset, lr, variant);

    /// <summary>"val 6.123" / "diverged at step 17" / "failed" / "missing".</summary>
    public static string Describe(RunRecord? r) => r switch
    {
        null => "missing",
        { Diverged: true } => $"diverged at step {r.Step}",
        { Completed: true } when r.ValLoss is double v => $"val {N(v)}" + (r.FirstLoss is double f ? $" (first loss {N(f)})" : ""),
        _ => r.Status,
    };

    /// <summary>The loss used to compare: +∞ for a diverged run; null when the run cannot be judged (missing, failed, unfinished).</summary>
    static double? Score(RunRecord? r) => r switch
    {
        { Diverged: true } => double.PositiveInfinity,
        { Completed: true } when r.ValLoss is double v => v,
        _ => null,
    };

    /// <summary>a − b (negative: a is better); +∞/−∞ when one diverged; 0 when both diverged; null when unjudgeable.</summary>
    static double? Diff(RunRecord? a, RunRecord? b)
    {
        if (Score(a) is not double sa || Score(b) is not double sb) return null;
        if (double.IsInfinity(sa) && double.IsInfinity(sb)) return 0;
        if (!Learned(a!) && !Learned(b!)) return null;
        return sa - sb;
    }

    /// <summary>Diverged, or completed with a final val at least <see cref="MinProgress"/> below the first logged training loss.</summary>
    public static bool Learned(RunRecord r) => r.Diverged || (r.FirstLoss is double f && r.ValLoss is double v && f - v >= MinProgress);

    static string DiffText(double? d) => d switch
    {
        null => "n/a (a run is missing or failed, or neither run learned)",
        double.PositiveInfinity => "+∞ (first diverged)",
        double.NegativeInfinity => "−∞ (second diverged)",
        double v => (Math.Round(v, 3) >= 0 ? "+" : "") + N(Math.Round(v, 3) == 0 ? 0 : v),
    };

    public static List<FindingVerdict> Evaluate(SweepResults s)
    {
        var list = new List<FindingVerdict>();
        RunRecord? Get(string name) => s.Find(name);
        string Line(params string[] names) => string.Join("; ", names.Select(n => $"{n}: {Describe(Get(n))}"));
        void Add(string id, string claim, string rule, string verdict, string observed, params string[] runs) =>
            list.Add(new FindingVerdict(id, claim, verdict, rule, observed, runs));
        string M = N(Margin), L = N(LargeMargin);

        // 1. cosine did not converge (Adam, lr 1e-4, no clipping)
        {
            var soft = R("adam", "softmax", 1e-4); var cos = R("adam", "cosine", 1e-4);
            var d = Diff(Get(cos), Get(soft));
            string v = d is null ? Inconclusive : d > Margin ? Agrees : d < -Margin ? Disagrees : Inconclusive;
            Add("1", "Softmax and cosine both trained poorly at first; cosine did not converge.",
                $"agrees if cosine diverged or its val is above softmax's by > {M}; disagrees if it is below by > {M}; else inconclusive",
                v, $"{Line(cos, soft)}; cosine − softmax = {DiffText(d)}", cos, soft);
        }
        // 2a. clipping stabilised cosine a little
        {
            var cos = R("adam", "cosine", 1e-4); var clip = R("adam", "cosine", 1e-4, "clip");
            var d = Diff(Get(clip), Get(cos));
            string v = d is null ? Inconclusive : d < -Margin ? Agrees : d > Margin ? Disagrees : Inconclusive;
            Add("2a", "Gradient clipping stabilised cosine a little.",
                $"agrees if the clipped run beats the unclipped one (val lower by > {M}, or only the unclipped diverged); disagrees if it is worse by > {M}; else inconclusive",
                v, $"{Line(clip, cos)}; clipped − unclipped = {DiffText(d)}", clip, cos);
        }
        // 2b. weight decay 0.1 did not help
        {
            var cos = R("adam", "cosine", 1e-4); var wd = R("adam", "cosine", 1e-4, "wd0.1");
            var d = Diff(Get(wd), Get(cos));
            string v = d is null ? Inconclusive : d < -Margin ? Disagrees : Agrees;
            Add("2b", "Weight decay 0.1 did not help (cosine).",
                $"agrees unless weight decay 0.1 beats no weight decay by > {M} (then disagrees)",
                v, $"{Line(wd, cos)}; wd0.1 − wd0 = {DiffText(d)}", wd, cos);
        }
        // 2c. lr 1e-5 stabilised cosine
        {
            var low = Get(R("adam", "cosine", 1e-5));
            var higher = new[] { Get(R("adam", "cosine", 1e-4)), Get(R("adam", "cosine", 1e-3)) };
            string v = low is null || Score(low) is null ? Inconclusive
                : low.Diverged ? Disagrees
                : higher.Any(h => h is { Diverged: true }) ? Agrees : Inconclusive;
            Add("2c", "Learning rate 1e-5 stabilised cosine (Adam).",
                "agrees if cosine at 1e-5 completed while cosine at 1e-4 or 1e-3 diverged; disagrees if cosine at 1e-5 diverged; inconclusive if no cosine run diverged",
                v, Line(R("adam", "cosine", 1e-5), R("adam", "cosine", 1e-4), R("adam", "cosine", 1e-3)),
                R("adam", "cosine", 1e-5), R("adam", "cosine", 1e-4), R("adam", "cosine", 1e-3));
        }
        // 2d. ... and cosine then beat softmax
        {
            var cos = R("adam", "cosine", 1e-5); var soft = R("adam", "softmax", 1e-5);
            var d = Diff(Get(cos), Get(soft));
            string v = d is null ? Inconclusive : d < -Margin ? Agrees : d > Margin ? Disagrees : Inconclusive;
            Add("2d", "At lr 1e-5 cosine then beat softmax (Adam).",
                $"agrees if cosine's val is below softmax's by > {M}; disagrees if above by > {M}; else inconclusive",
                v, $"{Line(cos, soft)}; cosine − softmax = {DiffText(d)}", cos, soft);
        }
        // 3. AdamW: softmax at 1e-5 and 1e-4 clearly beat cosine
        {
            var ds = new[] { 1e-5, 1e-4 }.Select(lr => Diff(Get(R("adamw", "softmax", lr)), Get(R("adamw", "cosine", lr)))).ToArray();
            string v = ds.Any(d => d is null) ? Inconclusive
                : ds.All(d => d < -Margin) ? Agrees
                : ds.Any(d => d > Margin) ? Disagrees : Inconclusive;
            Add("3", "After switching to AdamW, softmax at lr 1e-5 and 1e-4 clearly beat cosine.",
                $"agrees if softmax beats cosine by > {M} at both lrs; disagrees if cosine beats softmax by > {M} at either; else inconclusive",
                v, $"{Line(R("adamw", "softmax", 1e-5), R("adamw", "cosine", 1e-5), R("adamw", "softmax", 1e-4), R("adamw", "cosine", 1e-4))}; softmax − cosine at 1e-5 = {DiffText(ds[0])}, at 1e-4 = {DiffText(ds[1])}",
                R("adamw", "softmax", 1e-5), R("adamw", "cosine", 1e-5), R("adamw", "softmax", 1e-4), R("adamw", "cosine", 1e-4));
        }
        // 4a. ReLU helped cosine converge a lot
        {
            var relu = R("adamw", "cosine-relu", 1e-5); var cos = R("adamw", "cosine", 1e-5);
            var d = Diff(Get(relu), Get(cos));
            string v = d is null ? Inconclusive : d < -LargeMargin ? Agrees : d > -Margin ? Disagrees : Inconclusive;
            Add("4a", "ReLU on the attention matrix helped cosine converge a lot (AdamW, lr 1e-5).",
                $"agrees if cosine-relu beats cosine by > {L}; disagrees if it does not beat it by > {M}; else inconclusive (helped a little)",
                v, $"{Line(relu, cos)}; relu − cosine = {DiffText(d)}", relu, cos);
        }
        // 4b. other activations did not
        {
            var cos = R("adamw", "cosine", 1e-5);
            var others = new[] { R("adamw", "cosine-sigmoid", 1e-5), R("adamw", "cosine-softmax", 1e-5) };
            var ds = others.Select(o => Diff(Get(o), Get(cos))).ToArray();
            string v = ds.Any(d => d is null) ? Inconclusive : ds.Any(d => d < -LargeMargin) ? Disagrees : Agrees;
            Add("4b", "Other activations (sigmoid, softmax on the cosine matrix) did not help like ReLU.",
                $"agrees unless sigmoid or softmax beats plain cosine by > {L} (then disagrees)",
                v, $"{Line(others.Append(cos).ToArray())}; sigmoid − cosine = {DiffText(ds[0])}, softmax − cosine = {DiffText(ds[1])}", others.Append(cos).ToArray());
        }
        // 4c. with ReLU, lr above 1e-5 diverged
        {
            var hi = new[] { R("adamw", "cosine-relu", 1e-4), R("adamw", "cosine-relu", 1e-3) };
            var rs = hi.Select(Get).ToArray();
            string v = rs.Any(r => Score(r) is null) ? Inconclusive
                : rs.All(r => r!.Diverged) ? Agrees : rs.All(r => !r!.Diverged) ? Disagrees : Inconclusive;
            Add("4c", "With ReLU, learning rates above 1e-5 diverged.",
                "agrees if cosine-relu diverged at both 1e-4 and 1e-3; disagrees if at neither; inconclusive if at one",
                v, Line(R("adamw", "cosine-relu", 1e-5), hi[0], hi[1]), R("adamw", "cosine-relu", 1e-5), hi[0], hi[1]);
        }
        // 4d/4e. token dropout and angle distance were worse
        foreach (var (id, claim, name) in new[]
                 {
                     ("4d", "Token dropout was worse (cosine-relu, lr 1e-5).", R("adamw", "cosine-relu", 1e-5, "token-dropout")),
                     ("4e", "An \"angle distance\" was worse (than cosine-relu, lr 1e-5).", R("adamw", "angular", 1e-5)),
                 })
        {
            var relu = R("adamw", "cosine-relu", 1e-5);
            var d = Diff(Get(name), Get(relu));
            string v = d is null ? Inconclusive : d > Margin ? Agrees : d < -Margin ? Disagrees : Inconclusive;
            Add(id, claim, $"agrees if its val is above cosine-relu's by > {M} (or only it diverged); disagrees if below by > {M}; else inconclusive",
                v, $"{Line(name, relu)}; difference = {DiffText(d)}", name, relu);
        }
        // 5. dividing by n allowed higher learning rates and beat ReLU
        {
            double? MaxStable(string preset) => Lrs().Where(lr => Get(R("adamw", preset, lr)) is { Completed: true }).Select(lr => (double?)lr).Max();
            double? Best(string preset) => Lrs().Select(lr => Score(Get(R("adamw", preset, lr)))).Where(x => x is double d && !double.IsInfinity(d)).Min();
            var names = Lrs().SelectMany(lr => new[] { R("adamw", "cosine-n", lr), R("adamw", "cosine-relu", lr) }).ToArray();
            bool anyMissing = names.Any(n => Score(Get(n)) is null);
            var (sn, sr) = (MaxStable("cosine-n"), MaxStable("cosine-relu"));
            var (bn, br) = (Best("cosine-n"), Best("cosine-relu"));
            bool higher = sn is double a && (sr is not double b || a > b);
            bool beat = bn is double x && (br is not double y || x < y - Margin);
            bool worse = bn is double x2 && br is double y2 && x2 > y2 + Margin;
            string v = anyMissing ? Inconclusive : higher && beat ? Agrees : !higher && (worse || bn is null) ? Disagrees : Inconclusive;
            Add("5", "Dividing the attention by the sequence length (cosine-n) allowed higher learning rates and beat ReLU.",
                $"agrees if cosine-n completed at a higher lr than cosine-relu did AND its best val (over lrs) beats cosine-relu's best by > {M}; disagrees if neither holds and it is worse by > {M}; else inconclusive",
                v, $"highest lr completed: cosine-n {Fmt(sn)}, cosine-relu {Fmt(sr)}; best val: cosine-n {Fmt(bn)}, cosine-relu {Fmt(br)}; {Line(names)}", names);
        }
        // 6a. √n diverged at long sequences
        {
            var longSqrt = R("adamw", "cosine-sqrt-n", 1e-4, "long"); var shortSqrt = R("adamw", "cosine-sqrt-n", 1e-4); var longN = R("adamw", "cosine-n", 1e-4, "long");
            var r = Get(longSqrt);
            string v = Score(r) is null ? Inconclusive : r!.Diverged ? Agrees : Disagrees;
            Add("6a", "√n normalisation diverged at long sequences.",
                "agrees if cosine-sqrt-n at the long sequence length diverged; disagrees if it completed (the short run and cosine-n at the long length are the controls)",
                v, $"{Line(longSqrt, shortSqrt, longN)}; long sqrt-n − long n = {DiffText(Diff(Get(longSqrt), Get(longN)))}", longSqrt, shortSqrt, longN);
        }
        // 6b. a learnable exponent was promising but sometimes unstable
        {
            var cot = R("adamw", "cottention", 1e-4); var cotHi = R("adamw", "cottention", 1e-3); var n = R("adamw", "cosine-n", 1e-4);
            var d = Diff(Get(cot), Get(n));
            bool unstable = Get(cotHi) is { Diverged: true };
            string v = d is null ? Inconclusive : d > Margin ? Disagrees : unstable ? Agrees : Inconclusive;
            Add("6b", "A learnable exponent (cottention, n^σ(m)) was promising but sometimes unstable.",
                $"agrees if cottention at 1e-4 is within {M} of cosine-n or better AND cottention at 1e-3 diverged; disagrees if it is worse than cosine-n by > {M}; inconclusive if promising but stable here",
                v, $"{Line(cot, cotHi, n)}; cottention − cosine-n = {DiffText(d)}", cot, cotHi, n);
        }
        // 6c. normalising Q, K and V gave stable improvements
        {
            var qkv = R("adamw", "qkv-norm", 1e-4); var cos = R("adamw", "cosine", 1e-4);
            var d = Diff(Get(qkv), Get(cos));
            string v = d is null ? Inconclusive : d < -Margin ? Agrees : d > Margin ? Disagrees : Inconclusive;
            Add("6c", "Normalising Q, K and V gave stable improvements (over cosine on Q, K).",
                $"agrees if qkv-norm completed and beats cosine by > {M}; disagrees if worse by > {M} (or diverged); else inconclusive",
                v, $"{Line(qkv, cos)}; qkv-norm − cosine = {DiffText(d)}", qkv, cos);
        }
        // 6d. an output-magnitude loss penalty did not converge
        {
            var pen = R("adamw", "cosine-n", 1e-4, "output-penalty"); var n = R("adamw", "cosine-n", 1e-4);
            var d = Diff(Get(pen), Get(n));
            string v = d is null ? Inconclusive : d > Margin ? Agrees : d < -Margin ? Disagrees : Inconclusive;
            Add("6d", "An output-magnitude loss penalty (λ = 0.1) did not converge.",
                $"agrees if the penalised run diverged or its val is above the unpenalised cosine-n's by > {M}; disagrees if below by > {M}; else inconclusive",
                v, $"{Line(pen, n)}; penalty − none = {DiffText(d)}", pen, n);
        }
        // 7. preprocessing bug
        Add("7", "Fixing a preprocessing bug that had stripped punctuation improved data quality and results.",
            "not reproducible here: BertLab's data pipeline keeps punctuation (there is no buggy variant to compare against)",
            Inconclusive, "no runs: the finding concerns the original code's preprocessing bug");
        // 8. with clean data, division by n restored for stability
        {
            var names = Lrs().SelectMany(lr => new[] { R("adamw", "cosine-n", lr), R("adamw", "cosine", lr) }).ToArray();
            bool missing = names.Any(n => Score(Get(n)) is null);
            int divN = Lrs().Count(lr => Get(R("adamw", "cosine-n", lr)) is { Diverged: true });
            int divC = Lrs().Count(lr => Get(R("adamw", "cosine", lr)) is { Diverged: true });
            var d = Diff(Get(R("adamw", "cosine-n", 1e-4)), Get(R("adamw", "cosine", 1e-4)));
            string v = missing ? Inconclusive : divN < divC || (divN == divC && d < -Margin) ? Agrees : divN > divC || d > Margin ? Disagrees : Inconclusive;
            Add("8", "With the cleaned data, division by the sequence length was restored for stability.",
                $"agrees if cosine-n diverged at fewer of the three lrs than cosine, or as often and it beats cosine at 1e-4 by > {M}; disagrees if it diverged more often or is worse at 1e-4 by > {M}; else inconclusive",
                v, $"diverged: cosine-n at {divN}/3 lrs, cosine at {divC}/3; at 1e-4 cosine-n − cosine = {DiffText(d)}; {Line(names)}", names);
        }
        // 9. future list: no claim, observations
        {
            var names = new[] { "softmax", "cosine-n", "cosine-relu", "cosine-sigmoid", "cosine-softmax", "euclidean", "manhattan", "lp" }
                .Select(p => R("adamw", p, 1e-4)).ToArray();
            var lp = Get(R("adamw", "lp", 1e-4))?.AttentionStats;
            string pText = lp?["layers"] is System.Text.Json.Nodes.JsonArray layers
                ? "; learned p per layer: " + string.Join(" | ", layers.Select(l => l?["p"] is System.Text.Json.Nodes.JsonArray ps ? string.Join(", ", ps.Select(x => RunRecord.Num(x) is double dv ? dv.ToString("0.###", CultureInfo.InvariantCulture) : "?")) : "?"))
                : "";
            Add("9", "Future work: ReLU / sigmoid / softmax on the matrix; cosine / Euclidean / Manhattan similarity; a learnable p (\"Chebyshev p-value\") distance.",
                "no claim to test: the runs are reported at lr 1e-4 (AdamW) beside softmax and cosine-n",
                Observed, Line(names) + pText, names);
        }
        return list;
    }

    static double[] Lrs() => new[] { 1e-5, 1e-4, 1e-3 };
    static string Fmt(double? v) => v is double d ? (d < 0.01 ? SweepDefinition.FormatNumber(d) : N(d)) : "none";
}
