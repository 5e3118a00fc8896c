using System.Text.Json.Nodes;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Training;

/// <summary>The checkpoint state's one serialiser (<see cref="TrainerState"/>) against state files the trainer wrote before
/// it existed: read field by field as JSON here, independently of the code under test.</summary>
public class TrainerStateTests
{
    static string FixturePath => Fixtures.Path_("trainer-state", "bertlab_state.json");

    [Fact]
    public void AStateFileOfTheEarlierTrainer_IsReadFieldByField_AndWrittenBackByteForByte()
    {
        string text = File.ReadAllText(FixturePath);
        var json = JsonNode.Parse(text)!.AsObject();
        var state = TrainerState.Parse(text, "fixture");

        Assert.Equal(json["step"]!.GetValue<int>(), state.Step);
        Assert.Equal(Convert.FromBase64String(json["torch_rng"]!.GetValue<string>()), state.TorchRng);
        Assert.True(JsonNode.DeepEquals(json["data"], state.Data));
        var g = json["guard"]!;
        Assert.Equal(g["ema"]!.GetValue<double>(), state.Guard.Ema);
        Assert.Equal(g["min_ema"]!.GetValue<double>(), state.Guard.MinEma);
        Assert.Equal((g["above"]!.GetValue<int>(), g["seen"]!.GetValue<int>()), (state.Guard.Above, state.Guard.Seen));
        Assert.Equal((g["best_val_loss"]!.GetValue<double>(), g["best_step"]!.GetValue<int>()), (state.Guard.BestValLoss, state.Guard.BestStep));
        var s = json["stability"]!;
        var st = state.Stability!;
        Assert.Equal(s["min_loss"]!.GetValue<double>(), st.MinLoss);
        Assert.Equal(s["grad_norms"]!.AsArray().Select(x => x!.GetValue<double>()), st.GradNorms);
        Assert.Equal(s["latest_step"]!.GetValue<int>(), st.LatestStep);
        Assert.True(JsonNode.DeepEquals(s["warmup_end"], st.WarmupEnd));
        Assert.Equal(s["max_logit_range"]!.AsArray().Select(r => (r![0]!.GetValue<int>(), r[1]!.GetValue<double>())),
                     st.MaxLogitRange.Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(s["slopes"]!.AsArray().Select(r => (r![0]!.GetValue<int>(), r[1]!.GetValue<double>(), r[2]!.GetValue<int>(), r[3]!.GetValue<double>())),
                     st.Slopes.Select(kv => (kv.Key, kv.Value.Sum, kv.Value.Count, kv.Value.Last)));
        Assert.NotEmpty(st.Slopes);

        // the layout checkpoints have always had: a resumed run writes the same bytes for the same state
        Assert.Equal(text, state.ToJson());
    }

    [Fact]
    public void OlderStates_WithoutStabilityOrLogitRanges_AndWithoutValuesYet_AreRead()
    {
        var json = JsonNode.Parse(File.ReadAllText(FixturePath))!.AsObject();
        json["stability"]!.AsObject().Remove("max_logit_range");    // before the logit range was followed
        var withoutRanges = TrainerState.Parse(json.ToJsonString(), "test");
        Assert.Empty(withoutRanges.Stability!.MaxLogitRange);
        Assert.NotEmpty(withoutRanges.Stability.Slopes);

        json.Remove("stability");                                   // before the diagnostics travelled with checkpoints
        foreach (var k in new[] { "ema", "min_ema", "best_val_loss" }) json["guard"]![k] = null;   // no step, no validation yet
        var old = TrainerState.Parse(json.ToJsonString(), "test");
        Assert.Null(old.Stability);
        Assert.True(double.IsNaN(old.Guard.Ema));
        Assert.Equal(double.PositiveInfinity, old.Guard.MinEma);
        Assert.Equal(double.PositiveInfinity, old.Guard.BestValLoss);
    }

    [Fact]
    public void AFreshState_WritesItsMissingValuesAsNull()
    {
        var json = JsonNode.Parse(new TrainerState { Step = 0, TorchRng = [7], Data = new JsonObject(), Stability = new StabilityState() }.ToJson())!;
        Assert.Null(json["guard"]!["ema"]);
        Assert.Null(json["guard"]!["min_ema"]);
        Assert.Null(json["guard"]!["best_val_loss"]);
        Assert.Equal(-1, json["guard"]!["best_step"]!.GetValue<int>());
        Assert.Null(json["stability"]!["min_loss"]);
        Assert.Equal("Bw==", json["torch_rng"]!.GetValue<string>());
        Assert.Empty(json["stability"]!["slopes"]!.AsArray());
    }

    [Theory]
    [InlineData("step")]
    [InlineData("torch_rng")]
    [InlineData("guard")]
    public void AStateWithoutARequiredField_IsAnErrorNamingTheFileAndTheField(string field)
    {
        var json = JsonNode.Parse(File.ReadAllText(FixturePath))!.AsObject();
        json.Remove(field);
        var e = Assert.Throws<BertLabException>(() => TrainerState.Parse(json.ToJsonString(), "step-00000030/bertlab_state.json"));
        Assert.StartsWith("step-00000030/bertlab_state.json: ", e.Message);
        Assert.Contains(field, e.Message);
    }
}
