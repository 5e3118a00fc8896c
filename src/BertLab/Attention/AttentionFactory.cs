namespace BertLab.Attention;

/// <summary>Builds the mechanism a configuration names (the registry the model asks; variants never fork the model).</summary>
public static class AttentionFactory
{
    public static IAttentionMechanism Create(AttentionConfig config)
    {
        if (config.Similarity == "dot" && config.Activation == "softmax" && config.Scaling == "none" && config.Normalize.Count == 0
            && config.TokenDropout == 0)
            return new SoftmaxAttention(config);
        throw new BertLabException($"attention '{config.Describe()}' is not implemented yet");
    }
}
