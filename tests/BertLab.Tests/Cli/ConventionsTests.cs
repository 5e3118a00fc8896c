using System.CommandLine;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Tests.Model;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Cli;

public class ConventionsTests
{
    static string Help(params string[] args)
    {
        var output = new StringWriter();
        int rc = CliRoot.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, EnableDefaultExceptionHandler = false });
        Assert.Equal(0, rc);
        return output.ToString();
    }

    [Fact]
    public void EveryUsageLineNamesTheProgramBertlab()
    {
        var top = Help("--help");
        Assert.Contains("bertlab [command] [options]", top);
        Assert.DoesNotContain("BertLab.Cli", top);
        Assert.DoesNotContain("testhost", top);
        Assert.Contains("bertlab train [options]", Help("train", "--help"));
        Assert.Contains("bertlab bench attention [options]", Help("bench", "attention", "--help"));
    }

    [Fact]
    public void PlainTable_KeepsEveryCellWhole_InAlignedColumns()
    {
        var t = new PlainTable("variant", "S", "ms (fwd+bwd)", "note")
            .AddRow("softmax-fused", "16", "1.5", "")
            .AddRow("cottention-linear", "4096", "123.4", "skipped: estimated memory 40 GiB exceeds the budget");
        var lines = t.Render().TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("variant", lines[0]);
        Assert.Matches("^-+  -+  -+  -+$", lines[1]);
        Assert.Contains("skipped: estimated memory 40 GiB exceeds the budget", lines[3]);     // never cut to the console width
        Assert.All(lines, l => Assert.Equal(l.TrimEnd(), l));
        // numbers right-aligned: the numeric columns end at the same place on every line
        int sEnd = lines[1].IndexOf("  ", lines[1].IndexOf("  ") + 2);
        Assert.Equal(' ', lines[2][sEnd - 5]);
        Assert.Equal("16", lines[2].Substring(sEnd - 2, 2));
        Assert.Equal("4096", lines[3].Substring(sEnd - 4, 4));
        Assert.Throws<ArgumentException>(() => t.AddRow("too", "few"));
    }

    [PythonTorchFact]
    public void Convert_ImportsPytorchModelBin_SavedByTorch()
    {
        var tmp = Directory.CreateTempSubdirectory("bertlab-bin-").FullName;
        try
        {
            var src = Path.Combine(tmp, "hf-bin");
            Directory.CreateDirectory(src);
            var fixture = Fixtures.HfModel("tiny-bert-mlm");
            File.Copy(Path.Combine(fixture, "config.json"), Path.Combine(src, "config.json"));
            PythonTorch.Run("save_pytorch_bin.py", [Path.Combine(fixture, "model.safetensors"), Path.Combine(src, "pytorch_model.bin")]);
            Assert.False(File.Exists(Path.Combine(src, "model.safetensors")));

            var dst = Path.Combine(tmp, "converted");
            var report = CheckpointConverter.Convert(src, dst);
            Assert.Equal(nameof(BertForMaskedLM), report.ModelClass);
            using var scope = NewDisposeScope();
            var expected = SafetensorsFile.Load(Path.Combine(fixture, "model.safetensors"));
            var actual = SafetensorsFile.Load(Path.Combine(dst, "model.safetensors"));
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (k, t) in expected) Assert.True(t.equal(actual[k]).all().item<bool>(), $"{k} changed on the way through pytorch_model.bin");
        }
        finally { Directory.Delete(tmp, true); }
    }

    [Fact]
    public void PytorchModelBin_ThatIsNotAStateDict_IsAUserError()
    {
        var dir = Directory.CreateTempSubdirectory("bertlab-badbin-").FullName;
        try
        {
            File.Copy(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), "config.json"), Path.Combine(dir, "config.json"));
            File.WriteAllText(Path.Combine(dir, "pytorch_model.bin"), "not a pickle");
            var e = Assert.Throws<BertLab.BertLabException>(() => BertCheckpoint.LoadWeights(dir));
            Assert.Contains("pytorch_model.bin", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
