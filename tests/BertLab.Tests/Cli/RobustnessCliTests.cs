using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BertLab.Cli;
using BertLab.Data.Tasks;
using BertLab.Model;
using BertLab.Tests.EndToEnd;
using TorchSharp;
using Xunit;
using BertLab.IO;

namespace BertLab.Tests.Cli;

/// <summary>
/// A test that mounts a small tmpfs (disk full, read-only file system): needs root and a kernel that lets this process
/// mount (CI runs as root); skipped, saying why, otherwise.
/// </summary>
public sealed class MountFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Why = new(Probe);

    public MountFactAttribute()
    {
        if (Why.Value is { } why) Skip = why;
    }

    static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux (mounts a tmpfs)";
        if (!Environment.IsPrivilegedProcess) return "needs root to mount a tmpfs (disk-full and read-only file system cases)";
        var dir = Directory.CreateTempSubdirectory("bertlab-mount-probe-").FullName;
        try
        {
            if (!SmallFileSystem.TryMount(dir, "size=64k", out var error)) return $"cannot mount a tmpfs here ({error})";
            SmallFileSystem.Unmount(dir);
            return null;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

/// <summary>A small tmpfs mounted on a fresh folder: full after a few KB, or read-only; unmounted on dispose.</summary>
public sealed class SmallFileSystem : IDisposable
{
    public string Root { get; }

    public SmallFileSystem(bool readOnly = false, string size = "64k")
    {
        Root = Directory.CreateTempSubdirectory("bertlab-fs-").FullName;
        if (!TryMount(Root, $"size={size}{(readOnly ? ",ro" : "")}", out var error)) throw new InvalidOperationException($"mount failed: {error}");
    }

    public void Dispose()
    {
        Unmount(Root);
        Directory.Delete(Root, recursive: true);
    }

    public static bool TryMount(string dir, string options, out string error)
    {
        var (code, output) = Exec("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir);
        error = output.Trim();
        return code == 0;
    }

    public static void Unmount(string dir) => Exec("umount", dir);

    static (int, string) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, text);
        }
        catch (Exception e) { return (-1, e.Message); }
    }
}

