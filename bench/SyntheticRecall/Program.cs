// Measures, on a synthetic masked-recall task, how many steps each attention mechanism needs to leave the uniform-guess
// loss, and when softmax first beats cosine-softmax (near-uniform attention) by a margin.
//   dotnet run -c Release -- --presets softmax,cosine-softmax --lrs 1e-3,3e-3 --steps 300 --eval 25 --seeds 1
//        [--kind associative_recall|copy] [--keys 32] [--values 32] [--min-pairs 2] [--max-pairs 8] [--queries 0.5]
//        [--curriculum 0] [--batch 32] [--threads 1] [--out results.jsonl]
// Each (preset, lr, seed) run is one line of JSON: the task, the settings and the validation curve (step, val_loss, val_accuracy).
using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Data.Synthetic;
using BertLab.Training;

var opts = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2) opts[args[i].TrimStart('-')] = args[i + 1];
string Get(string k, string d) => opts.TryGetValue(k, out var v) ? v : d;
double D(string k, double d) => double.Parse(Get(k, d.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
int I(string k, int d) => int.Parse(Get(k, d.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

var task = new SyntheticTask
{
    Kind = Get("kind", "associative_recall"), Keys = I("keys", 32), Values = I("values", 32), Distractors = I("distractors", 8),
    MinPairs = I("min-pairs", 2), MaxPairs = I("max-pairs", 8), QueryFraction = D("queries", 0.5), DistractorRate = D("distractor-rate", 0.5),
    CurriculumBatches = I("curriculum", 0),
};
task.Validate();
var presets = Get("presets", "softmax,cosine-softmax,cosine-relu,cottention").Split(',');
var lrs = Get("lrs", "1e-3").Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var seeds = Get("seeds", "1").Split(',').Select(long.Parse).ToArray();
int steps = I("steps", 300), evalEvery = I("eval", 25), batch = I("batch", 32), threads = I("threads", 1), warmup = I("warmup", 20);
string model = Get("model", "tiny");
string outPath = Get("out", "synthetic-results.jsonl");
string tmp = Directory.CreateTempSubdirectory("bertlab-synth-").FullName;
Console.Error.WriteLine($"{task.Describe()}; max length {task.MaxLength}; uniform loss {task.UniformLoss:F3}");

foreach (var seed in seeds)
foreach (var lr in lrs)
foreach (var preset in presets)
{
    var json = RunConfig.DefaultJson();
    int maxPos = Math.Max(64, task.MaxLength);
    json["model"] = new JsonObject { ["preset"] = model, ["vocab_size"] = task.VocabSize, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0, ["max_position_embeddings"] = maxPos };
    json["attention"] = preset;
    json["data"] = new JsonObject { ["seq_len"] = task.MaxLength };
    json["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = lr, ["weight_decay"] = 0.01, ["clip_norm"] = 1.0 };
    json["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = warmup };
    json["run"] = new JsonObject { ["steps"] = steps, ["batch_size"] = batch, ["log_interval"] = evalEvery, ["eval_interval"] = evalEvery, ["eval_batches"] = 1000,
        ["checkpoint_interval"] = steps * 10, ["threads"] = threads, ["seed"] = seed };
    var config = RunConfig.FromJson(json);
    string dir = Path.Combine(tmp, $"{preset}-{lr}-{seed}");
    var source = new SyntheticBatchSource(task, seed, validationExamples: 256);
    var sw = System.Diagnostics.Stopwatch.StartNew();
    var summary = new Trainer(config, dir, source).Run();
    var curve = new JsonArray();
    foreach (var m in TrainingPlots.ReadMetrics(dir).Where(m => m["val_loss"] is not null))
        curve.Add(new JsonObject { ["step"] = m["step"]!.DeepClone(), ["val_loss"] = m["val_loss"]!.DeepClone(), ["val_accuracy"] = m["val_accuracy"]!.DeepClone() });
    var line = new JsonObject
    {
        ["task"] = task.ToJson(), ["preset"] = preset, ["lr"] = lr, ["seed"] = seed, ["steps"] = steps, ["batch"] = batch, ["model"] = model,
        ["status"] = summary["status"]?.DeepClone(), ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 1), ["curve"] = curve,
    };
    File.AppendAllText(outPath, line.ToJsonString() + "\n");
    var last = curve.Count > 0 ? curve[^1]! : null;
    Console.Error.WriteLine($"{preset,-16} lr {lr,-7} seed {seed}: {summary["status"]} val {last?["val_loss"]} acc {last?["val_accuracy"]} ({sw.Elapsed.TotalSeconds:F0} s)");
    try { Directory.Delete(dir, true); } catch { }
}
try { Directory.Delete(tmp, true); } catch { }
