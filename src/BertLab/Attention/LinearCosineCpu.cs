using System.Runtime.Intrinsics;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// The linear cosine kernel O = N(Q)·(N(K)ᵀV / divisor) (cottention and every preset with a cosine similarity, no
/// activation and a per-sequence divisor) on the CPU as one autograd function with a hand-written backward:
/// the row normalisations N(x) = x / max(‖x‖, 1e-12) and their backward dx = r·(dy − y(y·dy)) (r = 1/max(‖x‖, 1e-12);
/// dx = r·dy where the norm is clamped, as F.normalize) are single SIMD passes over the rows (in whatever layout the
/// rows have: (B, H, S, d) or the head-split view of (B, S, H·d)), and the backward is exactly the four d×d-sized
/// matmuls it needs (no autograd graph of broadcast products, norms, clamps and reciprocals).
/// CPU only: on CUDA the backward of a C# autograd function runs on libtorch's device thread, outside any dispose
/// scope, so the torch-op composition (<see cref="LinearAttention"/>, kernel "linear") stays the CUDA path.
/// Tested against the quadratic reference composition (<see cref="Reference.QuadraticReference"/>).
/// </summary>
public static unsafe class LinearCosineCpu
{
    static readonly bool Profile = Environment.GetEnvironmentVariable("BERTLAB_KERNEL_PROFILE") == "1";
    static System.Diagnostics.Stopwatch? _sw;
    static void Mark(string what)
    {
        if (!Profile) return;
        if (_sw is null || what == "start") { _sw = System.Diagnostics.Stopwatch.StartNew(); return; }
        Console.Error.WriteLine($"  [kernel] {what}: {_sw.Elapsed.TotalMilliseconds:F1} ms");
        _sw.Restart();
    }

    /// <summary>Whether <see cref="Apply"/> takes these inputs: fp32 CPU (B, H, S, d) with unit-stride rows and a
    /// divisor that is null or one number per (sequence, head) (shape (B or 1, H or 1, 1, 1)).</summary>
    public static bool Supports(Tensor q, Tensor k, Tensor v, Tensor? divisor)
    {
        foreach (var t in new[] { q, k, v })
            if (t.device.type != DeviceType.CPU || t.dtype != ScalarType.Float32 || t.dim() != 4 || t.stride(3) != 1) return false;
        if (v.shape[3] != q.shape[3] || k.shape[3] != q.shape[3]) return false;
        if (divisor is null) return true;
        return divisor.device.type == DeviceType.CPU && divisor.dim() == 4 && divisor.shape[2] == 1 && divisor.shape[3] == 1;
    }

