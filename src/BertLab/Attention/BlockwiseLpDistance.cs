using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// D_ij = ‖a_i − b_j‖ₚ for a (B, H, Sq, d), b (B, H, Sk, d) and a per-head p (1, H, 1, 1), computed in
/// query × key tiles so that no (Sq, Sk, d) difference tensor ever exists: forward keeps only D, and
/// backward recomputes each tile's differences (a custom autograd function; gradients w.r.t. a, b and p).
/// Memory: O(Sq·Sk) for D plus one tile of at most <see cref="TileElements"/> elements at a time.
/// </summary>
public static class BlockwiseLpDistance
{
    /// <summary>Upper bound on the elements of one (B, H, queries, keys, d) tile.</summary>
    public static long TileElements { get; set; } = 1L << 24;

    public static Tensor Compute(Tensor a, Tensor b, Tensor p, int keyBlock) =>
        LpDistanceFunction.apply(a, b, p, keyBlock);

    /// <summary>The plain (Sq, Sk, d)-materialising formula, for tests only.</summary>
    public static Tensor Reference(Tensor a, Tensor b, Tensor p)
    {
        var diff = a.unsqueeze(-2) - b.unsqueeze(-3);
        var s = diff.abs().pow(p.unsqueeze(-1)).sum(-1);
        return s.pow(p.reciprocal());
    }

    internal static IEnumerable<(long q0, long q1, long k0, long k1)> Tiles(long batchHeads, long sq, long sk, long d, int keyBlock)
    {
        long kb = Math.Max(1, Math.Min(keyBlock, sk));
        long qb = Math.Max(1, Math.Min(sq, TileElements / Math.Max(1, batchHeads * kb * d)));
        for (long k0 = 0; k0 < sk; k0 += kb)
            for (long q0 = 0; q0 < sq; q0 += qb)
                yield return (q0, Math.Min(sq, q0 + qb), k0, Math.Min(sk, k0 + kb));
    }

    sealed class LpDistanceFunction : autograd.SingleTensorFunction<LpDistanceFunction>
    {
        public override string Name => "BlockwiseLpDistance";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var a = (Tensor)vars[0]; var b = (Tensor)vars[1]; var p = (Tensor)vars[2]; int keyBlock = (int)vars[3];
            long B = a.shape[0], H = a.shape[1], sq = a.shape[2], d = a.shape[3], sk = b.shape[2];
            var result = empty(new[] { B, H, sq, sk }, a.dtype, a.device);
            var p5 = p.unsqueeze(-1);
            var invP = p.reciprocal();
            foreach (var (q0, q1, k0, k1) in Tiles(B * H, sq, sk, d, keyBlock))
            {
                using var scope = NewDisposeScope();
                var diff = a.narrow(2, q0, q1 - q0).unsqueeze(-2) - b.narrow(2, k0, k1 - k0).unsqueeze(-3);
                var s = diff.abs_().pow_(p5).sum(-1);
                result.narrow(2, q0, q1 - q0).narrow(3, k0, k1 - k0).copy_(s.pow_(invP));
            }
            ctx.save_for_backward(new List<Tensor> { a, b, p, result });
            ctx.save_data("keyBlock", keyBlock);
            return result;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var saved = ctx.get_saved_variables();
            Tensor a = saved[0], b = saved[1], p = saved[2], dist = saved[3];
            int keyBlock = (int)ctx.get_data("keyBlock");
            long B = a.shape[0], H = a.shape[1], sq = a.shape[2], d = a.shape[3], sk = b.shape[2];
            var ga = zeros_like(a); var gb = zeros_like(b); var gp = zeros_like(p);
            using (no_grad())
            {
                var p5 = p.unsqueeze(-1);
                var pm1 = p5 - 1;
                foreach (var (q0, q1, k0, k1) in Tiles(B * H, sq, sk, d, keyBlock))
                {
                    using var scope = NewDisposeScope();
                    long qn = q1 - q0, kn = k1 - k0;
                    var diff = a.narrow(2, q0, qn).unsqueeze(-2) - b.narrow(2, k0, kn).unsqueeze(-3);   // (B,H,qb,kb,d)
                    var absd = diff.abs();
                    var nonzero = absd.gt(0);
                    var safeAbs = where(nonzero, absd, ones_like(absd));
                    var powP = where(nonzero, safeAbs.pow(p5), zeros_like(absd));        // |x|^p
                    var s = powP.sum(-1);                                                  // (B,H,qb,kb)
                    var D = dist.narrow(2, q0, qn).narrow(3, k0, kn);
                    var G = grad.narrow(2, q0, qn).narrow(3, k0, kn);
                    var sPos = s.gt(0);
                    var sSafe = where(sPos, s, ones_like(s));
                    // ∂D/∂x_c = s^{1/p − 1} · |x_c|^{p−1} · sign(x_c)
                    var w = where(sPos, G * sSafe.pow(p.reciprocal() - 1), zeros_like(s));
                    var dx = where(nonzero, safeAbs.pow(pm1), zeros_like(absd)) * diff.sign() * w.unsqueeze(-1);
                    ga.narrow(2, q0, qn).add_(dx.sum(-2));
                    gb.narrow(2, k0, kn).sub_(dx.sum(-3));
                    // ∂D/∂p = D · ( Σ_c |x_c|^p ln|x_c| / (p s) − ln s / p² )
                    var xlogx = (powP * safeAbs.log()).sum(-1);
                    var dDdp = where(sPos, D * (xlogx / (p * sSafe) - sSafe.log() / (p * p)), zeros_like(s));
                    var gpTile = (G * dDdp).sum(new long[] { 0, 2, 3 }, keepdim: true);
                    gp.add_(p.shape[1] == 1 ? gpTile.sum(1, keepdim: true) : gpTile);
                }
            }
            return new List<Tensor> { ga, gb, gp, null! };
        }
    }
}
