namespace BertLab.Attention.Lowering;

/// <summary>The padding masks of a lowered graph in the shapes of <see cref="PaddingMask"/>, built once per graph from
/// its (B, S) int64 attention_mask input and shared by every layer.</summary>
/// <param name="Keys">(B, 1, 1, S) float, 1 for real keys.</param>
/// <param name="KeysBool">(B, 1, 1, S) boolean.</param>
/// <param name="Rows">(B, 1, S, 1) float, 1 for real rows.</param>
/// <param name="Counts">(B, 1, 1, 1): n, the real tokens of each sequence.</param>
/// <param name="Additive">(B, 1, 1, S): Hugging Face's additive mask, finfo.min at padded keys.</param>
public sealed record GraphMasks(string Keys, string KeysBool, string Rows, string Counts, string Additive)
{
    public static GraphMasks Of(IAttentionGraph g, string attentionMask)
    {
        string m = g.CastToFloat(attentionMask);
        string keys = g.Unsqueeze(m, 1, 2);
        return new GraphMasks(keys, g.CastToBool(keys), g.Unsqueeze(m, 1, 3), g.ReduceSum(keys, 3, keepDims: true),
            g.Mul(g.Sub(g.Constant(1f), keys), g.Constant(float.MinValue)));
    }
}
