using System.Buffers.Binary;
using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

/// <summary>A TensorBoard event file read back by hand: TFRecord framing (length, masked CRC-32C of the length, data,
/// masked CRC-32C of the data) around Event protobufs {1: wall_time double, 2: step int64, 5: summary {1: value {1: tag, 2: simple_value float}}}.</summary>
public static class TfEvents
{
    public sealed record Scalar(string Tag, long Step, float Value, double WallTime);

    public static List<Scalar> ReadFolder(string dir)
    {
        var files = Directory.GetFiles(dir, "events.out.tfevents.*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        return files.SelectMany(Read).ToList();
    }

    public static List<Scalar> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var scalars = new List<Scalar>();
        int pos = 0, records = 0;
        while (pos < bytes.Length)
        {
            Assert.True(pos + 12 <= bytes.Length, $"{path}: truncated record header at {pos}");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos));
            Assert.Equal(MaskedCrc(bytes.AsSpan(pos, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8)));
            pos += 12;
            var data = bytes.AsSpan(pos, (int)length);
            pos += (int)length;
            Assert.Equal(MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos)));
            pos += 4;
            records++;
            ParseEvent(data, scalars);
        }
        Assert.True(records > 0, $"{path}: no records");
        return scalars;
    }

    static void ParseEvent(ReadOnlySpan<byte> e, List<Scalar> into)
    {
        double wall = 0; long step = 0;
        var values = new List<(string, float)>();
        int p = 0;
        while (p < e.Length)
        {
            ulong key = Varint(e, ref p);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            if (field == 1 && wire == 1) { wall = BinaryPrimitives.ReadDoubleLittleEndian(e[p..]); p += 8; }
            else if (field == 2 && wire == 0) step = (long)Varint(e, ref p);
            else if (field == 5 && wire == 2)
            {
                int len = (int)Varint(e, ref p);
                ParseSummary(e.Slice(p, len), values);
                p += len;
            }
            else Skip(e, ref p, wire);
        }
        foreach (var (tag, v) in values) into.Add(new Scalar(tag, step, v, wall));
    }

    static void ParseSummary(ReadOnlySpan<byte> s, List<(string, float)> into)
    {
        int p = 0;
        while (p < s.Length)
        {
            ulong key = Varint(s, ref p);
            if ((key >> 3) == 1 && (key & 7) == 2)
            {
                int len = (int)Varint(s, ref p);
                var v = s.Slice(p, len);
                p += len;
                string? tag = null; float? value = null;
                int q = 0;
                while (q < v.Length)
                {
                    ulong k = Varint(v, ref q);
                    if ((k >> 3) == 1 && (k & 7) == 2) { int l = (int)Varint(v, ref q); tag = Encoding.UTF8.GetString(v.Slice(q, l)); q += l; }
                    else if ((k >> 3) == 2 && (k & 7) == 5) { value = BinaryPrimitives.ReadSingleLittleEndian(v[q..]); q += 4; }
                    else Skip(v, ref q, (int)(k & 7));
                }
                Assert.NotNull(tag);
                Assert.True(value.HasValue, $"summary value '{tag}' has no simple_value");
                into.Add((tag!, value!.Value));
            }
            else Skip(s, ref p, (int)(key & 7));
        }
    }

    static ulong Varint(ReadOnlySpan<byte> b, ref int p)
    {
        ulong r = 0; int shift = 0;
        while (true)
        {
            byte x = b[p++];
            r |= (ulong)(x & 0x7F) << shift;
            if ((x & 0x80) == 0) return r;
            shift += 7;
        }
    }

    static void Skip(ReadOnlySpan<byte> b, ref int p, int wire)
    {
        switch (wire)
        {
            case 0: Varint(b, ref p); break;
            case 1: p += 8; break;
            case 2: { int len = (int)Varint(b, ref p); p += len; break; }
            case 5: p += 4; break;
            default: throw new InvalidDataException($"wire type {wire}");
        }
    }

    static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>TFRecord's masked CRC-32C (Castagnoli).</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        crc ^= 0xFFFFFFFFu;
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }
}