/// <summary>
/// Issue 14's faults outside the trainer: I/O failures (disk full, read-only, a file where a folder belongs and back),
/// predict's one row per input row, fine-tuning label errors, invalid input values and command-line parse errors.
/// Each is one clear message and exit code 2, never a stack trace.
/// </summary>
public sealed class RobustnessCliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-robust-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs a verb in-process as Program.cs does; returns the exit code and what it wrote to stderr.</summary>
    static (int Code, string Error) Run(IVerb verb, params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(verb.Build());
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try { return (Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false })), err.ToString()); }
        finally { Console.SetError(saved); }
    }

    string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    string TinyModel(int maxPositions = 64)
    {
        var dir = Path.Combine(_dir, "tiny");
        if (Directory.Exists(dir)) return dir;
        var config = BertConfig.FromJson($$"""
            { "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": {{maxPositions}}, "initializer_range": 0.1 }
            """);
        torch.manual_seed(0);
        using var model = new BertForMaskedLM(config);
        BertCheckpoint.Save(model, config, dir);
        return dir;
    }

    /// <summary>A (randomly initialised) two-class classifier, as bertlab finetune saves one.</summary>
    string TinyClassifier()
    {
        var dir = Path.Combine(_dir, "classifier");
        if (Directory.Exists(dir)) return dir;
        var config = BertConfig.FromJson("""
            { "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": 64, "initializer_range": 0.1, "id2label": {"0": "negative", "1": "positive"} }
            """);
        torch.manual_seed(0);
        using var model = new BertForSequenceClassification(config);
        BertCheckpoint.Save(model, config, dir);
        return dir;
    }

    static void AssertOneMessage((int Code, string Error) r, params string[] expected)
    {
        Assert.True(r.Code == Verb.UserError, $"exit {r.Code}, expected {Verb.UserError}; stderr: {r.Error}");
        foreach (var e in expected) Assert.Contains(e, r.Error);
        Assert.DoesNotContain("   at ", r.Error);          // no stack trace
        Assert.DoesNotContain("Exception", r.Error);
    }

    // ---- item 4: I/O failures ---------------------------------------------------------------------------------

    [MountFact]
    public void DiskFull_Tokenize_NamesTheOutputAndTheCause_AndLeavesNoTemporary()
    {
        using var fs = new SmallFileSystem(size: "64k");
        var input = Write("texts.json", JsonSerializer.Serialize(Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 5000)));
        var output = Path.Combine(fs.Root, "ids.json");
        AssertOneMessage(Run(new TokenizeVerb(), "tokenize", "--input", input, "--output", output), output, "no space left on device");
        Assert.Empty(Directory.EnumerateFileSystemEntries(fs.Root));
    }

    [MountFact]
    public void DiskFull_AtomicWrites_NameTheFinalPath_AndRemoveTheirTemporary()
    {
        using var fs = new SmallFileSystem(size: "64k");
        var summary = Path.Combine(fs.Root, "summary.json");
        var e = Assert.Throws<BertLabException>(() => AtomicFile.WriteText(summary, new string('x', 200_000)));
        Assert.Contains(summary, e.Message);
        Assert.Contains("no space left on device", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(fs.Root));

        var weights = Path.Combine(fs.Root, "model.safetensors");
        e = Assert.Throws<BertLabException>(() => SafetensorsFile.Save(weights, new Dictionary<string, torch.Tensor> { ["w"] = torch.zeros(100_000) }));
        Assert.Contains(weights, e.Message);
        Assert.Contains("no space left on device", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(fs.Root));
    }

    [MountFact]
    public void DiskFull_FolderWrittenAtomically_NamesTheFinalFolder_AndRemovesTheTemporary()
    {
        using var fs = new SmallFileSystem(size: "64k");
        var final = Path.Combine(fs.Root, "checkpoints", "step-00000005");
        var tmp = Path.Combine(fs.Root, "checkpoints", ".tmp-step-00000005");
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var e = Assert.Throws<BertLabException>(() => AtomicFile.WriteDirectory(final, tmp, dir =>
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "state.json"), "{}");
            SafetensorsFile.Save(Path.Combine(dir, "model.safetensors"), new Dictionary<string, torch.Tensor> { ["w"] = torch.zeros(100_000) });
        }));
        Assert.Equal($"cannot write {final}: no space left on device", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(final)!));
    }

    [MountFact]
    public void DiskFull_DataPrepare_IsOneMessage()
    {
        using var fs = new SmallFileSystem(size: "64k");
        var corpus = CliProcess.SmallCorpus(_dir);   // ~130,000 tokens: 260 KB of uint16 shards
        var r = Run(new DataVerb(), "data", "prepare", corpus, "--out", Path.Combine(fs.Root, "data"), "--shard-tokens", "4096");
        AssertOneMessage(r, fs.Root, "no space left on device");
        Assert.DoesNotContain(".tmp", r.Error);
        Assert.Empty(Directory.EnumerateFiles(fs.Root, "*.tmp*", SearchOption.AllDirectories));
    }

    [MountFact]
    public void ReadOnly_EveryWritingVerb_IsOneMessageNamingThePath()
    {
        using var fs = new SmallFileSystem(readOnly: true);
        var texts = Write("texts.json", "[\"hello world\", \"good film\"]");
        var tsv = Write("in.tsv", "sentence\nI loved it.\nTerrible film.\n");
        var corpus = CliProcess.SmallCorpus(_dir, paragraphs: 50);
        string Out(string name) => Path.Combine(fs.Root, name);

        AssertOneMessage(Run(new TokenizeVerb(), "tokenize", "--input", texts, "--output", Out("ids.json")), Out("ids.json"), "read-only file system");
        AssertOneMessage(Run(new EmbedVerb(), "embed", "--model", TinyModel(), "--input", texts, "--output", Out("e.json")), Out("e.json"), "read-only file system");
        AssertOneMessage(Run(new PredictVerb(), "predict", "--model", TinyClassifier(), "--input", tsv, "--output", Out("p.jsonl")), Out("p.jsonl"), "read-only file system");
        AssertOneMessage(Run(new DataVerb(), "data", "prepare", corpus, "--out", Out("data")), Out("data"), "read-only file system");
        AssertOneMessage(Run(new VocabVerb(), "vocab", "train", corpus, "--size", "200", "--out", Out("vocab.txt")), Out("vocab.txt"), "read-only file system");
        AssertOneMessage(Run(new ConvertVerb(), "convert", TinyModel(), Out("converted")), Out("converted"), "read-only file system");
        AssertOneMessage(Run(new FinetuneVerb(), "finetune", "--from", TinyModel(), "--out", Out("ft"), "--epochs", "1", "--max-train-examples", "8",
            "--max-length", "16"), Out("ft"), "read-only file system");
    }

    [Fact]
    public void OutputNamingADirectory_TokenizeEmbedPredictVocab_SayIsADirectory()
    {
        var texts = Write("texts.json", "[\"hello world\"]");
        var tsv = Write("in.tsv", "sentence\nI loved it.\n");
        var corpus = CliProcess.SmallCorpus(_dir, paragraphs: 50);
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "a-folder")).FullName;

        AssertOneMessage(Run(new TokenizeVerb(), "tokenize", "--input", texts, "--output", folder), folder, "is a directory");
        AssertOneMessage(Run(new EmbedVerb(), "embed", "--model", TinyModel(), "--input", texts, "--output", folder), folder, "is a directory");
        AssertOneMessage(Run(new PredictVerb(), "predict", "--model", TinyClassifier(), "--input", tsv, "--output", folder), folder, "is a directory");
        AssertOneMessage(Run(new VocabVerb(), "vocab", "train", corpus, "--size", "200", "--out", folder), folder, "is a directory");
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp*"));
    }

    [Fact]
    public void OutNamingAnExistingFile_DataPrepareFinetuneConvert_SayItIsAFile()
    {
        var file = Write("not-a-folder", "precious");
        var corpus = CliProcess.SmallCorpus(_dir, paragraphs: 50);
        AssertOneMessage(Run(new DataVerb(), "data", "prepare", corpus, "--out", file), file, "is a file");
        AssertOneMessage(Run(new ConvertVerb(), "convert", TinyModel(), file), file, "is a file");
        AssertOneMessage(Run(new FinetuneVerb(), "finetune", "--from", TinyModel(), "--out", file, "--epochs", "1", "--max-train-examples", "8",
            "--max-length", "16"), file, "is a file");
        Assert.Equal("precious", File.ReadAllText(file));
    }

    [Fact]
    [Trait("Category", "Slow")]   // the real program; train prepares the embedded corpus (~15 s) before it meets the file
    public void Train_OutNamingAFile_IsOneMessage()
    {
        var file = Write("run-file", "precious");
        var (code, output) = CliProcess.Run(new[] { "train", "--model", "tiny", "--steps", "2", "--threads", "1", "--out", file }, _dir, TimeSpan.FromMinutes(5));
        AssertOneMessage((code, output), file, "is a file");
        Assert.Equal("precious", File.ReadAllText(file));
    }

    [MountFact]
    public void ReadOnly_Train_IsOneMessage()
    {
        using var fs = new SmallFileSystem(readOnly: true);
        var (code, output) = CliProcess.Run(new[] { "train", "--model", "tiny", "--steps", "2", "--threads", "1", "--out", Path.Combine(fs.Root, "run") },
            _dir, TimeSpan.FromMinutes(5));
        AssertOneMessage((code, output), fs.Root, "read-only file system");
    }

    // ---- item 5: predict keeps one output row per input row -------------------------------------------------

    [Theory]
    [InlineData("b.tsv", "sentence\nI loved it.\n\nTerrible film.\n")]
    [InlineData("b.csv", "sentence\nI loved it.\n\nTerrible film.\n")]
    [InlineData("b.jsonl", "{\"sentence\": \"I loved it.\"}\n\n{\"sentence\": \"Terrible film.\"}\n")]
    public void Predict_BlankRow_IsPredictedAsEmptyText_SoRowsStayAligned(string name, string content)
    {
        var input = Write(name, content);
        var output = Path.Combine(_dir, "p.jsonl");
        Assert.Equal(0, Run(new PredictVerb(), "predict", "--model", TinyClassifier(), "--input", input, "--output", output).Code);
        var lines = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        for (int i = 0; i < 3; i++) Assert.Equal(i, lines[i].GetProperty("index").GetInt32());

        // row 2 ("Terrible film.") gets the prediction it gets on its own
        var single = Write("single" + Path.GetExtension(name), name.EndsWith(".jsonl") ? "{\"sentence\": \"Terrible film.\"}\n" : "sentence\nTerrible film.\n");
        var singleOut = Path.Combine(_dir, "single.jsonl");
        Assert.Equal(0, Run(new PredictVerb(), "predict", "--model", TinyClassifier(), "--input", single, "--output", singleOut).Code);
        var alone = JsonDocument.Parse(File.ReadAllLines(singleOut)[0]).RootElement;
        Assert.Equal(alone.GetProperty("probabilities").GetRawText(), lines[2].GetProperty("probabilities").GetRawText());
    }

    // ---- item 9: fine-tuning label errors --------------------------------------------------------------------

    string UserTask(string trainTsv)
    {
        var dir = Path.Combine(_dir, "task-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "train.tsv"), trainTsv);
        File.WriteAllText(Path.Combine(dir, "dev.tsv"), "sentence\tlabel\ngood\t1\nbad\t0\n");
        return dir;
    }

    [Fact]
    public void Finetune_EmptyLabelCell_NamesFileRowAndColumn()
    {
        var dir = UserTask("sentence\tlabel\ngood\t1\nbad\t0\nhmm\t\nnice\t1\n");
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve(dir, null).Load());
        Assert.Contains("train.tsv:4", e.Message);
        Assert.Contains("'label'", e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Finetune_LabelsMixingNumbersAndWords_AreRejected_NamingTheRow()
    {
        var dir = UserTask("sentence\tlabel\ngood\t1\nbad\t0\nso so\t0.5\nnice\tpositive\n");
        var e = Assert.Throws<BertLabException>(() => TaskRegistry.Resolve(dir, null).Load());
        Assert.Contains("train.tsv:5", e.Message);
        Assert.Contains("'positive'", e.Message);
        Assert.Contains("'label'", e.Message);
        Assert.Contains("number", e.Message);
    }

    [Fact]
    public void Finetune_EmptyLabelCell_ThroughTheCli_IsExit2()
    {
        var dir = UserTask("sentence\tlabel\ngood\t1\nbad\t0\nhmm\t\nnice\t1\n");
        AssertOneMessage(Run(new FinetuneVerb(), "finetune", "--task", dir, "--from", TinyModel(), "--out", Path.Combine(_dir, "ft"), "--epochs", "1",
            "--max-length", "16"), "train.tsv:4");
    }

    // ---- item 10: invalid UTF-8, batch size, max length --------------------------------------------------------

    string InvalidUtf8Json()
    {
        var path = Path.Combine(_dir, "bad-utf8.json");
        var bytes = new List<byte>(Encoding.UTF8.GetBytes("[\"fine\", \"bro"));
        bytes.Add(0xFF);                                 // byte 13: never valid in UTF-8
        bytes.AddRange(Encoding.UTF8.GetBytes("ken\"]"));
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    [Fact]
    public void InvalidUtf8_TokenizeAndEmbed_BothRejectIt_NamingFileAndByte()
    {
        var input = InvalidUtf8Json();
        AssertOneMessage(Run(new TokenizeVerb(), "tokenize", "--input", input, "--output", Path.Combine(_dir, "ids.json")), input, "invalid UTF-8", "byte 13");
        AssertOneMessage(Run(new EmbedVerb(), "embed", "--model", TinyModel(), "--input", input, "--output", Path.Combine(_dir, "e.json")), input, "invalid UTF-8", "byte 13");
        Assert.False(File.Exists(Path.Combine(_dir, "e.json")));
    }

    [Theory]
    [InlineData("--batch-size", "0")]
    [InlineData("--batch-size", "-2")]
    [InlineData("--max-length", "1")]
    [InlineData("--max-length", "-3")]
    [InlineData("--max-length", "0")]
    public void Embed_BadSizes_AreOneMessage(string option, string value)
    {
        var texts = Write("texts.json", "[\"hello world\", \"good film\"]");
        AssertOneMessage(Run(new EmbedVerb(), "embed", "--model", TinyModel(), "--input", texts, "--output", Path.Combine(_dir, "e.json"), option, value), option);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-3")]
    [InlineData("0")]
    public void Predict_BadMaxLength_IsOneMessage(string value)
    {
        var tsv = Write("in.tsv", "sentence\nI loved it.\n");
        AssertOneMessage(Run(new PredictVerb(), "predict", "--model", TinyClassifier(), "--input", tsv, "--output", Path.Combine(_dir, "p.jsonl"),
            "--max-length", value), "--max-length");
    }

    [Fact]
    public void Embed_AndFillMask_WithATokenizerLargerThanTheModel_AreOneMessage()
    {
        // the fixture has a 1,024-token vocabulary and no vocab.txt, so bert-base-uncased's 30,522 tokens are used
        var model = Fixtures.HfModel("tiny-bert-mlm");
        var texts = Write("texts.json", "[\"hello world\"]");
        AssertOneMessage(Run(new EmbedVerb(), "embed", "--model", model, "--input", texts, "--output", Path.Combine(_dir, "e.json")), "outside the model's vocabulary");
        AssertOneMessage(Run(new FillMaskVerb(), "fill-mask", "--model", model, "hello [MASK] world"), "outside the model's vocabulary");
    }

    // ---- item 12: smaller ones --------------------------------------------------------------------------------

    [Fact]
    public void Info_ConfigWhoseShapesDoNotMatchTheWeights_IsAnError()
    {
        var model = TinyModel();
        var config = File.ReadAllText(Path.Combine(model, "config.json")).Replace("\"hidden_size\": 16", "\"hidden_size\": 32");
        Assert.Contains("\"hidden_size\": 32", config);
        File.WriteAllText(Path.Combine(model, "config.json"), config);
        AssertOneMessage(Run(new InfoVerb(), "info", model), "shape");
    }

    [Fact]
    public void Info_MatchingModel_StillExitsZero() => Assert.Equal(0, Run(new InfoVerb(), "info", TinyModel()).Code);

    static void WriteSafetensors(string path, string headerJson, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((long)header.Length));
        fs.Write(header);
        fs.Write(new byte[dataBytes]);
    }

    [Fact]
    public void Safetensors_OverlappingTensors_AreRejected()
    {
        var path = Path.Combine(_dir, "overlap.safetensors");
        WriteSafetensors(path, """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24);
        var e = Assert.Throws<BertLabException>(() => SafetensorsFile.ReadHeader(path));
        Assert.Contains("overlap", e.Message);
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'b'", e.Message);

        var fine = Path.Combine(_dir, "fine.safetensors");
        WriteSafetensors(fine, """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}""", 24);
        Assert.Equal(2, SafetensorsFile.ReadHeader(fine).Count);
    }

    [Fact]
    public void ZeroCounts_ShardTokensTopKLimitAlphabet_AreRejected()
    {
        var corpus = CliProcess.SmallCorpus(_dir, paragraphs: 50);
        AssertOneMessage(Run(new DataVerb(), "data", "prepare", corpus, "--out", Path.Combine(_dir, "data"), "--shard-tokens", "0"), "--shard-tokens");
        AssertOneMessage(Run(new FillMaskVerb(), "fill-mask", "--model", TinyModel(), "--top-k", "0", "hello [MASK] world"), "--top-k");
        AssertOneMessage(Run(new VocabVerb(), "vocab", "train", corpus, "--size", "200", "--limit-alphabet", "0", "--out", Path.Combine(_dir, "v.txt")), "--limit-alphabet");
        Assert.False(File.Exists(Path.Combine(_dir, "v.txt")));
    }

    [Fact]
    public void FillMask_MaskBeyondTheModelsLength_SaysSo()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 100)) + " [MASK] end";
        AssertOneMessage(Run(new FillMaskVerb(), "fill-mask", "--model", TinyModel(maxPositions: 64), text), "64");
        var r = Run(new FillMaskVerb(), "fill-mask", "--model", TinyModel(maxPositions: 64), text);
        Assert.DoesNotContain("no [MASK]", r.Error);
    }

    // ---- item 12: command-line parse errors (the real program) -------------------------------------------------

    [Theory]
    [InlineData("--max-length", "abc", "'abc' is not an integer")]
    [InlineData("--max-length", "1.5", "'1.5' is not an integer")]
    public void ParseErrors_ExitWith2_WithoutDotNetTypeNames(string option, string value, string expected)
    {
        var (code, output) = CliProcess.Run(new[] { "tokenize", "--input", "x.json", "--output", "y.json", option, value }, _dir, TimeSpan.FromMinutes(2));
        Assert.Equal(Verb.UserError, code);
        Assert.Contains(option, output);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("System.", output);
    }

    [Theory]
    [InlineData(new[] { "data", "prepare", "--out", "x", "--seed", "-1" }, "--seed: '-1' is not a whole number (0 or more)")]
    [InlineData(new[] { "data", "prepare", "--out", "x", "--validation", "lots" }, "--validation: 'lots' is not a number")]
    [InlineData(new[] { "data", "prepare", "--out", "x", "--shard-tokens", "1e6" }, "--shard-tokens: '1e6' is not an integer")]
    [InlineData(new[] { "vocab", "train", "c.txt", "--out", "v.txt", "--rule", "random" }, "random")]
    [InlineData(new[] { "predict", "--model", "m", "--input", "i", "--output", "o", "--max-length", "x" }, "--max-length: 'x' is not an integer")]
    [InlineData(new[] { "data" }, "data")]
    public void ParseErrors_InProcess_NameTheOptionInWords(string[] args, string expected)
    {
        var root = new RootCommand("test");
        foreach (var verb in new IVerb[] { new DataVerb(), new VocabVerb(), new PredictVerb() }) root.Subcommands.Add(verb.Build());
        var saved = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        int code;
        try { code = Verb.Invoke(root, args); }
        finally { Console.SetError(saved); }
        Assert.Equal(Verb.UserError, code);
        Assert.Contains(expected, err.ToString());
        Assert.DoesNotContain("System.", err.ToString());
        Assert.Contains("--help", err.ToString());
    }

    [Fact]
    public void ParseErrors_MissingOptionAndUnknownOption_ExitWith2()
    {
        Assert.Equal(Verb.UserError, CliProcess.Run(new[] { "tokenize", "--input", "x.json" }, _dir, TimeSpan.FromMinutes(2)).code);
        Assert.Equal(Verb.UserError, CliProcess.Run(new[] { "tokenize", "--input", "x.json", "--output", "y.json", "--frobnicate" }, _dir, TimeSpan.FromMinutes(2)).code);
        Assert.Equal(0, CliProcess.Run(new[] { "tokenize", "--help" }, _dir, TimeSpan.FromMinutes(2)).code);
    }
}
