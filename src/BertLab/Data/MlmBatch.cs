using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Data;

/// <summary>
/// One masked-LM batch as int64 tensors of shape [batch, sequence]: input_ids (corrupted), token_type_ids,
/// attention_mask (1 = real token, 0 = [PAD]) and labels (original id at selected positions, −100 elsewhere).
/// Dispose it (or create it inside a dispose scope) when the step is done.
/// </summary>
public sealed class MlmBatch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor TokenTypeIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required Tensor Labels { get; init; }
    /// <summary>Flat indices of the labelled positions, found on the host before the batch moved to an accelerator
    /// (so the masked-only logits need no device synchronisation); null on the CPU.</summary>
    public Tensor? MaskedIndex { get; init; }
    public int BatchSize => (int)InputIds.shape[0];
    public int SequenceLength => (int)InputIds.shape[1];
    /// <summary>Positions with a label (selected for prediction).</summary>
    public long SelectedTokens { get; init; }
    /// <summary>Non-padding tokens.</summary>
    public long RealTokens { get; init; }
    /// <summary>The loader's position after this batch (what to save with a checkpoint taken after this step).</summary>
    public DataPosition Next { get; init; }

    /// <summary>Builds a batch from flat row-major arrays of length batch × sequence.</summary>
    public static MlmBatch FromArrays(long[] inputIds, long[] tokenTypeIds, long[] attentionMask, long[] labels, int batch, int sequence,
        long selected = 0, long real = 0, DataPosition next = default, Device? device = null)
    {
        var shape = new long[] { batch, sequence };
        return new MlmBatch
        {
            InputIds = Make(inputIds), TokenTypeIds = Make(tokenTypeIds), AttentionMask = Make(attentionMask), Labels = Make(labels),
            SelectedTokens = selected, RealTokens = real, Next = next,
        };

        Tensor Make(long[] data)
        {
            var t = torch.tensor(data, shape, dtype: ScalarType.Int64);
            return device is null || device.type == DeviceType.CPU ? t : t.to(device);
        }
    }

    /// <summary>Labelled positions, counted from the labels (whoever built the batch).</summary>
    public long CountMaskedTokens() => Labels.ne(-100).sum().item<long>();

    /// <summary>Real (non-padding) tokens, counted from the attention mask.</summary>
    public long CountRealTokens() => AttentionMask.sum().item<long>();

    /// <summary>The same batch on another device (itself on the CPU).</summary>
    public MlmBatch To(Device device) => device.type == DeviceType.CPU ? this : new MlmBatch
    {
        InputIds = InputIds.to(device), TokenTypeIds = TokenTypeIds.to(device), AttentionMask = AttentionMask.to(device), Labels = Labels.to(device),
        MaskedIndex = (MaskedIndex ?? Model.BertForMaskedLM.MaskedPositions(Labels)).to(device),
        SelectedTokens = SelectedTokens, RealTokens = RealTokens, Next = Next,
    };

    /// <summary>Moves the four tensors to the outer dispose scope.</summary>
    public MlmBatch MoveToOuterDisposeScope()
    {
        InputIds.MoveToOuterDisposeScope(); TokenTypeIds.MoveToOuterDisposeScope();
        AttentionMask.MoveToOuterDisposeScope(); Labels.MoveToOuterDisposeScope(); MaskedIndex?.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        InputIds.Dispose(); TokenTypeIds.Dispose(); AttentionMask.Dispose(); Labels.Dispose(); MaskedIndex?.Dispose();
    }
}
