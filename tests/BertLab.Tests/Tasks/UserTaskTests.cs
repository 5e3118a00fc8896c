using System.IO.Compression;
using System.Text;
using BertLab.Data.Tasks;
using Xunit;

namespace BertLab.Tests.Tasks;

/// <summary>The generic loader for a user's TSV / CSV / JSONL data.</summary>
public sealed class UserTaskTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-usertask-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Csv_QuotedFieldsWithCommasQuotesAndNewlines_StringLabelsSorted()
    {
        Write("t/train.csv", "text,label\n\"Good, really good\",pos\n\"She said \"\"no\"\"\",neg\n\"two\nlines\",neu\nplain,pos\n");
        Write("t/dev.csv", "text,label\r\nfine,neu\r\n");
        var r = TaskRegistry.Resolve(Path.Combine(_dir, "t"));
        var d = r.Load();
        Assert.Equal("t", d.Spec.Name);
        Assert.Equal(new[] { "neg", "neu", "pos" }, d.Spec.Labels);
        Assert.Equal(new[] { "Good, really good", "She said \"no\"", "two\nlines", "plain" }, d.Train.Select(e => e.Text));
        Assert.Equal(new int?[] { 2, 0, 1, 2 }, d.Train.Select(e => e.LabelId));
        Assert.Equal(1, d.Dev[0].Examples[0].LabelId);
        Assert.Equal(new[] { TaskMetric.Accuracy }, d.Spec.Metrics);
        Assert.Equal("train.csv:6", d.Train[3].Source);   // the two-line field spans lines 4-5
    }

    [Fact]
    public void Jsonl_NumericLabelsSortNumerically_PairColumnFound_GzipRead()
    {
        string Lines(params string[] l) => string.Join("\n", l) + "\n";
        Write("j/train.jsonl", Lines(
            """{"sentence1": "a", "sentence2": "b", "label": 10}""",
            """{"sentence1": "c", "sentence2": "d", "label": 2}""",
            """{"sentence1": "e \"q\"", "sentence2": "f", "label": 10}"""));
        var dev = Path.Combine(_dir, "j", "dev.jsonl.gz");
        using (var gz = new GZipStream(File.Create(dev), CompressionLevel.Fastest))
            gz.Write(Encoding.UTF8.GetBytes(Lines("""{"sentence1": "g", "sentence2": "h", "label": 2}""")));
        var d = TaskRegistry.Resolve(Path.Combine(_dir, "j")).Load();
        Assert.Equal(new[] { "2", "10" }, d.Spec.Labels);
        Assert.Equal(new int?[] { 1, 0, 1 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("e \"q\"", d.Train[2].Text);
        Assert.Equal("d", d.Train[1].Pair);
        Assert.Equal(0, d.Dev[0].Examples[0].LabelId);
        Assert.Equal(new[] { TaskMetric.Accuracy, TaskMetric.F1, TaskMetric.Mcc }, d.Spec.Metrics);
    }

    [Fact]
    public void Tsv_FractionalLabels_AreRegression_QuotesAreCharacters()
    {
        Write("r/train.tsv", "text\tlabel\n\"hello\t0.5\nworld\t2\n");
        Write("r/dev.tsv", "text\tlabel\nx\t1.25\n");
        var d = TaskRegistry.Resolve(Path.Combine(_dir, "r")).Load();
        Assert.True(d.Spec.IsRegression);
        Assert.Equal(new double?[] { 0.5, 2 }, d.Train.Select(e => e.Score));
        Assert.Equal("\"hello", d.Train[0].Text);
        Assert.Equal(new[] { "pearson", "spearman" }, d.Spec.MetricNames);
    }

    [Fact]
    public void TaskFile_NamesColumnsAndClasses()
    {
        Write("f/data/tr.tsv", "review\tstars\tother\nnice\tgood\tx\nawful\tbad\ty\n");
        Write("f/data/dv.tsv", "review\tstars\tother\nmeh\tbad\tz\n");
        var json = Write("f/task.json", """
            // a user task
            { "name": "reviews", "train": "data/tr.tsv", "dev": "data/dv.tsv",
              "text_column": "review", "label_column": "stars", "labels": ["bad", "good"] }
            """);
        var r = TaskRegistry.Resolve(json);
        var d = r.Load();
        Assert.Equal("reviews", d.Spec.Name);
        Assert.Equal(new[] { "bad", "good" }, d.Spec.Labels);
        Assert.Equal(new int?[] { 1, 0 }, d.Train.Select(e => e.LabelId));
        Assert.Equal("meh", d.Dev[0].Examples[0].Text);
        // the folder holding task.json resolves to the same task
        Assert.Equal("reviews", TaskRegistry.Resolve(Path.Combine(_dir, "f")).Spec.Name);
    }

    [Fact]
    public void TaskFile_UnknownKey_IsAnError()
    {
        var json = Write("bad.json", """{ "train": "a.tsv", "dev": "b.tsv", "text_col": "x" }""");
        var e = Assert.Throws<BertLabException>(() => UserTasks.FromJsonFile(json));
        Assert.Contains("text_col", e.Message);
        Assert.Contains("text_column", e.Message);
    }

    [Fact]
    public void DevLabelNotInTrain_NamesTheRowAndTheClasses()
    {
        Write("u/train.tsv", "text\tlabel\na\tyes\nb\tno\n");
        Write("u/dev.tsv", "text\tlabel\nc\tmaybe\n");
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve(Path.Combine(_dir, "u")).Load());
        Assert.Contains("dev.tsv:2", e.Message);
        Assert.Contains("'maybe'", e.Message);
        Assert.Contains("'no', 'yes'", e.Message);
    }

    [Fact]
    public void MissingTextColumn_ListsTheColumns()
    {
        Write("m/train.tsv", "body\tlabel\na\t1\n");
        Write("m/dev.tsv", "body\tlabel\nb\t0\n");
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve(Path.Combine(_dir, "m")));
        Assert.Contains("'body'", e.Message);
    }

    [Fact]
    public void ShortRowInUserData_IsAnErrorWithItsLine()
    {
        Write("s/train.tsv", "text\tlabel\na\t1\nb\n");
        Write("s/dev.tsv", "text\tlabel\nb\t0\n");
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve(Path.Combine(_dir, "s")).Load());
        Assert.Contains("train.tsv:3", e.Message);
    }

    [Theory]
    [InlineData("index,question,sentence,label", "question", "sentence")]        // QNLI: "sentence" is the pair here
    [InlineData("index,sentence", "sentence", null)]                             // CoLA / SST-2 test files
    [InlineData("Quality,#1 ID,#2 ID,#1 String,#2 String", "#1 String", "#2 String")]
    [InlineData("id,qid1,qid2,question1,question2", "question1", "question2")]
    [InlineData("Text,Label", "Text", null)]
    public void GuessTextColumns_KnowsTheGlueLayouts(string header, string text, string? pair)
    {
        var guess = UserTasks.GuessTextColumns(header.Split(','));
        Assert.Equal((text, pair), guess);
    }
}
