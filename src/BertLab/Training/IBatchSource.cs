using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>One masked-LM micro-batch (CPU int64 tensors, (B, S)); labels are −100 where nothing is predicted.</summary>
public sealed class TrainingBatch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required Tensor TokenTypeIds { get; init; }
    public required Tensor Labels { get; init; }

    public long Tokens => AttentionMask.sum().item<long>();
    public long MaskedTokens => Labels.ne(-100).sum().item<long>();

    public TrainingBatch To(Device device) => device.type == TorchSharp.DeviceType.CPU ? this : new TrainingBatch
    {
        InputIds = InputIds.to(device), AttentionMask = AttentionMask.to(device), TokenTypeIds = TokenTypeIds.to(device), Labels = Labels.to(device),
    };

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds.Dispose(); Labels.Dispose();
    }
}

/// <summary>Where the trainer's batches come from: a seeded, resumable stream of training batches and a fixed validation set.</summary>
public interface IBatchSource
{
    /// <summary>The next training micro-batch of <paramref name="batchSize"/> sequences (new masks every epoch).</summary>
    TrainingBatch NextTrain(int batchSize);
    /// <summary>The validation batches, identical on every call (fixed masks).</summary>
    IEnumerable<TrainingBatch> Validation(int batchSize, int maxBatches);
    /// <summary>Position in the stream (epoch, index, generator state), saved with each checkpoint.</summary>
    JsonNode SaveState();
    void RestoreState(JsonNode state);
    /// <summary>Short description for logs (corpus, sequences, tokens).</summary>
    string Describe();
}
