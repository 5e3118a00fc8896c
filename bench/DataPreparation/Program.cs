// Batch assembly cost vs a training step. Prepares the default corpus (seq 128) into a temporary folder unless a
// prepared folder is given, then times MlmDataLoader.Next (read from the memory-mapped shards, mask, build four int64
// tensors) and, for scale, one BERT-mini masked-LM training step (forward + backward + AdamW) on the same batch.
// Usage: dotnet run -c Release --project bench/DataPreparation [prepared-dir] [batch-size] [batches]
using System.Diagnostics;
using BertLab.Data;
using BertLab.Model;
using BertLab.Text;
using TorchSharp;
using static TorchSharp.torch;

string dir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "bertlab-bench-shards");
int batchSize = args.Length > 1 ? int.Parse(args[1]) : 32;
int batches = args.Length > 2 ? int.Parse(args[2]) : 500;
BertLab.Runtime.TorchRuntime.Initialize();
var vocab = Vocabulary.Load();
var tokenizer = new WordPieceTokenizer(vocab);
if (args.Length == 0)
{
    var result = new DataPreparer(tokenizer).Prepare(CorpusFile.Resolve(null), dir);
    Console.WriteLine($"prepare: {(result.UpToDate ? "up to date" : $"{result.Manifest.Counts.Tokens:N0} tokens in {result.Elapsed.TotalSeconds:0.0} s")}");
}

var open = Stopwatch.StartNew();
using var data = ShardDataset.Open(dir, "train", vocab);
Console.WriteLine($"open + verify {data.Count:N0} sequences of {data.SequenceLength}: {open.Elapsed.TotalMilliseconds:0} ms");
var loader = new MlmDataLoader(data, vocab, batchSize, seed: 1);
for (int i = 0; i < 20; i++) loader.Next().Dispose();           // warm-up (JIT, page cache)
var times = new List<double>();
for (int i = 0; i < batches; i++)
{
    var sw = Stopwatch.StartNew();
    using var b = loader.Next();
    times.Add(sw.Elapsed.TotalMilliseconds);
}
times.Sort();
double mean = times.Average();
Console.WriteLine($"batch assembly ({batchSize}×{data.SequenceLength}): mean {mean:0.000} ms, median {times[times.Count / 2]:0.000} ms, p95 {times[(int)(times.Count * 0.95)]:0.000} ms");

// one BERT-mini training step for scale (4 layers, hidden 256, 4 heads, intermediate 1024)
torch.manual_seed(0);
var config = new BertConfig { HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, IntermediateSize = 1024, VocabSize = vocab.Count };
var model = new BertForMaskedLM(config);
model.train();
var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-4);
var steps = new List<double>();
for (int i = 0; i < 8; i++)
{
    using var scope = torch.NewDisposeScope();
    using var b = loader.Next();
    var sw = Stopwatch.StartNew();
    optimizer.zero_grad();
    var output = model.Forward(b.InputIds, b.AttentionMask, b.TokenTypeIds, b.Labels, maskedOnly: true);
    output.Loss!.backward();
    optimizer.step();
    if (i >= 3) steps.Add(sw.Elapsed.TotalMilliseconds);
}
double step = steps.Average();
Console.WriteLine($"BERT-mini training step ({batchSize}×{data.SequenceLength}, masked-only head, {torch.get_num_threads()} threads): {step:0.0} ms");
Console.WriteLine($"batch assembly = {100 * mean / step:0.00} % of a step");
