using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Model;

/// <summary>BERT's initialisation: Linear and Embedding weights N(0, initializer_range), biases 0, the padding row 0, LayerNorm 1/0.
/// Extra attention parameters keep the values their mechanism created.</summary>
public static class BertInit
{
    public static void Apply(nn.Module model, BertConfig c)
    {
        using var _ = no_grad();
        foreach (var (_, m) in model.named_modules())
        {
            switch (m)
            {
                case Linear lin:
                    lin.weight!.normal_(0, c.InitializerRange);
                    lin.bias?.zero_();
                    break;
                case Embedding emb:
                    emb.weight!.normal_(0, c.InitializerRange);
                    break;
                case LayerNorm ln:
                    ln.weight!.fill_(1);
                    ln.bias!.zero_();
                    break;
            }
        }
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("embeddings.word_embeddings.weight")) p[c.PadTokenId].zero_();
            if (name == "cls.predictions.bias") p.zero_();
        }
    }
}
