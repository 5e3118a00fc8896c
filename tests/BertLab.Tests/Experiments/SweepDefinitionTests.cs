using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Experiments.Study;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

public class SweepDefinitionTests
{
    const string Grid = """
        { // comments are allowed
          "name": "grid",
          "base": {"model": "tiny", "optimizer": {"clip_norm": 0.5}, "run": {"steps": 10}},
          "axes": {"attention": ["softmax", "cosine-n"], "optimizer.lr": [1e-4, 1e-3]},
          "runs": [{"name": "plain"}, {"name": "dropout", "set": {"attention.token_dropout": 0.1}}],
          "seeds": [1, 2],
        }
        """;

    [Fact]
    public void RunsTimesAxesTimesSeeds_InOrder_WithResolvedConfigs()
    {
        var points = SweepDefinition.Parse(Grid, "grid.json").Expand();
        Assert.Equal(2 * 2 * 2 * 2, points.Count);
        Assert.Equal(Enumerable.Range(0, 16), points.Select(p => p.Index));
        // runs outermost, then the first axis, then the second, then seeds
        Assert.Equal("plain softmax lr=1e-4 seed1", points[0].Name);
        Assert.Equal("plain softmax lr=1e-4 seed2", points[1].Name);
        Assert.Equal("plain softmax lr=0.001 seed1", points[2].Name);
        Assert.Equal("plain cosine-n lr=1e-4 seed1", points[4].Name);
        Assert.Equal("dropout softmax lr=1e-4 seed1", points[8].Name);
        Assert.Equal("00-plain-softmax-lr1e-4-seed1", points[0].DirName(points.Count));
        Assert.Equal("15-dropout-cosine-n-lr0.001-seed2", points[15].DirName(points.Count));

        var c = points[13].Config; // dropout, cosine-n, lr 1e-4, seed 2
        Assert.Equal("cosine-n", c["attention"]!["preset"]!.GetValue<string>());
        Assert.Equal(0.1, c["attention"]!["token_dropout"]!.GetValue<double>()); // the run's set refines the axis value
        Assert.Equal(1e-4, c["optimizer"]!["lr"]!.GetValue<double>());
        Assert.Equal(0.5, c["optimizer"]!["clip_norm"]!.GetValue<double>());   // from base
        Assert.Equal("adamw", c["optimizer"]!["name"]!.GetValue<string>());    // from the defaults of `train`
        Assert.Equal(2, c["run"]!["seed"]!.GetValue<long>());
        Assert.Equal(10, c["run"]!["steps"]!.GetValue<int>());
        Assert.Equal(128, c["model"]!["hidden_size"]!.GetValue<int>());        // tiny preset
        Assert.Equal(new[] { "attention", "optimizer.lr", "attention.token_dropout", "run.seed" }, points[13].Settings.Select(s => s.Key));
    }

