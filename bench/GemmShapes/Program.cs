// How fast the GEMMs of one BERT-base training step run, against the matmul peak `bench train` prices MFU at
// (2048 × 2048 × 2048 fp32, MachineSpeed.MatmulFlops), in the same process, round after round. This bounds the MFU
// any implementation on libtorch's sgemm can reach at batch 8 × 128 tokens: a step cannot be faster than its GEMMs.
//
// Each shape is one linear layer's product at 1,024 tokens: forward x·Wᵀ, input gradient dY·W, weight gradient dYᵀ·X,
// for the 768 × 768 projections (Q, K, V, attention output), the 768 → 3,072 and 3,072 → 768 feed-forward layers, and
// the masked-LM decoder at the ~154 masked positions (V = 30,522). "cold": 8 operand sets cycled (≥ 60 MB, out of the
// caches, as in a step); "hot": one set reused; each the best of several runs. The last column weights the shapes by
// their FLOPs in a step (best runs, and in brackets the median runs).
using System.Diagnostics;
using BertLab.Runtime;
using static TorchSharp.torch;

TorchRuntime.Initialize(2);
int rounds = args.Length > 0 ? int.Parse(args[0]) : 3;
var shapes = new (string Name, int M, int N, int K, bool TransA, bool TransB, int PerStep)[]
{
    ("fwd 768x768", 1024, 768, 768, false, true, 48), ("fwd 768>3072", 1024, 3072, 768, false, true, 12), ("fwd 3072>768", 1024, 768, 3072, false, true, 12),
    ("dX 768x768", 1024, 768, 768, false, false, 48), ("dX 768>3072", 1024, 768, 3072, false, false, 12), ("dX 3072>768", 1024, 3072, 768, false, false, 12),
    ("dW 768x768", 768, 768, 1024, true, false, 48), ("dW 768>3072", 3072, 768, 1024, true, false, 12), ("dW 3072>768", 768, 3072, 1024, true, false, 12),
    ("decoder fwd", 154, 30522, 768, false, true, 1), ("decoder dX", 154, 768, 30522, false, false, 1), ("decoder dW", 30522, 768, 154, true, false, 1),
};
Console.WriteLine($"# {Environment.ProcessorCount} CPUs, {get_num_threads()} libtorch threads, {DateTime.UtcNow:u}");
Console.WriteLine("round\tpeak GFLOP/s\t" + string.Join("\t", shapes.Select(s => s.Name + " cold/hot")) + "\tstep-weighted cold");
for (int round = 1; round <= rounds; round++)
{
    double peak = MachineSpeed.MatmulFlops(CPU, ScalarType.Float32, 2048, 5);
    var cells = new List<string>();
    double flops = 0, seconds = 0, secondsMedian = 0;
    foreach (var s in shapes)
    {
        using var scope = NewDisposeScope();
        var a = Enumerable.Range(0, 8).Select(_ => s.TransA ? randn(s.K, s.M) : randn(s.M, s.K)).ToArray();
        var b = Enumerable.Range(0, 8).Select(_ => s.TransB ? randn(s.N, s.K) : randn(s.K, s.N)).ToArray();
        var c = Enumerable.Range(0, 8).Select(_ => empty(s.M, s.N)).ToArray();
        void Product(int j) => c[j].addmm_(s.TransA ? a[j].t() : a[j], s.TransB ? b[j].t() : b[j], 0, 1);
        var (cold, coldMedian) = Time(() => { for (int j = 0; j < 8; j++) Product(j); }, 7);
        var (hot, _) = Time(() => Product(0), 10);
        cold /= 8; coldMedian /= 8;
        double f = 2.0 * s.M * s.N * s.K;
        cells.Add($"{f / cold / peak:P0}/{f / hot / peak:P0}");
        flops += f * s.PerStep; seconds += cold * s.PerStep; secondsMedian += coldMedian * s.PerStep;
    }
    Console.WriteLine($"{round}\t{peak / 1e9:F0}\t{string.Join("\t", cells)}\t{flops / seconds / peak:P1} (median {flops / secondsMedian / peak:P1})");
}

// Best and median seconds of reps runs after a warm-up.
static (double Best, double Median) Time(Action a, int reps)
{
    a();
    var t = new double[reps];
    for (int i = 0; i < reps; i++) { var sw = Stopwatch.StartNew(); a(); t[i] = sw.Elapsed.TotalSeconds; }
    Array.Sort(t);
    return (t[0], t[reps / 2]);
}
