using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Model;

/// <summary>The pooled word-embedding lookup and tied decoder against libtorch's own F.embedding (padding_idx) and
/// F.linear on the same weight: the tied weight's gradient (autograd sums the lookup's and the decoder's), with padding
/// ids in the batch, accumulated over two backward passes, and the untied case.</summary>
public class VocabularyGradientsTests
{
    const int V = 50, Hd = 8, Pad = 0;

    static Tensor Ids() => tensor(new long[,] { { 2, 7, 7, 49, Pad, Pad }, { 3, 2, Pad, 11, 7, 1 } });

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 1)]
    public void WeightGradients_MatchLibtorchsComposition(bool tied, int passes)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var w0 = randn(V, Hd);
        var d0 = randn(V, Hd);
        var b0 = randn(V);
        var upstream = randn(2, 6, V);

        (Tensor dEmbedding, Tensor? dDecoder, Tensor dBias) Run(bool pooled)
        {
            var embedding = nn.Embedding(V, Hd, padding_idx: Pad);
            using (no_grad()) embedding.weight!.copy_(w0);
            var decoderWeight = tied ? embedding.weight! : d0.clone().requires_grad_();
            var bias = b0.clone().requires_grad_();
            for (int i = 0; i < passes; i++)
            {
                var x = pooled ? VocabularyGradients.Embedding(embedding, Ids(), Pad) : embedding.forward(Ids());
                var h = x.tanh() * (i + 1);
                var logits = pooled ? VocabularyGradients.Decoder(h, decoderWeight, bias) : nn.functional.linear(h, decoderWeight, bias);
                (logits * upstream).sum().backward();
            }
            return (embedding.weight!.grad!.clone(), tied ? null : decoderWeight.grad!.clone(), bias.grad!.clone());
        }

        var (ep, dp, bp) = Run(pooled: true);
        var (er, dr, br) = Run(pooled: false);
        Assert.True(RelativeError(ep, er) <= 1e-6, $"embedding weight: relative error {RelativeError(ep, er):E2}");
        Assert.True(RelativeError(bp, br) <= 1e-6, $"bias: relative error {RelativeError(bp, br):E2}");
        if (!tied) Assert.True(RelativeError(dp!, dr!) <= 1e-6, $"decoder weight: relative error {RelativeError(dp!, dr!):E2}");
        // The padding row gets the decoder's gradient only (tied) or nothing (untied), as libtorch's padding_idx.
        Assert.True(tied ? er[Pad].abs().sum().item<float>() > 0 : er[Pad].abs().sum().item<float>() == 0);
    }
}
