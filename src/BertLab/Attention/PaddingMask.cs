using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// The padding mask of one attention call in the shapes the kernels need (ATTENTION.md §1, masking rules).
/// Built from <see cref="AttentionInputs.KeyMask"/> (B, S) with true = real token; null means every token is real.
/// </summary>
public sealed class PaddingMask
{
    /// <summary>(B, 1, S, 1), 1 for real rows: multiplies Q', K', V' and the output rows.</summary>
    public Tensor Rows { get; }
    /// <summary>(B, 1, 1, S), 1 for real keys: multiplies the attention matrix after the activation.</summary>
    public Tensor Keys { get; }
    /// <summary>(B, 1, 1, S) boolean, true for real keys (softmax fills the others with −∞).</summary>
    public Tensor KeysBool { get; }
    /// <summary>(B, 1, 1, 1): n, the number of real tokens of each sequence.</summary>
    public Tensor Counts { get; }
    /// <summary>False when the batch has no padding at all (the masks are then all ones).</summary>
    public bool HasPadding { get; }

    public PaddingMask(Tensor? keyMask, long batch, long seqLen, ScalarType dtype, Device device)
    {
        if (keyMask is null)
        {
            KeysBool = ones(batch, 1, 1, seqLen, ScalarType.Bool, device);
            HasPadding = false;
        }
        else
        {
            if (keyMask.shape.Length != 2 || keyMask.shape[0] != batch || keyMask.shape[1] != seqLen)
                throw new ArgumentException($"KeyMask must be (B={batch}, S={seqLen}), got ({string.Join(", ", keyMask.shape)})");
            var m = keyMask.dtype == ScalarType.Bool ? keyMask : keyMask.ne(0);
            KeysBool = m.to(device).view(batch, 1, 1, seqLen);
            HasPadding = true;
        }
        Keys = KeysBool.to_type(dtype);
        Rows = Keys.view(batch, 1, seqLen, 1);
        Counts = Keys.sum(-1, keepdim: true);
    }
}
