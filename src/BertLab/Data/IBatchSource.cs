using System.Text.Json.Nodes;

namespace BertLab.Data;

/// <summary>Where the trainer's batches come from: a seeded, resumable stream of training batches and a fixed validation set
/// (the text shards, a synthetic task, a test's fixed tensors).</summary>
public interface IBatchSource
{
    /// <summary>The next training micro-batch of <paramref name="batchSize"/> sequences (new masks every epoch).</summary>
    MlmBatch NextTrain(int batchSize);
    /// <summary>The validation batches, identical on every call (fixed masks).</summary>
    IEnumerable<MlmBatch> Validation(int batchSize, int maxBatches);
    /// <summary>Position in the stream (epoch, index, generator state), saved with each checkpoint.</summary>
    JsonNode SaveState();
    void RestoreState(JsonNode state);
    /// <summary>Short description for logs (corpus, sequences, tokens).</summary>
    string Describe();
    /// <summary>How often each token id occurs in the training data (−1 for tokens that are never a label: specials), for the
    /// unigram baseline loss <c>val_unigram_loss</c>; null (the default) when the source cannot say.</summary>
    long[]? TrainingTokenCounts() => null;
}
