using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace BertLab.Training;

/// <summary>
/// What a pre-training run carries from one step to the next besides weights and optimiser state: the step, the RNG, the
/// data position, the divergence guard with the best validation, the stability diagnostics. A checkpoint holds it as
/// <see cref="RunDirectory.StateFile"/>; <see cref="ToJson"/> and <see cref="Parse"/> are its one serialiser, in the layout
/// checkpoints have always had (those written before the stability diagnostics were saved have no "stability").
/// </summary>
public sealed class TrainerState
{
    /// <summary>Optimiser steps done.</summary>
    [JsonPropertyName("step"), JsonRequired] public int Step { get; set; }
    /// <summary>torch's CPU generator state (the bytes of <c>torch.random.get_rng_state()</c>), base64 in the file.</summary>
    [JsonPropertyName("torch_rng"), JsonRequired, JsonConverter(typeof(Base64Text))] public byte[] TorchRng { get; set; } = [];
    /// <summary>The batch source's position, in its own format (<see cref="Data.IBatchSource.SaveState"/>).</summary>
    [JsonPropertyName("data"), JsonRequired] public JsonNode? Data { get; set; }
    [JsonPropertyName("guard"), JsonRequired] public GuardState Guard { get; set; } = new();
    /// <summary>Null in checkpoints written before the stability diagnostics travelled with them (they start afresh).</summary>
    [JsonPropertyName("stability")] public StabilityState? Stability { get; set; }