    [Fact]
    public void NoAxesNoRuns_IsOnePoint()
    {
        var points = SweepDefinition.Parse("""{"name": "one", "base": {"attention": "cottention"}}""", "one.json").Expand();
        Assert.Single(points);
        Assert.Equal("00-one", points[0].DirName(1));
        Assert.Equal("cottention", points[0].Config["attention"]!["preset"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"axes": {"optimizer.lrr": [1e-4]}}""", "optimizer.lrr")]
    [InlineData("""{"axes": {"optimizer.lr": ["fast"]}}""", "optimizer.lr must be a number")]
    [InlineData("""{"axes": {"attention": ["softmax", "nosuch"]}}""", "grid point 1")]
    [InlineData("""{"axes": {"attention": ["softmax", "nosuch"]}}""", "unknown attention preset 'nosuch'")]
    [InlineData("""{"axes": {"optimizer.lr": []}}""", "axes.optimizer.lr must be a non-empty array")]
    [InlineData("""{"axes": {"lr": [1]}}""", "axes.lr: unknown configuration key 'lr'")]
    [InlineData("""{"runs": [{"name": "a"}, {"name": "a"}]}""", "runs[1].name 'a' is used twice")]
    [InlineData("""{"runs": [{"name": "a", "sett": {}}]}""", "runs[0]: unknown key 'sett'")]
    [InlineData("""{"runs": [{"name": "a", "set": {"run.steps": 0}}]}""", "run.steps must be a positive integer")]
    [InlineData("""{"seeds": [1, 1]}""", "seeds: 1 appears twice")]
    [InlineData("""{"axis": {}}""", "unknown key 'axis'; allowed: name, description, base, axes, runs, seeds")]
    [InlineData("""{"base": "tiny"}""", "base must be a run configuration object")]
    [InlineData("""{"name": "x",""", "invalid JSON")]
    public void InvalidSweeps_NameTheKeyPath(string json, string expected)
    {
        var e = Assert.Throws<BertLabException>(() => SweepDefinition.Parse(json, "bad.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("bad.json", e.Message);
    }

    [Theory]
    [InlineData("tiny", 56)]
    [InlineData("cpu", 176)]
    [InlineData("cpu-text", 180)]
    [InlineData("gpu", 212)]
    [InlineData("cpu-reference", 164)]
    public void ResearchLog_EveryBudgetExpands_WithPairedSeeds_TheRecipeSwitches_AndEveryFindingsRunInTheGrid(string budget, int count)
    {
        var def = ResearchLogSweep.Create(budget);
        var points = def.Expand();
        var b = ResearchLogSweep.Budgets[budget];
        Assert.Equal(count, points.Count);
        Assert.Equal(points.Count, points.Select(p => p.Name).Distinct().Count());
        Assert.All(points, p => Assert.Equal(b.Steps, p.Config["run"]!["steps"]!.GetValue<int>()));
        // seeds 1..k paired: every configuration runs once per seed; the calibration runs (softmax at the anchor) on
        // 1..CalibrationSeeds where the budget has an A/A
        long Seed(SweepPoint p) => long.Parse(p.Config["run"]!["seed"]!.ToJsonString());
        bool Calibration(SweepPoint p) => b.CalibrationSeeds is not null && p.Name.StartsWith($"adamw softmax lr={SweepDefinition.FormatNumber(b.AnchorLr)} seed", StringComparison.Ordinal);
        var seeds = points.Where(p => !Calibration(p)).Select(Seed).ToList();
        Assert.Equal(Enumerable.Range(1, b.Seeds).Select(x => (long)x), seeds.Distinct().OrderBy(x => x));
        Assert.All(seeds.GroupBy(x => x), g => Assert.Equal(seeds.Count / b.Seeds, g.Count()));
        if (b.CalibrationSeeds is int cal)
            Assert.Equal(Enumerable.Range(1, cal).Select(x => (long)x), points.Where(Calibration).Select(Seed));
        // the original recipe: ε 1e-7, weight decay 0.01 on every parameter, warmup then constant, clipping only in the clipping arm
        foreach (var p in points)
        {
            var o = p.Config["optimizer"]!;
            Assert.Equal(1e-7, o["eps"]!.GetValue<double>());
            Assert.Empty(o["no_decay"]!.AsArray());
            Assert.Equal("constant", p.Config["schedule"]!["name"]!.GetValue<string>());
            Assert.Equal(p.Name.Contains(" clip ") ? 1.0 : 0.0, o["clip_norm"]!.GetValue<double>());
            Assert.Equal(p.Name.Contains("wd0.1") ? 0.1 : 0.01, o["weight_decay"]!.GetValue<double>());
            Assert.Equal(p.Name.StartsWith("adam ", StringComparison.Ordinal) ? "adam" : "adamw", o["name"]!.GetValue<string>());
            Assert.Equal(b.Precision, p.Config["run"]!["precision"]!.GetValue<string>());
            // every point is a valid run configuration (a synthetic task's vocabulary and lengths fit the model, long arms too)
            var config = RunConfig.FromJson(p.Config);
            Assert.Equal(b.Task is GeneratedTask g ? p.Name.Contains(" long ") ? g.LongSpec : g.Spec : null, config.Data.Synthetic);
        }
        // half-decade grid around the anchor; the log's 1e-5 and 1e-4 map onto anchor/10 and the anchor
        Assert.Contains(b.Log1e5, b.Grid);
        Assert.Contains(b.Log1e4, b.Grid);
        Assert.Equal(b.AnchorLr / 10, b.Log1e5, 12);
        foreach (var lr in b.Grid)
        {
            double halfDecades = 2 * Math.Log10(lr / b.AnchorLr);
            Assert.InRange(Math.Abs(halfDecades - Math.Round(halfDecades)), 0, 0.01);
        }
        // angular runs under cosine-relu's scaling; the penalty is on plain cosine
        var angular = points.First(p => p.Name.Contains("angular"));
        Assert.Equal("none", angular.Config["attention"]!["scaling"]!.GetValue<string>());
        var pen = points.First(p => p.Name.Contains("penalty0.1"));
        Assert.Equal("cosine", pen.Config["attention"]!["preset"]!.GetValue<string>());
        Assert.Equal(0.1, pen.Config["attention"]!["output_penalty"]!.GetValue<double>());
        // the findings refer to runs by name: every one of them must be a grid point
        var pending = new SweepResults
        {
            Directory = "x", Plan = new JsonObject { ["name"] = def.Name, ["builtin"] = def.Builtin, ["budget"] = budget },
            Runs = points.Select(p => new RunRecord { Index = p.Index, Name = p.Name, Dir = p.DirName(points.Count), Settings = new JsonObject(), Status = RunStatus.Pending }).ToList(),
        };
        var verdicts = ResearchLogFindings.Evaluate(pending);
        Assert.Equal(ResearchLogFindings.Ids, verdicts.Select(v => v.Id));
        foreach (var v in verdicts)
            foreach (var run in v.Runs) Assert.True(pending.Find(run) is not null, $"finding {v.Id} refers to '{run}', which is not a grid point");
        Assert.All(verdicts, v => Assert.False(v.Result.Decided)); // nothing has run: nothing is decided
        var longRun = points.First(p => p.Name.StartsWith("adamw cosine-sqrt-n long", StringComparison.Ordinal));
        Assert.Equal(b.LongSeqLen, longRun.Config["data"]!["seq_len"]!.GetValue<int>());
        Assert.True(longRun.Config["model"]!["max_position_embeddings"]!.GetValue<int>() >= b.LongSeqLen);
        Assert.Throws<BertLabException>(() => ResearchLogSweep.Create("huge"));
    }
}

public class SweepExampleTests
{
    [Fact]
    public void TheExampleSweepFile_IsValid()
    {
        var root = Path.GetDirectoryName(DataPaths.Root)!;   // the repository (data/ sits at its root)
        var def = SweepDefinition.Load(Path.Combine(root, "examples", "sweep-attention-lr.json"));
        Assert.Equal(2 * 3 * 3 * 2, def.Expand().Count);
    }
}
