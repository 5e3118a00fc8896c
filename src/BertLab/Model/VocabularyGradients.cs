using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>
/// The word-embedding lookup and the masked-LM decoder (x·Wᵀ + b) with the vocabulary-sized weight gradient
/// (30,522 × 768 fp32 = 94 MB for BERT-base) written into a <see cref="CpuBufferPool"/> buffer instead of fresh memory.
/// libtorch's own backward allocates two such tensors per step; above glibc's 32 MB mmap threshold each came as fresh
/// pages, and the kernel's page clearing was ~9 % of a BERT-base training step's CPU samples on the project's 2-core VM.
/// The arithmetic is libtorch's: the embedding gradient is the row sum of the output gradient per token id (index_add),
/// with the padding row kept at zero as F.embedding's padding_idx; the decoder's is dlogitsᵀ·x. CPU, fp32, with
/// gradients wanted and no mixed precision; everything else takes the plain libtorch ops.
/// </summary>
public static class VocabularyGradients
{
    static bool Applies(Tensor weight) =>
        weight.device.type == DeviceType.CPU && weight.dtype == ScalarType.Float32 && weight.requires_grad
        && is_grad_enabled() && !MixedPrecision.Active;

    /// <summary>The module's lookup of ids (its weight's padding row gets no gradient, as the module's padding_idx).</summary>
    public static Tensor Embedding(TorchSharp.Modules.Embedding module, Tensor ids, long paddingIdx) =>
        Applies(module.weight!) ? EmbeddingFunction.apply(module.weight!, ids, paddingIdx) : module.forward(ids);

    /// <summary>x·Wᵀ + b, as F.linear, over the last dimension of x.</summary>
    public static Tensor Decoder(Tensor x, Tensor weight, Tensor? bias) =>
        Applies(weight) && x.dtype == ScalarType.Float32 && (bias is null || bias.dtype == ScalarType.Float32)
            ? DecoderFunction.apply(x, weight, bias ?? zeros(weight.shape[0]), bias is not null)
            : MixedPrecision.Linear(x, weight, bias);

    sealed class EmbeddingFunction : autograd.SingleTensorFunction<EmbeddingFunction>
    {
        public override string Name => "PooledEmbedding";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var weight = (Tensor)vars[0]; var ids = (Tensor)vars[1]; long padding = (long)vars[2];
            using var _ = no_grad();
            ctx.save_for_backward(new List<Tensor> { ids });
            ctx.save_data("shape", weight.shape);
            ctx.save_data("padding", padding);
            using var flat = ids.reshape(-1);
            var rows = weight.index_select(0, flat);
            return rows.view(ids.shape.Append(weight.shape[1]).ToArray());
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var ids = ctx.get_saved_variables()[0];
            var shape = (long[])ctx.get_data("shape");
            long padding = (long)ctx.get_data("padding");
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var dW = CpuBufferPool.Empty(shape).zero_();
            dW.index_add_(0, ids.reshape(-1), grad.reshape(-1, shape[1]), 1);
            if (padding >= 0) dW[padding].zero_();
            var result = new List<Tensor> { dW, null!, null! };
            scope.MoveToOuter(dW);
            return result;
        }
    }

    sealed class DecoderFunction : autograd.SingleTensorFunction<DecoderFunction>
    {
        public override string Name => "PooledDecoder";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0]; var weight = (Tensor)vars[1]; var bias = (Tensor)vars[2]; bool hasBias = (bool)vars[3];
            using var _ = no_grad();
            ctx.save_for_backward(new List<Tensor> { x, weight });
            ctx.save_data("hasBias", hasBias);
            return nn.functional.linear(x, weight, hasBias ? bias : null);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var s = ctx.get_saved_variables();
            Tensor x = s[0], weight = s[1];
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            long h = x.shape[^1], v = weight.shape[0];
            var g2 = grad.reshape(-1, v);
            var x2 = x.reshape(-1, h);
            var dx = g2.mm(weight).view(x.shape);
            var dW = CpuBufferPool.Empty(weight.shape).addmm_(g2.t(), x2, 0, 1);
            Tensor? dB = (bool)ctx.get_data("hasBias") ? g2.sum(new long[] { 0 }) : null;   // (a literal 0 would bind to sum(ScalarType))
            var result = new List<Tensor> { dx, dW, dB!, null! };
            scope.MoveToOuter(result.Where(t => t is not null));
            return result;
        }
    }
}