    static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>The state in <paramref name="json"/>; throws a <see cref="BertLabException"/> naming <paramref name="source"/> when it is not one.</summary>
    public static TrainerState Parse(string json, string source)
    {
        try { return JsonSerializer.Deserialize<TrainerState>(json, Options) ?? throw new JsonException("the file holds null"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            throw new BertLabException($"{source}: {e.Message}");
        }
    }
}

/// <summary>
/// The state of the runaway rule of <see cref="StabilityMonitor"/> (an exponential mean of the loss, its lowest value, the
/// steps above divergence_factor × that lowest mean) and the best validation so far, which the checkpoint pruning keeps:
/// the "guard" object of <see cref="RunDirectory.StateFile"/>.
/// </summary>
public sealed class GuardState
{
    /// <summary>The exponential mean of the loss (over ~20 steps); NaN before the first step.</summary>
    [JsonPropertyName("ema"), JsonConverter(typeof(NullIsNaN))] public double Ema { get; set; } = double.NaN;
    /// <summary>The lowest value <see cref="Ema"/> has had; +∞ before the first step.</summary>
    [JsonPropertyName("min_ema"), JsonConverter(typeof(NullIsInfinity))] public double MinEma { get; set; } = double.PositiveInfinity;
    /// <summary>Consecutive steps with the loss above divergence_factor × <see cref="MinEma"/>.</summary>
    [JsonPropertyName("above"), JsonRequired] public int Above { get; set; }
    /// <summary>Steps observed.</summary>
    [JsonPropertyName("seen"), JsonRequired] public int Seen { get; set; }
    /// <summary>The lowest validation loss so far (+∞: none yet), and its step (−1: none).</summary>
    [JsonPropertyName("best_val_loss"), JsonConverter(typeof(NullIsInfinity))] public double BestValLoss { get; set; } = double.PositiveInfinity;
    [JsonPropertyName("best_step"), JsonRequired] public int BestStep { get; set; } = -1;
}

/// <summary>The state of <see cref="StabilityMonitor"/>'s diagnostics: the "stability" object of <see cref="RunDirectory.StateFile"/>.</summary>
public sealed class StabilityState
{
    /// <summary>The lowest loss so far (+∞ before the first step).</summary>
    [JsonPropertyName("min_loss"), JsonConverter(typeof(NullIsInfinity))] public double MinLoss { get; set; } = double.PositiveInfinity;
    [JsonPropertyName("loss_spike_steps"), JsonRequired] public int LossSpikeSteps { get; set; }
    [JsonPropertyName("grad_spike_steps"), JsonRequired] public int GradSpikeSteps { get; set; }
    /// <summary>The first step of each loss-spike episode (at most <see cref="StabilityMonitor.MaxListed"/>).</summary>
    [JsonPropertyName("loss_spikes"), JsonRequired] public List<int> LossSpikes { get; set; } = new();
    [JsonPropertyName("grad_spikes"), JsonRequired] public List<int> GradSpikes { get; set; } = new();
    /// <summary>First step of the current stretch above the running minimum + <see cref="StabilityMonitor.SpikeNats"/> (null while healthy).</summary>
    [JsonPropertyName("unhealthy_since")] public int? UnhealthySince { get; set; }
    /// <summary>Consecutive steps within <see cref="StabilityMonitor.UniformNats"/> of ln V after having learned.</summary>
    [JsonPropertyName("near_uniform"), JsonRequired] public int NearUniform { get; set; }
    /// <summary>Every gradient norm so far, sorted (the median of the spike rule).</summary>
    [JsonPropertyName("grad_norms"), JsonRequired] public List<double> GradNorms { get; set; } = new();
    /// <summary>The first attention statistics at or after the end of warmup, and their step (−1: none yet).</summary>
    [JsonPropertyName("warmup_end")] public JsonObject? WarmupEnd { get; set; }
    [JsonPropertyName("warmup_end_step"), JsonRequired] public int WarmupEndStep { get; set; } = -1;
    /// <summary>The latest attention statistics, and their step (−1: none yet).</summary>
    [JsonPropertyName("latest")] public JsonObject? Latest { get; set; }
    [JsonPropertyName("latest_step"), JsonRequired] public int LatestStep { get; set; } = -1;
    /// <summary>Per layer: the largest attention-logit range seen (absent in checkpoints made before it was followed).</summary>
    [JsonPropertyName("max_logit_range"), JsonConverter(typeof(LayerMaximaConverter))] public SortedDictionary<int, double> MaxLogitRange { get; set; } = new();
    /// <summary>Per layer: the slopes of the output norm against ln n seen so far (sum, count, last).</summary>
    [JsonPropertyName("slopes"), JsonRequired, JsonConverter(typeof(LayerSlopesConverter))] public SortedDictionary<int, SlopeSum> Slopes { get; set; } = new();
}

/// <summary>The slopes of one layer's output norm against ln n: their sum and count (for the mean) and the last one.</summary>
public readonly record struct SlopeSum(double Sum, int Count, double Last);

/// <summary>Bytes as a base64 JSON string, escaped as every other string of the file ('+' as \u002B), as checkpoints have always held them.</summary>
sealed class Base64Text : JsonConverter<byte[]>
{
    public override byte[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Convert.FromBase64String(reader.GetString() ?? throw new JsonException("expected a base64 string, got null"));

    public override void Write(Utf8JsonWriter writer, byte[] value, JsonSerializerOptions options) => writer.WriteStringValue(Convert.ToBase64String(value));
}

/// <summary>A number that has no value yet is null in the file: read back as NaN.</summary>
sealed class NullIsNaN : NonFiniteAsNull { protected override double Missing => double.NaN; }

/// <summary>A number that has no value yet (an infinite minimum) is null in the file: read back as +∞.</summary>
sealed class NullIsInfinity : NonFiniteAsNull { protected override double Missing => double.PositiveInfinity; }

/// <summary>JSON has no NaN or ∞: a number that is not finite is written as null and read back as <see cref="Missing"/>.</summary>
abstract class NonFiniteAsNull : JsonConverter<double>
{
    protected abstract double Missing { get; }
    public override bool HandleNull => true;

    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? Missing : reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }
}

/// <summary>Per-layer maxima as the file holds them: [[layer, value], …] in layer order.</summary>
sealed class LayerMaximaConverter : JsonConverter<SortedDictionary<int, double>>
{
    public override SortedDictionary<int, double> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var result = new SortedDictionary<int, double>();
        foreach (var row in JsonSerializer.Deserialize<double[][]>(ref reader, options) ?? [])
            result[checked((int)row[0])] = row[1];
        return result;
    }

    public override void Write(Utf8JsonWriter writer, SortedDictionary<int, double> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var (layer, max) in value)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(layer);
            writer.WriteNumberValue(max);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }
}

/// <summary>Per-layer slope sums as the file holds them: [[layer, sum, count, last], …] in layer order.</summary>
sealed class LayerSlopesConverter : JsonConverter<SortedDictionary<int, SlopeSum>>
{
    public override SortedDictionary<int, SlopeSum> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var result = new SortedDictionary<int, SlopeSum>();
        foreach (var row in JsonSerializer.Deserialize<double[][]>(ref reader, options) ?? [])
            result[checked((int)row[0])] = new SlopeSum(row[1], checked((int)row[2]), row[3]);
        return result;
    }

    public override void Write(Utf8JsonWriter writer, SortedDictionary<int, SlopeSum> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var (layer, s) in value)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(layer);
            writer.WriteNumberValue(s.Sum);
            writer.WriteNumberValue(s.Count);
            writer.WriteNumberValue(s.Last);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }
}
