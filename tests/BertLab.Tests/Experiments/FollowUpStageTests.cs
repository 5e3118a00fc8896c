using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>
/// The text study's follow-up stage and A/A over planted studies: a launcher writes each run's metrics and summary with the
/// trainer's own writers from a known curve (ℓ as a function of arm, lr, seed and horizon), so the bisection must find a
/// planted edge of stability, the horizon check must see a planted flip, and the A/A halves must come out as planted.
/// </summary>
public sealed class FollowUpStageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-followup-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    const double Unigram = 6.44;
    /// <summary>Past the edge of stability: stuck above the unigram level, more than 0.5 nat above any arm's ℓ*.</summary>
    const double Stuck = 6.7;

    /// <summary>Writes a run as if trained: validation every eval_interval up to run.steps (a curve that converges to <c>Loss</c>),
    /// the unigram level beside it, a summary; diverged runs stop early.</summary>
    sealed class PlantedLauncher(Func<string, double, long, int, (double Loss, bool Diverged)> outcome) : IRunLauncher
    {
        public int Launched;
        public LaunchResult Launch(RunRequest request, CancellationToken cancel = default)
        {
            Interlocked.Increment(ref Launched);
            var config = RunConfig.FromJson(JsonNode.Parse(File.ReadAllText(request.ConfigPath))!.AsObject());
            string arm = Path.GetFileName(request.RunDir);
            var dir = new RunDirectory(request.RunDir);
            dir.Create();
            dir.WriteConfig(config);
            string name = SweepState.Read(Path.GetDirectoryName(Path.GetDirectoryName(request.RunDir))!)["points"]!.AsArray()
                .First(p => p!["dir"]!.GetValue<string>() == "runs/" + Path.GetFileName(request.RunDir))!["name"]!.GetValue<string>();
            string armName = name[..name.IndexOf(" lr=", StringComparison.Ordinal)];
            var (loss, diverged) = outcome(armName, config.Optimizer.Lr, config.Run.Seed, config.Run.Steps);
            int last = diverged ? config.Run.EvalInterval : config.Run.Steps;
            dir.DeleteMetrics();
            for (int step = config.Run.EvalInterval; step <= last; step += config.Run.EvalInterval)
            {
                double l = loss + 0.2 * (last - step) / (double)last;
                dir.AppendMetrics(new StepRecord
                {
                    Step = step, Loss = l, MlmAccuracy = 0.1, Lr = config.Optimizer.Lr, GradNorm = 0.5, TokensPerS = 1000, ElapsedS = step,
                    Validation = diverged ? null : new Evaluation(l, 0.2, Math.Exp(l), 1000, Unigram),
                });
            }
            var summary = new RunSummary
            {
                Status = diverged ? RunStatus.Diverged : RunStatus.Completed, Step = last, Steps = config.Run.Steps,
                Validation = diverged ? null : new Evaluation(loss, 0.2, Math.Exp(loss), 1000, Unigram), Reason = diverged ? "planted divergence" : null,
            };
            dir.WriteSummary(summary);
            return new LaunchResult(ExitCodes.For(summary.Status)) { Summary = summary };
        }
    }

    static readonly SweepRunOptions Serial = new() { Workers = 1, Cores = 1, PruneCheckpoints = false };

    /// <summary>The cpu-text study, planted: every arm trains to 5.9 below its edge of stability and sits on the unigram level
    /// above it; <paramref name="edge"/> gives an arm's planted η_max (default 1.5e-3 for every grid arm).</summary>
    (string Dir, SweepDefinition Def) PlantedStudy(Func<string, double, long, int, (double, bool)> outcome)
    {
        var dir = Path.Combine(_dir, "study-" + Guid.NewGuid().ToString("N")[..6]);
        var def = ResearchLogSweep.Create("cpu-text"); // plan only: no artefacts are needed by the planted launcher
        new SweepRunner(def, dir, new PlantedLauncher(outcome), Serial).Run();
        return (dir, def);
    }

    [Fact]
    public void Bisection_FindsAPlantedEdgeOfStability_ToAnEighthOfADecade_AndTheMarginFollows()
    {
        const double planted = 2.0e-3; // between the grid's 1e-3 (stable) and 3.16e-3 (unstable)
        (double, bool) Outcome(string arm, double lr, long seed, int steps) =>
            arm == "adamw cosine-n" ? (lr <= planted ? 5.9 + 0.01 * seed : Stuck, false)
            : (lr <= 1e-3 ? 5.9 + 0.01 * seed : Stuck, false);
        var (dir, def) = PlantedStudy(Outcome);
        var launcher = new PlantedLauncher(Outcome);
        ResearchLogFollowUp.RunBisection(dir, def, launcher, Serial, _ => { });

        var (_, budget, _) = ResearchLogFollowUp.Load(dir, withBisection: false);
        var (_, _, st) = ResearchLogFollowUp.Load(dir, withBisection: true);
        Assert.Equal(2, st.Bisection.Count);
        Assert.Equal(budget.FollowUp!.LrResolutionDecades, st.LrMarginDecades, 12);
        Assert.Equal(0.125, st.LrMarginDecades, 12);
        var cosineN = ResearchLogArms.CosineN;
        foreach (var seed in st.Seeds)
        {
            var (lo, hi) = st.Bracket(cosineN, seed)!.Value;
            Assert.NotNull(hi);
            Assert.InRange(planted, lo, hi!.Value);
            Assert.InRange(Math.Log10(hi.Value / lo), 0.12, 0.13); // two halvings of the half-decade step
            // every other η_max arm's edge is at 1e-3: its bracket closes from above onto it
            var (lo2, hi2) = st.Bracket(ResearchLogArms.CosineRelu, seed)!.Value;
            Assert.Equal(1e-3, lo2, 12);
            Assert.InRange(Math.Log10(hi2!.Value / lo2), 0.12, 0.13);
        }
        // η_max(cosine-n) − η_max(cosine) ≈ log10(1.78e-3 / 1e-3) = 0.25 decade, beyond the refined 0.125 margin: finding 8 decides
        var v8 = ResearchLogFindings.Evaluate(st).Single(v => v.Id == "8");
        Assert.Equal("agrees", v8.VerdictName);
        // on the grid alone both η_max are 1e-3: the same finding disagrees (equivalent within a quarter decade)
        var (_, _, grid) = ResearchLogFollowUp.Load(dir, withBisection: false);
        Assert.Equal("disagrees", ResearchLogFindings.Evaluate(grid).Single(v => v.Id == "8").VerdictName);
        // a second run of the stage plans the same rounds and launches nothing
        int before = launcher.Launched;
        ResearchLogFollowUp.RunBisection(dir, def, launcher, Serial, _ => { });
        Assert.Equal(before, launcher.Launched);
    }

    /// <summary>The follow-up's runs carry the study's artefact paths as the first stage ran them in its directory (absolute),
    /// not the plan's bare file names: a horizon run of the punctuation-stripped arm once failed with "corpus not found".</summary>
    [Fact]
    public void FollowUpRuns_TakeTheArtefactPathsOfTheFirstStageAsItRanInItsDirectory()
    {
        (double, bool) Outcome(string arm, double lr, long seed, int steps) =>
            (lr > 1e-3 ? Unigram : 5.9 + 0.002 * seed + (arm == "adamw softmax" ? -0.05 : 0.02), false);
        var (dir, _) = PlantedStudy(Outcome);
        var (_, _, first) = ResearchLogFollowUp.Load(dir, withBisection: false);
        var stage = ResearchLogSweep.Create("cpu-text", dir);   // the definition as the sweep verb runs it in dir
        var horizon = FollowUpPlan.Horizon(first, stage, ResearchLogFindings.Evaluate(first), dir)!;
        var stripped = horizon.Runs.Where(r => r.Name.Contains("punctuation-stripped")).ToList();
        Assert.NotEmpty(stripped);
        var expected = Path.Combine(Path.GetFullPath(dir), ResearchLogSweep.ArtifactsFolder, CorpusTask.StrippedCorpusFile);
        foreach (var run in stripped)
        {
            var corpus = run.Set.Last(kv => kv.Key == RunConfigKeys.DataCorpus.Path).Value!.AsArray();
            Assert.Equal(expected, Assert.Single(corpus)!.GetValue<string>());
        }
    }

    [Fact]
    public void HorizonCheck_SeesAPlantedFlip_AndRanksTheMechanisms()
    {
        // at the budget's 800 steps qkv-norm beats cosine by 0.10 (finding 6c agrees); at 4 × the steps cosine is ahead by 0.10
        (double, bool) Outcome(string arm, double lr, long seed, int steps)
        {
            bool longer = steps > 800;
            double l = 5.9 + 0.002 * seed + (arm switch
            {
                "adamw qkv-norm" => longer ? 0.10 : -0.10,
                "adamw cosine" => 0.0,
                "adamw softmax" => -0.05,
                _ => 0.02,
            }) - (longer ? 0.2 : 0);
            return (lr > 1e-3 ? Unigram : l, false);
        }
        var (dir, def) = PlantedStudy(Outcome);
        var (results, _, first) = ResearchLogFollowUp.Load(dir, withBisection: false);
        var verdicts = ResearchLogFindings.Evaluate(first);
        Assert.Equal("agrees", verdicts.Single(v => v.Id == "6c").VerdictName);

        ResearchLogFollowUp.RunHorizon(dir, def, new PlantedLauncher(Outcome), Serial, _ => { });
        var longer = new StudyRuns(SweepResults.Load(FollowUpPlan.HorizonDir(dir)), first.Plan);
        Assert.All(longer.Results.Runs, r => Assert.Equal(3200, r.Config!["run"]!["steps"]!.GetValue<int>()));
        var checks = FollowUpResults.Horizon(first, longer, verdicts, ResearchLogFindings.Evaluate);
        var c6 = checks.Single(c => c.Id == "6c");
        Assert.True(c6.Complete);
        Assert.True(c6.Flips);
        Assert.Equal(MarginRegion.ABetter, c6.Pairs.Single().BudgetRegion);
        Assert.Equal(MarginRegion.BBetter, c6.Pairs.Single().LongerRegion);
        // findings whose arms keep their order hold
        Assert.Contains(checks, c => c.Id != "6c" && c.Holds);
        // the ranking of the grid arms at η*: the same order at both horizons except where planted otherwise
        var tau = FollowUpResults.Ranking(first, longer, 2)!;
        Assert.True(tau.Items.Count >= 5);
        Assert.InRange(tau.Tau, -1, 1);
    }

    [Theory]
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 1, 3, 2, 4 }, 4.0 / 6)]   // one discordant pair of six
    [InlineData(new double[] { 1, 2, 3, 4 }, new double[] { 4, 3, 2, 1 }, -1.0)]
    [InlineData(new double[] { 1, 2, 3 }, new double[] { 1, 1, 2 }, 0.8164965809)]   // 2 concordant, 1 tie in y: 2 / √(3·2)
    public void KendallTauB_MatchesHandCounts(double[] x, double[] y, double expected) =>
        Assert.Equal(expected, FollowUpResults.KendallTauB(x, y), 6);

    [Fact]
    public void AA_TheCalibrationHalves_AreEquivalentWhenAlike_AndNotWhenOneHalfIsShifted()
    {
        // seeds 1–16 of softmax at 1e-3, spread 0.01 around 5.90; the second half shifted by 0 or by 0.2
        foreach (var shift in new[] { 0.0, 0.2 })
        {
            (double, bool) Outcome(string arm, double lr, long seed, int steps) =>
                (lr > 1e-3 ? Unigram : 5.9 + 0.01 * Math.Sin(seed * 1.7) + (arm == "adamw softmax" && seed > 8 ? shift : 0), false);
            var (dir, _) = PlantedStudy(Outcome);
            var (_, _, st) = ResearchLogFollowUp.Load(dir, withBisection: false);
            Assert.NotNull(st.AA);
            Assert.Equal(8, st.AA!.N);
            Assert.Equal(shift == 0 ? ComparisonOutcome.Equivalent : ComparisonOutcome.ABetter, st.AA.Outcome); // a = seeds 1–8, lower loss
        }
    }

    [Fact]
    public void Report_ShowsTheFollowUpStage_TheRefinedEdge_ThePlantedFlip_AndTheDownstreamClaim()
    {
        // qkv-norm's advantage over cosine reverses at the longer horizon (as above); every edge of stability between 1e-3 and 3.16e-3
        (double, bool) Outcome(string arm, double lr, long seed, int steps)
        {
            bool longer = steps > 800;
            double l = 5.9 + 0.002 * seed + (arm switch { "adamw qkv-norm" => longer ? 0.10 : -0.10, "adamw softmax" => -0.05, _ => 0.02 }) - (longer ? 0.2 : 0);
            return (lr > 1e-3 ? Unigram : l, false);
        }
        var (dir, def) = PlantedStudy(Outcome);
        var launcher = new PlantedLauncher(Outcome);
        ResearchLogFollowUp.RunBisection(dir, def, launcher, Serial, _ => { });
        ResearchLogFollowUp.RunHorizon(dir, def, launcher, Serial, _ => { });
        // downstream: softmax 2 points ahead of cottention on both tasks (beyond the 1-point margin), the others between
        var (_, _, first) = ResearchLogFollowUp.Load(dir, withBisection: false);
        var jobs = FollowUpPlan.Downstream(first, ResearchLogFollowUp.DownstreamArms, dir);
        Assert.Equal(ResearchLogFollowUp.DownstreamArms.Count * first.Seeds.Count * 2, jobs.Count);
        foreach (var job in jobs)
        {
            double acc = (job.Arm == ResearchLogArms.Softmax ? 0.80 : job.Arm == ResearchLogArms.Cottention ? 0.78 : 0.79) + 0.003 * job.Seed;
            Directory.CreateDirectory(job.OutDir);
            File.WriteAllText(job.ResultPath, new JsonObject { ["metrics"] = new JsonObject { [job.Task.Metric] = acc } }.ToJsonString());
        }

        var files = SweepReport.Write(dir, Path.Combine(dir, "report"));
        var md = File.ReadAllText(files.Markdown);
        Assert.Contains("## Edge of stability at the bisection's resolution (follow-up)", md);
        Assert.Contains("## Horizon check: 4 × the steps (follow-up)", md);
        Assert.Contains("Kendall's τ-b", md);
        Assert.Contains("## Downstream accuracy per mechanism (follow-up)", md);
        Assert.True(md.IndexOf("## Findings", StringComparison.Ordinal) < md.IndexOf("## Horizon check", StringComparison.Ordinal));

        var followUp = JsonNode.Parse(File.ReadAllText(files.Findings!))!["follow_up"]!;
        Assert.Equal(2, followUp["bisection_rounds"]!.GetValue<int>());
        Assert.Equal(0.125, followUp["lr_margin_decades"]!.GetValue<double>(), 9);
        var h6c = followUp["horizon"]!.AsArray().Single(h => h!["id"]!.GetValue<string>() == "6c")!;
        Assert.True(h6c["flips"]!.GetValue<bool>());
        Assert.Contains(followUp["horizon"]!.AsArray(), h => h!["holds"]!.GetValue<bool>());
        Assert.Equal("agrees", followUp["paper_downstream_claim"]!["verdict"]!.GetValue<string>());
        var sentiment = followUp["paper_downstream_claim"]!["tasks"]!.AsArray().Single(t => t!["task"]!.GetValue<string>() == "sentiment")!["statistic"]!;
        Assert.Equal(0.02, sentiment["mean"]!.GetValue<double>(), 6);
        // the same files give the same findings.json
        var again = SweepReport.Write(dir, Path.Combine(dir, "report2"));
        Assert.Equal(File.ReadAllText(files.Findings!), File.ReadAllText(again.Findings!));

        // without the downstream results the claim is absent, not invented
        foreach (var job in jobs) File.Delete(job.ResultPath);
        var bare = JsonNode.Parse(File.ReadAllText(SweepReport.Write(dir, Path.Combine(dir, "report3")).Findings!))!["follow_up"]!;
        Assert.Null(bare["paper_downstream_claim"]);
        Assert.NotNull(bare["horizon"]);
    }
}
