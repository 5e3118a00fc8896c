using BertLab.Data.Tasks;
using Xunit;

namespace BertLab.Tests.Tasks;

/// <summary>Each GLUE loader reads a hand-written sample in the official column layout (fixtures/glue/).</summary>
public class GlueLoaderTests
{
    static string Glue(string folder) => Path.Combine(AppContext.BaseDirectory, "fixtures", "glue", folder);
    static TaskDataset Load(TaskSpec spec) => TaskDataLoader.Load(spec, Glue(spec.GlueFolder!));

    [Fact]
    public void CoLA_HasNoHeader_SentenceIsColumnFour_LabelColumnTwo()
    {
        var d = Load(GlueTasks.CoLA);
        Assert.Equal(4, d.Train.Count);
        Assert.Equal(new int?[] { 1, 0, 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("The cat sat on the mat.", d.Train[0].Text);
        Assert.Equal("She said \"hello to me.", d.Train[2].Text);   // unbalanced quote read as a character
        Assert.Null(d.Train[0].Pair);
        Assert.Equal(3, d.Dev.Single().Examples.Count);
        Assert.Equal("It's raining.", d.Dev[0].Examples[2].Text);
        Assert.Equal("acceptable", d.Spec.Labels![1]);
    }

    [Fact]
    public void SST2_ReadsSentenceAndLabel()
    {
        var d = Load(GlueTasks.SST2);
        Assert.Equal(new int?[] { 1, 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("the plot is \" thin and the jokes are stale ", d.Train[1].Text);
        Assert.Equal(new int?[] { 0, 1 }, d.Dev[0].Examples.Select(e => e.LabelId));
        Assert.Equal("negative", d.Spec.Labels![0]);
    }

    [Fact]
    public void MRPC_ReadsStringsAndQuality_DespiteTheBom()
    {
        var d = Load(GlueTasks.MRPC);
        Assert.Equal(3, d.Train.Count);
        Assert.Equal("The company said profits rose 5 percent.", d.Train[0].Text);
        Assert.Equal("Profits rose 5 percent, the company said.", d.Train[0].Pair);
        Assert.Equal("He said it was \"a great day\".", d.Train[2].Pair);
        Assert.Equal(new int?[] { 1, 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal(new int?[] { 0, 1 }, d.Dev[0].Examples.Select(e => e.LabelId));
        Assert.Equal("equivalent", d.Spec.Labels![d.Spec.PositiveLabelId]);
    }

    [Fact]
    public void QQP_KeepsStrayQuotes_SkipsTheShortRow()
    {
        var d = Load(GlueTasks.QQP);
        Assert.Equal(3, d.Train.Count);
        Assert.Equal(1, d.SkippedRows);
        Assert.Equal("How do I learn \"C#?", d.Train[0].Text);
        Assert.Equal("What is the best way to learn C#?", d.Train[0].Pair);
        Assert.Equal("What is \"love\"?", d.Train[2].Text);
        Assert.Equal(new int?[] { 1, 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("Is \"coffee bad for you?", d.Dev[0].Examples[0].Text);
    }

    [Fact]
    public void STSB_IsRegressionOnTheScoreColumn_CrlfTolerated()
    {
        var d = Load(GlueTasks.STSB);
        Assert.True(d.Spec.IsRegression);
        Assert.Equal(1, d.Spec.NumLabels);
        Assert.Equal(new double?[] { 5.0, 0.2, 3.8 }, d.Train.Select(e => e.Score));
        Assert.All(d.Train, e => Assert.Null(e.LabelId));
        Assert.Equal("I \"think\" so.", d.Train[2].Text);
        Assert.Equal("I believe so.", d.Train[2].Pair);
        var dev = d.Dev[0].Examples;
        Assert.Equal(new double?[] { 4.75, 0.0, 3.5 }, dev.Select(e => e.Score));
        Assert.Equal("Oil prices go up sharply.", dev[2].Pair);
    }

    [Fact]
    public void MNLI_HasMatchedAndMismatchedDev_GoldLabelIsLastWhateverTheLabelColumns()
    {
        var d = Load(GlueTasks.MNLI);
        Assert.Equal(new[] { "contradiction", "entailment", "neutral" }, d.Spec.Labels);
        Assert.Equal(new int?[] { 1, 0, 2 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("She said \"maybe later.", d.Train[2].Text);
        Assert.Equal("She will call tomorrow.", d.Train[2].Pair);
        Assert.Equal(new[] { "matched", "mismatched" }, d.Dev.Select(s => s.Split.Name));
        Assert.Equal(new int?[] { 1, 0 }, d.Dev[0].Examples.Select(e => e.LabelId));
        Assert.Equal(new int?[] { 2, 0, 1 }, d.Dev[1].Examples.Select(e => e.LabelId));
        Assert.Equal("The word \"set\" has many meanings.", d.Dev[1].Examples[1].Text);
        Assert.Equal(new[] { "accuracy_matched", "accuracy_mismatched" }, d.Spec.MetricNames);
    }

    [Theory]
    [InlineData("qnli", "When did the war end?", "The war ended in 1945.")]
    [InlineData("rte", "The museum opened in 1990 in the old town.", "The museum is in the old town.")]
    public void EntailmentPairTasks_NamedLabels(string task, string text, string pair)
    {
        var d = Load(TaskRegistry.Find(task)!);
        Assert.Equal(new[] { "entailment", "not_entailment" }, d.Spec.Labels);
        Assert.Equal(text, d.Train[0].Text);
        Assert.Equal(pair, d.Train[0].Pair);
        Assert.Equal(new int?[] { 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal(new int?[] { 0, 1 }, d.Dev[0].Examples.Select(e => e.LabelId));
    }

    [Fact]
    public void WNLI_OneMeansEntailment()
    {
        var d = Load(GlueTasks.WNLI);
        Assert.Equal(new int?[] { 1, 0 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("entailment", d.Spec.Labels![1]);
        Assert.Equal("Bill had helped Tom.", d.Dev[0].Examples[0].Pair);
    }

    [Fact]
    public void Registry_ResolvesNamesFoldersAndTheGlueRoot()
    {
        Assert.Same(GlueTasks.SST2, TaskRegistry.Find("SST-2"));
        Assert.Same(GlueTasks.STSB, TaskRegistry.Find("sts-b"));
        Assert.Same(GlueTasks.MNLI, TaskRegistry.Find("mnli"));
        Assert.Same(GlueTasks.MRPC, TaskRegistry.Resolve(Glue("MRPC")).Spec);
        var viaRoot = TaskRegistry.Resolve("rte", Path.Combine(AppContext.BaseDirectory, "fixtures", "glue"));
        Assert.Equal(Glue("RTE"), viaRoot.Directory);
        Assert.Equal(2, viaRoot.Load().Train.Count);
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve("nosuchtask"));
        Assert.Contains("sentiment", e.Message);
    }

    [Fact]
    public void GlueTaskWithoutData_SaysHowToGiveIt()
    {
        var saved = Environment.GetEnvironmentVariable(TaskRegistry.GlueDirVariable);
        Environment.SetEnvironmentVariable(TaskRegistry.GlueDirVariable, null);
        try
        {
            var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve("cola"));
            Assert.Contains("--data", e.Message);
        }
        finally { Environment.SetEnvironmentVariable(TaskRegistry.GlueDirVariable, saved); }
    }

    [Fact]
    public void EmbeddedSentiment_Is2400Train600Dev()
    {
        var d = TaskRegistry.Resolve("sentiment").Load();
        Assert.Equal(2400, d.Train.Count);
        Assert.Equal(600, d.Dev[0].Examples.Count);
        Assert.All(d.Train, e => Assert.InRange(e.LabelId!.Value, 0, 1));
        Assert.Equal("Just spicy enough.. Perfect actually.", d.Train[2].Text);
        Assert.Equal(1, d.Train[2].LabelId);
    }

    [Fact]
    public void EmbeddedImdb_ReadsGzippedJsonl()
    {
        var d = TaskRegistry.Resolve("imdb").Load();
        Assert.Equal(20000, d.Train.Count);
        Assert.Equal(2500, d.Dev[0].Examples.Count);
        Assert.StartsWith("This movie basically is a very well made production", d.Dev[0].Examples[0].Text);
        Assert.Equal(1265, d.Dev[0].Examples.Count(e => e.LabelId == 1));
    }
}
