using BertLab.Runtime;
using Microsoft.Extensions.AI;

namespace BertLab.Model;

/// <summary>How a <see cref="TorchEmbeddingGenerator"/> runs.</summary>
public sealed record TorchEmbeddingOptions
{
    /// <summary>Texts per forward pass (each batch is padded to its longest text).</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Tokens per text, [CLS] and [SEP] included (longer texts are truncated); at most the model's max_position_embeddings.</summary>
    public int MaxLength { get; init; } = ModelFiles.EmbedMaxLength;
    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch's intra-op threads (process-wide); 0 = leave them as they are.</summary>
    public int Threads { get; init; }
}

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a BertLab or Hugging Face BERT model
/// directory on libtorch: <see cref="SentenceEmbedder"/>'s mean-pooled, L2-normalised embeddings (what <c>bertlab embed</c>
/// writes), batched by <see cref="TorchEmbeddingOptions.BatchSize"/>, the cancellation token checked between batches.
/// </summary>
public sealed class TorchEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ProviderName = "bertlab-libtorch";

    readonly SentenceEmbedder _embedder;
    readonly TorchEmbeddingOptions _options;
    readonly EmbeddingGeneratorMetadata _metadata;
    bool _disposed;

    TorchEmbeddingGenerator(string modelDirectory, TorchEmbeddingOptions options)
    {
        if (options.BatchSize < 1) throw new BertLabException($"batch size must be at least 1, not {options.BatchSize}");
        if (options.MaxLength < 2) throw new BertLabException($"max length must be at least 2 ([CLS] and [SEP]), not {options.MaxLength}");
        if (options.Threads < 0) throw new BertLabException($"threads must be 0 (leave libtorch's) or more, not {options.Threads}");
        TorchRuntime.Initialize(options.Threads);
        _options = options;
        _embedder = new SentenceEmbedder(modelDirectory, TorchRuntime.Device(options.Device));
        var config = BertCheckpoint.LoadConfig(modelDirectory);
        ModelId = config.Extra("_name_or_path") is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var name) && name.Length > 0
            ? name : new DirectoryInfo(modelDirectory).Name;
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, new Uri(Path.GetFullPath(modelDirectory)), ModelId, _embedder.Dimension);
    }

    /// <summary>Loads a model directory (config.json, model.safetensors or pytorch_model.bin, vocab.txt).</summary>
    public static TorchEmbeddingGenerator Load(string modelDirectory, TorchEmbeddingOptions? options = null) => new(modelDirectory, options ?? new TorchEmbeddingOptions());

    /// <summary>config.json's _name_or_path, else the directory's name.</summary>
    public string ModelId { get; }
    public int Dimension => _embedder.Dimension;

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (options?.Dimensions is int d && d != Dimension)
            throw new BertLabException($"the model's embeddings have {Dimension} dimensions; {d} were asked for");
        var texts = values as IReadOnlyList<string> ?? values.ToList();
        var vectors = _embedder.Embed(texts, _options.BatchSize, _options.MaxLength, cancellationToken: cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Length);
        foreach (var v in vectors) result.Add(new Embedding<float>(v) { ModelId = ModelId, CreatedAt = created });
        return Task.FromResult(result);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _embedder.Dispose();
    }
}
