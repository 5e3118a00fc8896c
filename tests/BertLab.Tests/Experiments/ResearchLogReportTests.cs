using System.CommandLine;
using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Experiments;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Plotting;
using Xunit;
using static BertLab.Tests.Experiments.StudyTestKit;

namespace BertLab.Tests.Experiments;

/// <summary>
/// The research-log report (issue 25 items 9, 10): what it opens with, the A/A, findings.json, the table of both tasks, the
/// plots and the per-run tables, over studies planted with the trainer's writers (<see cref="StudyTestKit"/>).
/// </summary>
public sealed class ResearchLogReportTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-studyreport-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    const double L4 = 1e-3, Top = 3.16e-3;

    /// <summary>Attention in use on the generated task (the default ℓ 1.0 is below its bag-of-values level); softmax beats
    /// cosine-softmax by 0.3 nat; adam cosine at the anchor 0.2 nat worse than adam softmax (finding 1 agrees).</summary>
    static Outcome? Finding1Agrees(string arm, double lr, long seed) =>
        arm == "adamw cosine-softmax" ? new Outcome(1.3) : arm == "adam cosine" && lr == L4 ? new Outcome(1.2) : null;

    /// <summary>Edges of stability: cosine-relu diverges from 1e-3 up, softmax is 0.6 nat off its best at the top lr (η_max 1e-3),
    /// cottention diverges at every lr; the others are stable on the whole grid.</summary>
    static Outcome? Edges(string arm, double lr, long seed) =>
        arm == "adamw cosine-relu" && lr >= L4 ? new Outcome(1.0, Diverged: true)
        : arm == "adamw softmax" && lr == Top ? new Outcome(1.6)
        : arm == "adamw cottention" ? new Outcome(1.0, Diverged: true)
        : Finding1Agrees(arm, lr, seed);

    static readonly string[] GridArmNames = { "adam softmax", "adam cosine", "adamw softmax", "adamw cosine-softmax", "adamw cosine", "adamw cosine-relu", "adamw cosine-n", "adamw cottention" };

    /// <summary>Every grid arm its own ℓ and norm growth, so that no two curves lie on each other.</summary>
    static Outcome? Distinct(string arm, double lr, long seed)
    {
        int k = Array.IndexOf(GridArmNames, arm);
        return k < 0 ? null : new Outcome(1.0 + 0.08 * k + 0.01 * Math.Log10(lr), NormGrowth: 1.5 + 0.4 * k + 100 * lr);
    }

    SweepResults Study(Func<string, double, long, Outcome?>? outcome = null, Options? options = null) => StudyTestKit.Write(_dir, outcome, options);

    static int Invoke(TextWriter output, params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new ReportVerb().Build());
        var saved = Console.Out;
        Console.SetOut(output);
        try { return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false })); }
        finally { Console.SetOut(saved); }
    }

    static int At(string text, string what)
    {
        int i = text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{what}' is missing");
        return i;
    }

    [Fact]
    public void Report_OpensWithTheVerdictsAndFindings_ThenPlots_ThenMethod_AndKeepsThePerRunTablesLast()
    {
        var s = Study(Edges, new Options { Stability = true });
        var files = SweepReport.Write(s.Directory);
        var md = File.ReadAllText(files.Markdown);
        int verdicts = At(md, "## Verdicts"), findings = At(md, "## Findings"), plots = At(md, "## Plots"), method = At(md, "## Method"),
            perRun = At(md, "## Per-run tables"), marker = At(md, ReportDocument.WallClockMarker), throughput = At(md, "## Throughput and memory");
        Assert.True(verdicts < findings && findings < plots && plots < method && method < perRun && perRun < marker && marker < throughput);
        // the per-run tables are all after the method, before the wall-clock marker
        foreach (var h in new[] { "### Runs", "### Stability matrix (attention × learning rate)", "### Stability diagnostics", "### Fine-tuning" })
            Assert.InRange(At(md, h), perRun, marker);
        Assert.InRange(At(md, "### How this study departs from the original recipe"), method, perRun);
        Assert.InRange(At(md, "plots/loss_vs_lr.png"), plots, method);

        // the summary counts each class, and lists the findings of each
        var v = ResearchLogFindings.Evaluate(s);
        int decided = v.Count(x => x.VerdictName is "agrees" or "disagrees");
        Assert.Contains($"**{decided} of 19 findings decided**", md);
        foreach (var c in new[] { "agrees", "disagrees", "underpowered", "not exercised", "not applicable", "horizon too short" })
        {
            var ids = v.Where(x => x.VerdictName == c).Select(x => x.Id).ToList();
            Assert.Contains($"| {c} | {(ids.Count == 0 ? "–" : string.Join(", ", ids))} | {ids.Count} |", md);
        }
        // the findings table: claim, verdict, the deciding statistic with its unit, the margin, the seeds, why
        Assert.Contains("| finding | claim | verdict | statistic: mean [95% interval] | margin | seeds | why |", md);
        Assert.Contains("| 1 | Softmax and cosine both trained poorly at first; cosine did not converge. | **agrees** | ℓ(adam softmax @ 0.001) − ℓ(adam cosine @ 0.001) = -0.2000 [-0.2000, -0.2000] nats | 0.0287 nats | 4 | a is better than b", md);
        Assert.Contains("| 4c | With ReLU, learning rates above 1e-5 diverged. | **agrees** | log10 η_max(adamw softmax) − log10 η_max(adamw cosine-relu) = 0.5003 [0.5003, 0.5003] decades | 0.2500 decades | 4 |", md);

        // HTML: the first table is the verdict summary; the per-run tables sit inside <details>
        var html = File.ReadAllText(files.Html);
        int firstTable = At(html, "<table>"), details = At(html, "<details>"), runsRow = At(html, "<td>adam softmax lr=1e-4 seed1</td>");
        Assert.True(At(html, "<h2>Verdicts</h2>") < firstTable && firstTable < At(html, "<h2>Findings</h2>"));
        Assert.True(details > At(html, "<h2>Per-run tables</h2>") && details < runsRow && runsRow < html.IndexOf("</details>", details, StringComparison.Ordinal));
        Assert.True(html.IndexOf("<details>", StringComparison.Ordinal) > At(html, "<h2>Method</h2>")); // nothing above the method is folded
        Assert.DoesNotContain("<details>", md); // the Markdown keeps its tables as tables
        // only the wall clock differs between machines
        Assert.DoesNotContain("tokens/s", ReportDocument.DeterministicPart(md));
    }

    [Fact]
    public void AA_IsShownAsACheckOfTheProcedure_AndAFailureIsAWarningAtTheTop()
    {
        // calibration halves: seeds 1–8 and 9–16 of one configuration, with seed noise only (paired by position: i with 8 + i)
        double[] noise = { 0.010, -0.012, 0.004, 0.0, -0.006, 0.008, -0.002, 0.003, -0.004, 0.006, -0.010, 0.002, 0.007, -0.003, 0.001, -0.005 };
        var s = Study(Finding1Agrees, new Options { CalibrationSeeds = true, Calibration = seed => 1.0 + noise[seed - 1] });
        var st = new StudyRuns(s, ResearchLogSweep.Plan(ResearchLogSweep.Cpu));
        // independent: the eight differences and their mean
        var d = Enumerable.Range(0, 8).Select(i => noise[i] - noise[8 + i]).ToArray();
        Assert.NotNull(st.AA);
        Assert.Equal(d.Average(), st.AA!.MeanDifference, 9);
        Assert.Equal(8, st.AA.N);
        Assert.Equal(ComparisonOutcome.Equivalent, st.AA.Outcome);
        var md = File.ReadAllText(SweepReport.Write(s.Directory).Markdown);
        Assert.DoesNotContain("**Warning:", md);
        Assert.Contains("Built-in A/A (a check of the procedure, which must come out equivalent): the calibration runs (adamw softmax at lr 0.001), seeds 1–8 against 9–16", md);
        Assert.Contains("**equivalent** — the procedure passes.", md);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(s.Directory, StudyFindingsFile.FileName)))!;
        Assert.True(json["aa"]!["equivalent"]!.GetValue<bool>());
        Assert.Equal(Math.Round(d.Average(), 6), json["aa"]!["statistic"]!["mean"]!.GetValue<double>(), 9);
        Assert.Equal(new[] { 9, 10, 11, 12, 13, 14, 15, 16 }, json["aa"]!["halves"]![1]!.AsArray().Select(x => x!.GetValue<int>()));

        // the second half 0.1 nat worse: the halves differ, and the report says so before anything else
        s = Study(Finding1Agrees, new Options { CalibrationSeeds = true, Calibration = seed => 1.0 + noise[seed - 1] + (seed > 8 ? 0.1 : 0) });
        md = File.ReadAllText(SweepReport.Write(s.Directory).Markdown);
        int warning = At(md, "**Warning: the built-in A/A did not come out equivalent (adamw softmax at lr 0.001, seeds 1–8 against 9–16:");
        Assert.True(warning < At(md, "## Verdicts"));
        Assert.Contains("every verdict below is suspect", md);
        Assert.Contains("a better** — the procedure fails its own check", md);
        json = JsonNode.Parse(File.ReadAllText(Path.Combine(s.Directory, StudyFindingsFile.FileName)))!;
        Assert.False(json["aa"]!["equivalent"]!.GetValue<bool>());

        // the calibration runs' second half missing: the A/A cannot vouch for the procedure either
        s = Study(Finding1Agrees);
        md = File.ReadAllText(SweepReport.Write(s.Directory).Markdown);
        Assert.True(At(md, "**Warning: the built-in A/A could not be computed") < At(md, "## Verdicts"));
    }

    [Fact]
    public void FindingsJson_HoldsEveryFindingWithItsTaskVerdictStatisticAndRuns_AndIsDeterministic()
    {
        var s = Study(Edges);
        var files = SweepReport.Write(s.Directory);
        Assert.Equal(Path.Combine(s.Directory, StudyFindingsFile.FileName), files.Findings);
        var text = File.ReadAllText(files.Findings!);
        var o = JsonNode.Parse(text)!.AsObject();
        Assert.Equal("bertlab-findings/1", o["format"]!.GetValue<string>());
        Assert.Equal("cpu", o["budget"]!.GetValue<string>());
        Assert.Equal("generated", o["task"]!["kind"]!.GetValue<string>());
        Assert.Equal(ResearchLogSweep.IndexTask(32), o["task"]!["spec"]!.GetValue<string>());
        Assert.Equal(0.0287, o["margin"]!["nats"]!.GetValue<double>());
        Assert.Contains("fixed before the runs", o["margin"]!["origin"]!.GetValue<string>());
        Assert.Equal("bag_of_values", o["gate"]!["level"]!["kind"]!.GetValue<string>());
        Assert.InRange(o["gate"]!["level"]!["nats"]!.GetValue<double>(), 2.5, 2.75);
        Assert.True(o["gate"]!["attention_in_use"]!.GetValue<bool>());
        Assert.Equal(ResearchLogFindings.Ids, o["findings"]!.AsObject().Select(kv => kv.Key)); // the log's order

        var f1 = o["findings"]!["1"]!;
        Assert.Equal("agrees", f1["verdict"]!.GetValue<string>());
        Assert.True(f1["decided"]!.GetValue<bool>());
        Assert.Equal("ℓ(adam softmax @ 0.001) − ℓ(adam cosine @ 0.001)", f1["statistic"]!["comparison"]!.GetValue<string>());
        Assert.Equal("nats", f1["statistic"]!["unit"]!.GetValue<string>());
        Assert.Equal(-0.2, f1["statistic"]!["mean"]!.GetValue<double>(), 9);
        Assert.Equal(-0.2, f1["statistic"]!["lower"]!.GetValue<double>(), 9);
        Assert.Equal(0.0287, f1["statistic"]!["margin"]!.GetValue<double>());
        Assert.Equal(4, f1["statistic"]!["seeds"]!.GetValue<int>());
        Assert.Equal("a better", f1["statistic"]!["outcome"]!.GetValue<string>());
        Assert.Equal(new[] { $"generated {ResearchLogSweep.IndexTask(32)}" }, f1["data"]!.AsArray().Select(x => x!.GetValue<string>()));
        var runs = f1["runs"]!.AsArray();
        Assert.Equal(8, runs.Count); // two arms × four seeds
        foreach (var r in runs)
        {
            Assert.Equal("completed", r!["status"]!.GetValue<string>());
            Assert.True(File.Exists(Path.Combine(s.Directory, r["dir"]!.GetValue<string>(), "summary.json")), r["dir"]!.GetValue<string>());
        }
        Assert.Contains(runs, r => r!["name"]!.GetValue<string>() == "adam cosine lr=0.001 seed3");
        // η_max claims in decades; the long-sequence finding rests on both tasks of the generated data
        var f4c = o["findings"]!["4c"]!["statistic"]!;
        Assert.Equal("decades", f4c["unit"]!.GetValue<string>());
        Assert.Equal(Math.Round(Math.Log10(1e-3) - Math.Log10(3.16e-4), 6), f4c["mean"]!.GetValue<double>(), 9);
        Assert.Contains($"generated {ResearchLogSweep.IndexTask(64)}", o["findings"]!["6a"]!["data"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Contains(o["findings"]!["6a"]!["comparisons"]!.AsArray(), c => !c!["decides"]!.GetValue<bool>()); // the short-length control
        Assert.Null(o["findings"]!["7"]!["statistic"]);
        Assert.Equal("not applicable", o["findings"]!["7"]!["verdict"]!.GetValue<string>());
        // the summary agrees with the findings it summarises
        int decided = o["findings"]!.AsObject().Count(kv => kv.Value!["decided"]!.GetValue<bool>());
        Assert.Equal(decided, o["summary"]!["decided"]!.GetValue<int>());
        Assert.Equal(19, o["summary"]!["classes"]!.AsObject().Sum(kv => kv.Value!.GetValue<int>()));

        // deterministic: no wall time, no absolute path; the same runs give the same bytes wherever the report goes
        Assert.DoesNotContain(s.Directory, text);
        Assert.DoesNotContain("wall_s", text);
        var elsewhere = SweepReport.Write(s.Directory, Path.Combine(_dir, "elsewhere"));
        Assert.Equal(text, File.ReadAllText(elsewhere.Findings!));
        Assert.Equal(ReportDocument.DeterministicPart(File.ReadAllText(files.Markdown)), ReportDocument.DeterministicPart(File.ReadAllText(elsewhere.Markdown)));
        Assert.Equal(text, File.ReadAllText(SweepReport.Write(s.Directory).Findings!));
    }

    [Theory]
    [InlineData("agrees", true, "agrees", true, "yes")]
    [InlineData("disagrees", true, "disagrees", true, "yes")]
    [InlineData("agrees", true, "disagrees", true, "no")]
    [InlineData("agrees", true, "horizon too short", false, "– (decided here only)")]
    [InlineData("underpowered", false, "disagrees", true, "– (decided beside only)")]
    [InlineData("not applicable", false, "not applicable", false, "– (both not applicable)")]
    [InlineData("underpowered", false, "not exercised", false, "– (neither decides)")]
    public void Agreement_IsTheSameClass_WhereBothDecide(string here, bool hereDecided, string there, bool thereDecided, string expected) =>
        Assert.Equal(expected, ResearchLogReport.Agreement(here, hereDecided, there, thereDecided));

    [Fact]
    public void Beside_SetsTheTextStudyBesideTheGeneratedTaskStudy_FromItsSweepOrItsFindingsJson()
    {
        // text: finding 1 agrees (adam cosine 0.2 worse); generated: it disagrees (adam cosine 0.2 better)
        var text = Study((a, lr, seed) => a == "adam cosine" && lr == L4 ? new Outcome(1.2) : null, new Options { Budget = "cpu-text" });
        var generated = Study((a, lr, seed) => a == "adamw cosine-softmax" ? new Outcome(1.3) : a == "adam cosine" && lr == L4 ? new Outcome(0.8) : null);
        var md = File.ReadAllText(SweepReport.Write(text.Directory, beside: generated.Directory).Markdown);
        Assert.True(At(md, "## Findings") < At(md, "## Both tasks") && At(md, "## Both tasks") < At(md, "## Plots"));
        Assert.Contains("This study: text (the embedded corpus, vocabulary 2,048), budget `cpu-text`. Beside it: generated task index:", md);
        Assert.Contains("| finding | claim | this study (`cpu-text`) | beside (`cpu`) | agree |", md);
        Assert.Contains("| 1 | Softmax and cosine both trained poorly at first; cosine did not converge. | **agrees**: -0.2000 [-0.2000, -0.2000] nats | **disagrees**: 0.2000 [0.2000, 0.2000] nats | no |", md);
        Assert.Contains("| 4b | Other activations (sigmoid, softmax on the cosine matrix) did not help. | **agrees**: 0.0000 [0.0000, 0.0000] nats | **agrees**: 0.0000 [0.0000, 0.0000] nats | yes |", md);
        Assert.Contains("| 9 | ", md);
        Assert.Contains("| – (both not applicable) |", md);
        // finding 7 runs only on text: decided there, not applicable on the generated task
        var t = ResearchLogFindings.Evaluate(text).ToDictionary(v => v.Id);
        var g = ResearchLogFindings.Evaluate(generated).ToDictionary(v => v.Id);
        Assert.True(t["7"].Result.Decided);
        Assert.Equal("not applicable", g["7"].VerdictName);
        Assert.Matches(@"\| 7 \| [^|]+ \| \*\*disagrees\*\*: [^|]+ \| \*\*not applicable\*\* \| – \(decided here only\) \|", md);
        // the tally, counted here from the two studies' verdicts
        int both = t.Values.Count(v => v.Result.Decided && g[v.Id].Result.Decided);
        int same = t.Values.Count(v => v.Result.Decided && g[v.Id].Result.Decided && v.VerdictName == g[v.Id].VerdictName);
        Assert.Contains($"Both decide {both} findings: they agree on {same} and contradict each other on {both - same}", md);

        // the other study as a report directory holding only its findings.json gives the same table
        var onlyJson = Path.Combine(_dir, "generated-report");
        Directory.CreateDirectory(onlyJson);
        File.Copy(SweepReport.Write(generated.Directory).Findings!, Path.Combine(onlyJson, StudyFindingsFile.FileName));
        var md2 = File.ReadAllText(SweepReport.Write(text.Directory, Path.Combine(_dir, "text-report"), beside: onlyJson).Markdown);
        string Table(string m) => m[At(m, "| finding | claim | this study")..At(m, "Both decide")];
        Assert.Equal(Table(md), Table(md2));
    }

    [Fact]
    public void Beside_UserErrors_ExitWith2_AndWriteNothing()
    {
        var s = Study(Finding1Agrees);
        var outDir = Path.Combine(_dir, "out");
        var sink = new StringWriter();
        Assert.Equal(2, Invoke(sink, "report", s.Directory, "--out", outDir, "--beside", Path.Combine(_dir, "nope")));
        var empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        Assert.Equal(2, Invoke(sink, "report", s.Directory, "--out", outDir, "--beside", empty));
        var bad = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(bad);
        File.WriteAllText(Path.Combine(bad, StudyFindingsFile.FileName), """{"format": "something-else"}""");
        Assert.Equal(2, Invoke(sink, "report", s.Directory, "--out", outDir, "--beside", bad));
        Assert.False(Directory.Exists(outDir));
        var e = Assert.Throws<BertLabException>(() => SweepReport.Write(s.Directory, outDir, beside: empty));
        Assert.Contains(empty, e.Message);
        Assert.Contains(StudyFindingsFile.FileName, e.Message);
        Assert.Contains("format", Assert.Throws<BertLabException>(() => SweepReport.Write(s.Directory, outDir, beside: bad)).Message);
        // and through the CLI with a valid other study: exit 0, findings.json beside the report
        Assert.Equal(0, Invoke(new StringWriter(), "report", s.Directory, "--out", outDir, "--beside", s.Directory));
        Assert.True(File.Exists(Path.Combine(outDir, StudyFindingsFile.FileName)));
        Assert.Contains("| yes |", File.ReadAllText(Path.Combine(outDir, SweepReport.MarkdownFile)));
    }

    [Fact]
    public void PlotStyles_ManySeriesGetDistinctColourAndMarkerPairs()
    {
        var styles = Enumerable.Range(0, PlotStyles.DistinctCount).Select(PlotStyles.For).ToList();
        Assert.Equal(90, styles.Distinct().Count());
        // the first nine differ in colour and in marker
        Assert.Equal(9, styles.Take(9).Select(x => x.Color).Distinct().Count());
        Assert.Equal(9, styles.Take(9).Select(x => x.Marker).Distinct().Count());
        // a panel's series without a style of their own take them in order; a style given is kept
        var series = Enumerable.Range(0, 20).Select(i => new Series($"s{i}", new double[] { 1 }, new double[] { i })).ToList();
        Assert.Equal(20, LinePlot.StylesOf(series).Distinct().Count());
        series[3] = series[3] with { Style = new SeriesStyle("#000000", MarkerKind.Square) };
        Assert.Equal(new SeriesStyle("#000000", MarkerKind.Square), LinePlot.StylesOf(series)[3]);
        // the study's grid arms: every arm its own colour and its own marker, the same in every figure
        var st = new StudyRuns(Study(), ResearchLogSweep.Plan(ResearchLogSweep.Cpu));
        var arms = StudyPlots.GridArms(st);
        Assert.Equal(8, arms.Count);
        Assert.Equal(arms.Count, arms.Select(a => a.Style.Color).Distinct().Count());
        Assert.Equal(arms.Count, arms.Select(a => a.Style.Marker).Distinct().Count());
    }

    [Fact]
    public void LossVsLr_MarksEveryArmsEtaMaxBracket_AndDrawsEachArmInItsOwnColour()
    {
        var s = Study(Edges, new Options { Stability = true });
        var st = new StudyRuns(s, ResearchLogSweep.Plan(ResearchLogSweep.Cpu));
        var brackets = StudyPlots.GridBrackets(st);
        Assert.Equal(new LrBracket(3.16e-4, 1e-3), brackets[ResearchLogArms.CosineRelu]);   // diverged from 1e-3 up
        Assert.Equal(new LrBracket(1e-3, Top), brackets[ResearchLogArms.Softmax]);         // 0.6 nat off its best at the top
        Assert.Equal(new LrBracket(null, 1e-4), brackets[ResearchLogArms.Cottention]);     // unstable at every lr
        Assert.Equal(new LrBracket(Top, null), brackets[ResearchLogArms.Cosine]);          // stable on the whole grid
        // a seed that reaches the edge earlier widens the bracket: the union over seeds
        var s2 = Study((a, lr, seed) => a == "adamw cosine-relu" && (lr >= 1e-3 || (seed == 2 && lr >= 3.16e-4)) ? new Outcome(1.0, Diverged: true) : null);
        Assert.Equal(new LrBracket(1e-4, 1e-3), StudyPlots.GridBrackets(new StudyRuns(s2, ResearchLogSweep.Plan(ResearchLogSweep.Cpu)))[ResearchLogArms.CosineRelu]);

        var files = SweepReport.Write(s.Directory);
        var md = File.ReadAllText(files.Markdown);
        Assert.Contains("| adamw cosine-relu | ", md);
        Assert.Contains("| (3.16e-4, 0.001] |", md);          // the bracket in the ℓ(η) table
        Assert.Contains("| (0.00316, above the grid] |", md);
        Assert.Contains(Path.Combine(s.Directory, StudyPlots.LossVsLrFile), files.Plots);
        // both figures are written, and every grid arm appears in its colour in each (exact pixels of the line and markers)
        var s3 = Study(Distinct, new Options { Stability = true });
        files = SweepReport.Write(s3.Directory);
        foreach (var file in new[] { StudyPlots.LossVsLrFile, StudyPlots.StabilityFile })
        {
            var path = Path.Combine(s3.Directory, file);
            Assert.Contains(path, files.Plots);
            using var bitmap = SkiaSharp.SKBitmap.Decode(path);
            Assert.NotNull(bitmap);
            var counts = new Dictionary<uint, int>();
            foreach (var px in bitmap.Pixels) { uint key = (uint)(px.Red << 16 | px.Green << 8 | px.Blue); counts[key] = counts.GetValueOrDefault(key) + 1; }
            foreach (var (arm, style) in StudyPlots.GridArms(st))
            {
                uint c = Convert.ToUInt32(style.Color[1..], 16);
                Assert.True(counts.GetValueOrDefault(c) >= 20, $"{file}: {arm.Arm.Name} ({style.Color}) has {counts.GetValueOrDefault(c)} pixels");
            }
        }
    }

    [Fact]
    public void StabilityDiagnostics_AreNumbersPerRun_NotJson()
    {
        var s = Study((a, lr, seed) => a == "adamw cosine" && lr == Top ? new Outcome(1.0, NormGrowth: 4.0) : null, new Options { Stability = true });
        var md = File.ReadAllText(SweepReport.Write(s.Directory).Markdown);
        var section = md[At(md, "### Stability diagnostics")..At(md, "### Fine-tuning")];
        Assert.DoesNotContain("{", section);
        var run = s.Runs.Single(r => r.Name == "adamw cosine lr=0.00316 seed1");
        // norm 1 at the end of warmup (step 20), 4 at the end in layer 0 (2 in layer 1, from 0.5): growth 4 in both; the slopes
        // 0.1 and 0.3; the logit range 2 × norm and norm: at most 8 and 4; loss min ℓ + 1 = 1.0 + 0.03 (seed 1) + 1
        Assert.Contains($"| {run.Index} | adamw cosine lr=0.00316 seed1 | 2.030 | 0 | 0 | 0.5 | 4, 4 | 0.1, 0.3 | 8, 4 |", section);
        var other = s.Runs.Single(r => r.Name == "adamw cosine lr=0.001 seed1");
        Assert.Contains($"| {other.Index} | adamw cosine lr=0.001 seed1 | 2.030 | 0 | 0 | 0.5 | 1, 1 | 0.1, 0.3 | 2, 1 |", section);
        // the figure's diagnostics read the same numbers
        var stab = StudyPlots.StabilityOf(run)!;
        Assert.Equal(new double?[] { 4, 0.2, 8, 0 }, StudyPlots.Diagnostics.Select(d => d.Read(stab)).Select(x => x is double v ? Math.Round(v, 9) : (double?)null));
    }
}
