namespace BertLab.Attention;

/// <summary>Builds the mechanism a configuration names (the registry the model asks; variants never fork the model).</summary>
public static class AttentionFactory
{
    public static IAttentionMechanism Create(AttentionConfig config)
    {
        // BERT's own attention, with Hugging Face's semantics (padded query rows computed like the others).
        if (config.IsBertSoftmax && config.TokenDropout == 0)
            return new SoftmaxAttention(config);
        // Everything else of ATTENTION.md: similarity × activation × scaling × normalisation, padded query rows exactly 0.
        return new ComposedAttention(config);
    }
}