public sealed class TensorBoardTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-tb-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    static readonly double Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public void Train_WritesEveryLoggedScalar_AtItsStep_WithTheWallTime()
    {
        using var scope = NewDisposeScope();
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = 200, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0, ["max_position_embeddings"] = 64 };
        json["attention"] = "cottention";
        json["data"] = new JsonObject { ["seq_len"] = 32 };
        json["run"] = new JsonObject { ["steps"] = 4, ["batch_size"] = 8, ["log_interval"] = 1, ["eval_interval"] = 2, ["eval_batches"] = 1, ["checkpoint_interval"] = 100, ["threads"] = 2 };
        var config = RunConfig.FromJson(json);
        var dir = Path.Combine(_tmp, "run");
        using (var tb = new TensorBoardObserver(dir))
        {
            var summary = new Trainer(config, dir, FixedBatchSource.Random(16, 32, 200, 3), observer: new TrainingObservers(tb)).Run();
            Assert.Equal(RunStatus.Completed, summary.Status);
        }
        var events = TfEvents.ReadFolder(Path.Combine(dir, TensorBoardWriter.Folder));
        var records = TrainingPlots.ReadMetrics(dir).Where(m => m["loss"] is not null).ToList();
        Assert.Equal(4, records.Count);
        foreach (var r in records)
        {
            int step = r["step"]!.GetValue<int>();
            foreach (var (key, tag) in new[] { ("loss", "train/loss"), ("lr", "train/lr"), ("grad_norm", "train/grad_norm"), ("tokens_per_s", "train/tokens_per_s"), ("mlm_accuracy", "train/mlm_accuracy") })
            {
                var e = Assert.Single(events, x => x.Tag == tag && x.Step == step);
                Assert.Equal((float)r[key]!.GetValue<double>(), e.Value);
                Assert.InRange(e.WallTime, Now - 3600, Now + 3600);   // not 0: the wall time is passed explicitly
            }
            if (r["val_loss"] is JsonNode vl)
                Assert.Equal((float)vl.GetValue<double>(), Assert.Single(events, x => x.Tag == "validation/val_loss" && x.Step == step).Value);
        }
        Assert.Equal(new long[] { 2, 4 }, events.Where(e => e.Tag == "validation/val_loss").Select(e => e.Step).Order());
        Assert.Contains(events, e => e.Tag.StartsWith("attention/", StringComparison.Ordinal));   // the attention diagnostics
        Assert.Contains(events, e => e.Tag == "system/rss_mb");
    }

    [Fact]
    public void Finetune_WritesStepAndEpochScalars()
    {
        var model = Path.Combine(_tmp, "tiny");
        var config = BertConfig.FromJson("""
            { "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": 64, "initializer_range": 0.1 }
            """);
        torch.manual_seed(0);
        using (var m = new BertModel(config)) BertCheckpoint.Save(m, config, model);
        var outDir = Path.Combine(_tmp, "out");
        var root = new RootCommand("test");
        root.Subcommands.Add(new FinetuneVerb().Build());
        int rc = Verb.Run(() => root.Parse(new[] { "finetune", "--from", model, "--out", outDir, "--epochs", "2", "--lr", "1e-3",
            "--batch-size", "16", "--max-length", "32", "--max-train-examples", "32", "--seeds", "1" }).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Equal(0, rc);
        var events = TfEvents.ReadFolder(Path.Combine(outDir, TensorBoardWriter.Folder));
        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, FineTuneResult.FileName)));
        var seed = results.RootElement.GetProperty("seeds")[0];
        int seedId = seed.GetProperty("seed").GetInt32();
        var losses = events.Where(e => e.Tag == $"seed-{seedId}/train/loss").OrderBy(e => e.Step).ToList();
        Assert.Equal(new long[] { 1, 2, 3, 4 }, losses.Select(e => e.Step));   // 32 examples / 16 per batch × 2 epochs
        Assert.All(losses, e => Assert.InRange(e.WallTime, Now - 3600, Now + 3600));
        Assert.Equal(4, events.Count(e => e.Tag == $"seed-{seedId}/train/lr"));
        Assert.Equal(4, events.Count(e => e.Tag == $"seed-{seedId}/train/grad_norm"));
        var epochs = seed.GetProperty("epochs").EnumerateArray().ToList();
        Assert.Equal(2, epochs.Count);
        for (int i = 0; i < epochs.Count; i++)
        {
            var acc = Assert.Single(events, e => e.Tag == $"seed-{seedId}/dev/accuracy" && e.Step == 2 * (i + 1));
            Assert.Equal(epochs[i].GetProperty("metrics").GetProperty("accuracy").GetDouble(), acc.Value, 1e-5);   // results.json rounds
        }
    }
}
