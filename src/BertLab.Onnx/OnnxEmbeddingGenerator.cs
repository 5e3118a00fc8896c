using Microsoft.Extensions.AI;

namespace BertLab.Onnx;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a BERT ONNX graph on ONNX Runtime:
/// mean-pooled, L2-normalised sentence embeddings (<see cref="BertOnnxModel.Embed"/>), batched by
/// <see cref="OnnxModelOptions.BatchSize"/>, the cancellation token checked between batches.
/// </summary>
public sealed class OnnxEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ProviderName = "bertlab-onnxruntime";

    readonly EmbeddingGeneratorMetadata _metadata;

    OnnxEmbeddingGenerator(BertOnnxModel model)
    {
        Model = model;
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, new Uri(Path.GetFullPath(model.Directory)), model.ModelId, model.HiddenSize);
    }

    /// <summary>Loads a model directory (see <see cref="BertOnnxModel.Load"/>: onnx/model.onnx or model.onnx, vocab.txt or tokenizer.json, config.json).</summary>
    public static OnnxEmbeddingGenerator Load(string modelDirectory, OnnxModelOptions? options = null) => new(BertOnnxModel.Load(modelDirectory, options));

    /// <summary>The model the generator runs.</summary>
    public BertOnnxModel Model { get; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        EmbeddingGenerators.CheckDimensions(options, Model.HiddenSize);
        var texts = values as IReadOnlyList<string> ?? values.ToList();
        var vectors = Model.Embed(texts, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Length);
        foreach (var v in vectors) result.Add(new Embedding<float>(v) { ModelId = Model.ModelId, CreatedAt = created });
        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => EmbeddingGenerators.GetService(this, _metadata, serviceType, serviceKey);

    public void Dispose() => Model.Dispose();
}

/// <summary>What every BertLab embedding generator does alike.</summary>
internal static class EmbeddingGenerators
{
    /// <summary>A model has one dimension (its hidden size): a request for another is an error, not a silent truncation.</summary>
    public static void CheckDimensions(EmbeddingGenerationOptions? options, int hiddenSize)
    {
        if (options?.Dimensions is int d && d != hiddenSize)
            throw new BertLabException($"the model's embeddings have {hiddenSize} dimensions; {d} were asked for");
    }

    public static object? GetService(object generator, EmbeddingGeneratorMetadata metadata, Type serviceType, object? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return metadata;
        return serviceType.IsInstanceOfType(generator) ? generator : null;
    }
}
