using BertLab.Data;
using System.Text.Json.Nodes;
using BertLab.Training;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

/// <summary>Test source: the same batch (or rows of one big batch, in order) every step; state = the step counter.</summary>
public sealed class FixedBatchSource : IBatchSource
{
    readonly Tensor _ids, _mask, _types, _labels;
    long _next;

    public FixedBatchSource(Tensor ids, Tensor mask, Tensor types, Tensor labels)
    {
        _ids = ids.detach().clone(); _mask = mask.detach().clone(); _types = types.detach().clone(); _labels = labels.detach().clone();
        foreach (var t in new[] { _ids, _mask, _types, _labels }) t.MoveToOuterDisposeScope();
    }

    /// <summary>Rows [i·b, (i+1)·b) of the batch, cycling.</summary>
    public MlmBatch NextTrain(int batchSize)
    {
        long rows = _ids.shape[0];
        long start = batchSize >= rows ? 0 : (_next * batchSize) % rows;
        long take = Math.Min(batchSize, rows);
        _next++;
        var labels = _labels.narrow(0, start, take).clone();
        var mask = _mask.narrow(0, start, take).clone();
        return new MlmBatch
        {
            InputIds = _ids.narrow(0, start, take).clone(), AttentionMask = mask,
            TokenTypeIds = _types.narrow(0, start, take).clone(), Labels = labels,
            SelectedTokens = labels.ne(-100).sum().item<long>(), RealTokens = mask.sum().item<long>(),
        };
    }

    public IEnumerable<MlmBatch> Validation(int batchSize, int maxBatches)
    {
        yield return new MlmBatch
        {
            InputIds = _ids.clone(), AttentionMask = _mask.clone(), TokenTypeIds = _types.clone(), Labels = _labels.clone(),
            SelectedTokens = _labels.ne(-100).sum().item<long>(), RealTokens = _mask.sum().item<long>(),
        };
    }

    public JsonNode SaveState() => new JsonObject { ["next"] = _next };
    public void RestoreState(JsonNode state) => _next = state["next"]!.GetValue<long>();
    public string Describe() => "fixed test batch";

    /// <summary>A random MLM batch over a small vocabulary: some padding, ~15% labels, never on padding.</summary>
    public static FixedBatchSource Random(int rows, int seq, int vocab, long seed)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        var ids = randint(5, vocab, new long[] { rows, seq }, generator: g, dtype: ScalarType.Int64);
        var lengths = randint(seq / 2, seq + 1, new long[] { rows, 1 }, generator: g, dtype: ScalarType.Int64);
        var mask = (arange(seq).unsqueeze(0) < lengths).to_type(ScalarType.Int64);
        ids = ids * mask;
        var select = (rand(new long[] { rows, seq }, generator: g) < 0.15) & mask.to_type(ScalarType.Bool);
        var labels = where(select, ids, full_like(ids, -100));
        var inputs = where(select, full_like(ids, 4), ids);
        return new FixedBatchSource(inputs, mask, zeros_like(ids), labels);
    }
}