    /// <summary>N(q)·(N(k)ᵀv / divisor); divisor null means 1.</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, Tensor? divisor)
    {
        if (!Supports(q, k, v, divisor)) throw new ArgumentException("LinearCosineCpu: needs fp32 CPU (B, H, S, d) inputs with unit-stride rows and a (B|1, H|1, 1, 1) divisor");
        divisor ??= ones(1, 1, 1, 1, ScalarType.Float32, q.device);
        return Function.apply(q, k, v, divisor.to_type(ScalarType.Float32));
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "LinearCosineCpu";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var q = (Tensor)vars[0]; var k = (Tensor)vars[1]; var v = (Tensor)vars[2]; var div = (Tensor)vars[3];
            using var _ = no_grad();
            Mark("start");
            var (qn, rq) = Normalize(q);
            var (kn, rk) = Normalize(k);
            Mark("fwd normalize");
            var kvs = matmul(kn.transpose(-2, -1), v).div_(div);       // (B, H, d, dv)
            Mark("fwd kTv");
            var output = RowsTimesSmall(qn, kvs, transposeSmall: false);
            Mark("fwd q kv");
            ctx.save_for_backward(new List<Tensor> { qn, rq, kn, rk, v, kvs, div });
            ctx.save_data("divGrad", div.requires_grad);
            return output;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var s = ctx.get_saved_variables();
            Tensor qn = s[0], rq = s[1], kn = s[2], rk = s[3], v = s[4], kvs = s[5], div = s[6];
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            // An expanded gradient (sum().backward() gives stride 0) is not a BLAS operand: one contiguous copy instead
            // of a copy per matmul.
            Mark("start");
            if (grad.stride().Any(st => st == 0)) grad = CpuBufferPool.Empty(grad.shape).copy_(grad);
            Mark("bwd contiguous");
            var dKvs = matmul(qn.transpose(-2, -1), grad);             // (B, H, d, dv)
            Mark("bwd qT g");
            var dq = RowsTimesSmall(grad, kvs, transposeSmall: true);  // ∂/∂N(q), then in place ∂/∂q
            Mark("bwd g kvT");
            NormalizeBackward(qn, rq, dq);
            Mark("bwd norm q");
            Tensor? dDiv = null;
            if ((bool)ctx.get_data("divGrad"))
            {
                // kvs = kv / div  ⇒  ∂/∂div = −Σ ∂kvs ⊙ kvs / div
                var full = -(dKvs * kvs).sum(new long[] { 2, 3 }, keepdim: true) / div;
                dDiv = SumTo(full, div.shape);
            }
            var dKv = dKvs / div;
            var dv = RowsTimesSmall(kn, dKv, transposeSmall: false);
            Mark("bwd kn dkv");
            var dk = RowsTimesSmall(v, dKv, transposeSmall: true);     // ∂/∂N(k), then in place ∂/∂k
            Mark("bwd v dkvT");
            NormalizeBackward(kn, rk, dk);
            Mark("bwd norm k");
            var result = new List<Tensor> { dq, dk, dv, dDiv! };
            scope.MoveToOuter(result.Where(t => t is not null));
            return result;
        }
    }

    /// <summary>
    /// x (B, H, S, k) times the small per-(sequence, head) matrix m (B|1, H|1, k, n), or its transpose: one GEMM per
    /// (sequence, head) written in place into an output laid out like x (addmm_ with β = 0). libtorch's batched matmul
    /// for this shape ((12, 16384, 64) × (12, 64, 64)) took ~200 ms on the project's CPU, the four per-head GEMMs ~25 ms
    /// (the (d × S)(S × d) products, which it runs fast, stay on matmul); and the output needs no head-merge copy.
    /// </summary>
    static Tensor RowsTimesSmall(Tensor x, Tensor m, bool transposeSmall)
    {
        long B = x.shape[0], H = x.shape[1], n = transposeSmall ? m.shape[2] : m.shape[3];
        var output = n == x.shape[3] ? CpuBufferPool.EmptyLike(x) : CpuBufferPool.Empty(new[] { B, H, x.shape[2], n });
        using var scope = NewDisposeScope();
        for (long b = 0; b < B; b++)
            for (long h = 0; h < H; h++)
            {
                var small = m[m.shape[0] == 1 ? 0 : b, m.shape[1] == 1 ? 0 : h];
                output[b, h].addmm_(x[b, h], transposeSmall ? small.t() : small, 0, 1);
            }
        return output;
    }

    static Tensor SumTo(Tensor t, long[] shape)
    {
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] == 1 && t.shape[i] != 1) t = t.sum(i, keepdim: true);
        return t;
    }

    /// <summary>Row view of a (B, H, S, d) tensor with unit-stride rows: element (b, h, s, 0) is at b·sb + h·sh + s·ss.</summary>
    readonly struct Rows
    {
        public readonly float* Data;
        public readonly long H, S, Sb, Sh, Ss;
        public Rows(Tensor t)
        {
            if (t.stride(3) != 1) throw new ArgumentException("LinearCosineCpu: rows must have unit stride");
            Data = TensorMemory.Float32(t); H = t.shape[1]; S = t.shape[2]; Sb = t.stride(0); Sh = t.stride(1); Ss = t.stride(2);
        }
        public float* Row(long r)
        {
            long s = r % S, bh = r / S, h = bh % H, b = bh / H;
            return Data + b * Sb + h * Sh + s * Ss;
        }
    }

    /// <summary>y = x·r with r = 1/max(‖x‖, 1e-12) per row; y has x's layout, r is (B, H, S) contiguous.</summary>
    public static (Tensor Y, Tensor R) Normalize(Tensor x)
    {
        var y = CpuBufferPool.EmptyLike(x);
        var r = empty(new[] { x.shape[0], x.shape[1], x.shape[2] }, ScalarType.Float32, x.device);
        var xs = new Rows(x); var ys = new Rows(y);
        nint rAddr = (nint)TensorMemory.Float32(r);
        int d = (int)x.shape[3];
        ForRows(x.shape[0] * x.shape[1] * x.shape[2], (start, end) =>
        {
            float* rp = (float*)rAddr;
            for (long i = start; i < end; i++)
            {
                float* a = xs.Row(i); float* o = ys.Row(i);
                float inv = 1f / MathF.Max(MathF.Sqrt(RowMath.Dot(a, a, d)), (float)VectorNormalization.Epsilon);
                rp[i] = inv;
                Scale(a, inv, o, d);
            }
        });
        return (y, r);
    }

    /// <summary>In place: dy ← r·(dy − y(y·dy)) per row, or r·dy where the norm was clamped (r = 1e12).</summary>
    public static void NormalizeBackward(Tensor y, Tensor r, Tensor dy)
    {
        var ys = new Rows(y); var gs = new Rows(dy);
        nint rAddr = (nint)TensorMemory.Float32(r);
        int d = (int)y.shape[3];
        float clamped = (float)(1 / VectorNormalization.Epsilon);
        ForRows(y.shape[0] * y.shape[1] * y.shape[2], (start, end) =>
        {
            float* rp = (float*)rAddr;
            for (long i = start; i < end; i++)
            {
                float* a = ys.Row(i); float* g = gs.Row(i);
                float inv = rp[i];
                float dot = inv >= clamped ? 0f : RowMath.Dot(a, g, d);
                Combine(g, a, dot, inv, d);
            }
        });
    }

    static void ForRows(long rows, Action<long, long> body) => CpuParallel.ForSlices(rows, 256, body);

    static void Scale(float* a, float s, float* o, int d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var sv = Vector256.Create(s);
            for (; i + 8 <= d; i += 8) (Vector256.Load(a + i) * sv).Store(o + i);
        }
        for (; i < d; i++) o[i] = a[i] * s;
    }

    /// <summary>g ← inv·(g − y·dot).</summary>
    static void Combine(float* g, float* y, float dot, float inv, int d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var dv = Vector256.Create(dot); var iv = Vector256.Create(inv);
            for (; i + 8 <= d; i += 8) ((Vector256.Load(g + i) - Vector256.Load(y + i) * dv) * iv).Store(g + i);
        }
        for (; i < d; i++) g[i] = (g[i] - y[i] * dot) * inv;
    }
}
