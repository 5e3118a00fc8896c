using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// D_ij = ‖a_i − b_j‖ₚ for a (B, H, Sq, d), b (B, H, Sk, d) and a per-head p (1, H, 1, 1), computed in
/// query × key tiles so that no (Sq, Sk, d) difference tensor ever exists: forward keeps only D, and
/// backward recomputes each tile's differences (a custom autograd function; gradients w.r.t. a, b and p).
/// Memory: O(Sq·Sk) for D plus one tile of at most <see cref="TileElements"/> elements at a time.
/// Reference: <see cref="Reference.LpDistanceReference"/>.
/// </summary>
public static class BlockwiseLpDistance
{
    /// <summary>Upper bound on the elements of one (B, H, queries, keys, d) tile.</summary>
    public static long TileElements { get; set; } = 1L << 24;

    public static Tensor Compute(Tensor a, Tensor b, Tensor p, int keyBlock) =>
        LpDistanceFunction.apply(a, b, p, keyBlock);

    /// <summary>
    /// One tile in the overflow-free form ‖x‖ₚ = m·t^{1/p}, m = maxᶜ|x_c|, r = |x|/m ∈ [0, 1], t = Σ_c r_c^p ∈ [1, d].
    /// </summary>
    sealed record Tile(Tensor Diff, Tensor R, Tensor M, Tensor T, Tensor Positive);

    static Tile MakeTile(Tensor a, Tensor b, Tensor p5, long q0, long qn, long k0, long kn)
    {
        var diff = a.narrow(2, q0, qn).unsqueeze(-2) - b.narrow(2, k0, kn).unsqueeze(-3);   // (B,H,qb,kb,d)
        var abs = diff.abs();
        var m = abs.amax(new long[] { -1 }, keepdim: true);
        var positive = m.gt(0);
        var r = abs / where(positive, m, ones_like(m));
        var t = r.pow(p5).sum(-1);
        return new Tile(diff, r, m.squeeze(-1), t, positive.squeeze(-1));
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
                var tile = MakeTile(a, b, p5, q0, q1 - q0, k0, k1 - k0);
                result.narrow(2, q0, q1 - q0).narrow(3, k0, k1 - k0).copy_(tile.M * tile.T.pow(invP));
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
                    var tile = MakeTile(a, b, p5, q0, qn, k0, kn);
                    var D = dist.narrow(2, q0, qn).narrow(3, k0, kn);
                    var G = grad.narrow(2, q0, qn).narrow(3, k0, kn);
                    var pos = tile.Positive;
                    var tSafe = where(pos, tile.T, ones_like(tile.T));
                    // ∂D/∂x_c = (|x_c|/D)^{p−1} sign(x_c) = r_c^{p−1} · t^{−(p−1)/p} · sign(x_c)
                    var w = where(pos, G * tSafe.pow((1 - p) / p), zeros_like(G));
                    var rNonzero = tile.R.gt(0);
                    var rSafe = where(rNonzero, tile.R, ones_like(tile.R));
                    var dx = where(rNonzero, rSafe.pow(pm1), zeros_like(rSafe)) * tile.Diff.sign() * w.unsqueeze(-1);
                    ga.narrow(2, q0, qn).add_(dx.sum(-2));
                    gb.narrow(2, k0, kn).sub_(dx.sum(-3));
                    // ∂D/∂p = D · ( Σ_c r_c^p ln r_c / (p t) − ln t / p² )   (the ln m terms cancel)
                    var rlogr = (where(rNonzero, rSafe.pow(p5) * rSafe.log(), zeros_like(rSafe))).sum(-1);
                    var dDdp = where(pos, D * (rlogr / (p * tSafe) - tSafe.log() / (p * p)), zeros_like(G));
                    var gpTile = (G * dDdp).sum(new long[] { 0, 2, 3 }, keepdim: true);
                    gp.add_(p.shape[1] == 1 ? gpTile.sum(1, keepdim: true) : gpTile);
                }
            }
            return new List<Tensor> { ga, gb, gp, null! };
        }
    }
}
