using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using BertLab.Model;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.EndToEnd;

/// <summary>
/// The NuGet packages as a user outside the repository gets them: packs every packable project of BertLab.slnx into a
/// temporary feed, builds a fresh console project (its own nuget.config: that feed plus the machine's sources) that
/// references the BertLab and BertLab.Onnx packages and embeds two sentences with <see cref="SentenceEmbedder"/> and with
/// both IEmbeddingGenerators (libtorch and ONNX Runtime, the latter on the model's `bertlab export onnx` graph), compares the
/// vectors with `bertlab embed` of the repository build, builds a second project that references BertLab.Onnx alone and
/// checks that its output holds no TorchSharp or libtorch file and embeds the same, then installs the BertLab.Cli tool into a temporary tool path and runs
/// `bertlab train --model tiny --steps 2` in an empty folder. 70 s on the 2-core VM with other work beside it (most of it
/// is packing: the 180 MB tool package). The src/ projects are packed from the build this test ran against (--no-build):
/// `dotnet test BertLab.slnx` builds every one of them; a packable project that neither the solution build nor this test
/// project's references built makes the pack step fail, naming its missing output.
/// </summary>
[Trait("Category", "Slow")]
public class PackageConsumerTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-pack-").FullName;
    // A version no earlier run used: NuGet's global package cache keeps a package by id and version forever, so a fixed
    // version would let a stale BertLab from an earlier run stand in for the one packed here.
    readonly string _version = $"0.1.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    public void Dispose()
    {
        try { Directory.Delete(_tmp, true); } catch { }
        foreach (var id in new[] { "bertlab", "bertlab.onnx", "bertlab.tokenizers", "bertlab.cli" })
            try
            {
                var cached = Path.Combine(PackageCache, id);
                if (Directory.Exists(Path.Combine(cached, _version))) Directory.Delete(Path.Combine(cached, _version), true);
                if (Directory.Exists(cached) && !Directory.EnumerateFileSystemEntries(cached).Any()) Directory.Delete(cached);
            }
            catch { }
    }

    static string PackageCache => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BertLab.slnx"))) return dir.FullName;
        throw new FileNotFoundException("no BertLab.slnx above " + AppContext.BaseDirectory);
    }

    /// <summary>The configuration this test assembly was built in: the src/ projects were built in it too (this project
    /// references them), so they are packed from that build without building again.</summary>
    static string Configuration => typeof(PackageConsumerTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    static (int code, string output) Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // nothing of the repository or of the test host: no data folder, no GC budget, no MSBuild of the running `dotnet test`
        psi.Environment.Remove("BERTLAB_DATA");
        psi.Environment.Remove("DOTNET_GCgen0size");
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
            psi.Environment.Remove(key);
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran past {timeout}:\n{output}"); }
        p.WaitForExit();
        return (p.ExitCode, $"{file} {string.Join(' ', args)} (exit {p.ExitCode}):\n{output}");
    }

    [Fact]
    public void PackedLibraryEmbedsAsTheCli_AndTheInstalledToolTrainsInAnEmptyFolder()
    {
        var feed = Path.Combine(_tmp, "feed");
        var repo = RepoRoot();

        // 1. Every package, as the README's pack command makes them (here from the existing build, at a fresh version).
        var (code, output) = Run("dotnet", ["pack", Path.Combine(repo, "BertLab.slnx"), "-c", Configuration, "--no-build", "-o", feed,
            $"-p:Version={_version}", "-p:PublishDir=" + Path.Combine(_tmp, "publish") + "/", "-nologo"], repo, TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        Assert.True(File.Exists(Path.Combine(feed, $"BertLab.{_version}.nupkg")), output);
        Assert.True(File.Exists(Path.Combine(feed, $"BertLab.Cli.{_version}.nupkg")), output);
        Assert.True(File.Exists(Path.Combine(feed, $"BertLab.Onnx.{_version}.nupkg")), output);
        Assert.True(File.Exists(Path.Combine(feed, $"BertLab.Tokenizers.{_version}.nupkg")), output);

        // 2. A tiny model with random weights (bert-base-uncased's vocabulary, saved with it).
        var modelDir = Path.Combine(_tmp, "model");
        var config = BertConfig.FromJson("""
            { "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
              "max_position_embeddings": 64, "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0 }
            """);
        manual_seed(11);
        using (var model = new BertModel(config, addPoolingLayer: false)) BertCheckpoint.Save(model, config, modelDir);
        string[] texts = ["The cat sat on the mat.", "Embeddings from a package, checked against the program."];
        var textsFile = Path.Combine(_tmp, "texts.json");
        File.WriteAllText(textsFile, JsonSerializer.Serialize(texts));

        // 3. The reference: `bertlab embed` of the repository build.
        var cliOut = Path.Combine(_tmp, "cli-embeddings.json");
        (code, output) = CliProcess.Run(["embed", "--model", modelDir, "--input", textsFile, "--output", cliOut], _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        // and the model's ONNX graph (onnx/model.onnx beside it), which the ONNX Runtime generator serves
        (code, output) = CliProcess.Run(["export", "onnx", modelDir], _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);

        // 4. A fresh console project outside the solution that gets BertLab from the feed only.
        var consumer = Path.Combine(_tmp, "consumer");
        Directory.CreateDirectory(consumer);
        // empty Directory.Build.* so that nothing above the folder is imported
        File.WriteAllText(Path.Combine(consumer, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(consumer, "Directory.Build.targets"), "<Project />\n");
        // The feed beside the machine's own sources (user-level NuGet.Config: third-party packages such as TorchSharp).
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="bertlab-packed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <PlatformTarget>x64</PlatformTarget>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="BertLab" Version="{_version}" />
                <PackageReference Include="BertLab.Onnx" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using System.Text.Json;
            using BertLab.Model;
            using BertLab.Onnx;
            using BertLab.Runtime;
            using Microsoft.Extensions.AI;

            // args: model folder, texts JSON, then one output JSON each for SentenceEmbedder and the libtorch and ONNX Runtime generators
            TorchRuntime.Initialize();
            var texts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(args[1]))!;
            using var embedder = new SentenceEmbedder(args[0]);
            File.WriteAllText(args[2], JsonSerializer.Serialize(embedder.Embed(texts)));
            foreach (var (generator, file) in new (IEmbeddingGenerator<string, Embedding<float>>, string)[] { (TorchEmbeddingGenerator.Load(args[0]), args[3]), (OnnxEmbeddingGenerator.Load(args[0]), args[4]) })
                using (generator)
                    File.WriteAllText(file, JsonSerializer.Serialize((await generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray()).ToArray()));
            Console.WriteLine($"embedded {texts.Length} texts, {embedder.Dimension} dimensions");
            """);
        (code, output) = Run("dotnet", ["build", "-c", "Release", "-nologo", "-o", Path.Combine(consumer, "out")], consumer, TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        // BertLab came from the feed (NuGet records each package's source beside it in the cache)
        var metadata = File.ReadAllText(Path.Combine(PackageCache, "bertlab", _version, ".nupkg.metadata"));
        Assert.Contains(JsonSerializer.Serialize(feed).Trim('"'), metadata);
        // the package's buildTransitive targets patched the consumer's copy of TorchSharp's native library
        var lib = Path.Combine(consumer, "out", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(IsWeakVersionNeed(lib, "GLIBCXX_3.4.32"), $"{lib}: GLIBCXX_3.4.32 is not a weak requirement\n{output}");
        Assert.False(IsWeakVersionNeed(Path.Combine(PackageCache, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), "GLIBCXX_3.4.32"));

        string[] outs = ["lib-embeddings.json", "torch-generator.json", "onnx-generator.json"];
        (code, output) = Run("dotnet", [Path.Combine(consumer, "out", "Consumer.dll"), modelDir, textsFile, .. outs.Select(o => Path.Combine(_tmp, o))], _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        var expected = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(cliOut))!;
        foreach (var (o, tolerance) in outs.Zip(new[] { 1e-5, 1e-5, 1e-4 })) AssertEmbeddings(o, tolerance);
        void AssertEmbeddings(string file, double tolerance)
        {
            var actual = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(Path.Combine(_tmp, file)))!;
            Assert.Equal(texts.Length, actual.Length);
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.Equal(config.HiddenSize, actual[i].Length);
                Assert.Equal(1.0, Math.Sqrt(actual[i].Sum(x => (double)x * x)), 4);
                for (int j = 0; j < actual[i].Length; j++) Assert.True(Math.Abs(actual[i][j] - expected[i][j]) < tolerance, $"{file}: text {i}, dimension {j}: {actual[i][j]} vs {expected[i][j]}");
            }
            Assert.NotEqual(actual[0], actual[1]);
        }

        // 4b. A service that only serves: BertLab.Onnx alone, no libtorch or TorchSharp anywhere in its output.
        var server = Path.Combine(_tmp, "server");
        Directory.CreateDirectory(server);
        foreach (var f in new[] { "Directory.Build.props", "Directory.Build.targets", "nuget.config" }) File.Copy(Path.Combine(consumer, f), Path.Combine(server, f));
        File.WriteAllText(Path.Combine(server, "Server.csproj"), File.ReadAllText(Path.Combine(consumer, "Consumer.csproj"))
            .Replace($"<PackageReference Include=\"BertLab\" Version=\"{_version}\" />", ""));
        File.WriteAllText(Path.Combine(server, "Program.cs"), """
            using System.Text.Json;
            using BertLab.Onnx;
            var texts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(args[1]))!;
            using var generator = OnnxEmbeddingGenerator.Load(args[0]);
            File.WriteAllText(args[2], JsonSerializer.Serialize((await generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray()).ToArray()));
            """);
        (code, output) = Run("dotnet", ["build", "-c", "Release", "-nologo", "-o", Path.Combine(server, "out")], server, TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        var torchFiles = Directory.GetFiles(Path.Combine(server, "out"), "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(torchFiles.Count == 0, "the ONNX-only service carries " + string.Join(", ", torchFiles));
        (code, output) = Run("dotnet", [Path.Combine(server, "out", "Server.dll"), modelDir, textsFile, Path.Combine(_tmp, "server.json")], _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        AssertEmbeddings("server.json", 1e-4);

        // 5. The tool, installed from the feed, trains in an empty folder with no repository above it.
        var toolPath = Path.Combine(_tmp, "tool");
        (code, output) = Run("dotnet", ["tool", "install", "--tool-path", toolPath, "--add-source", feed, "--version", _version, "BertLab.Cli"], consumer, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        var empty = Directory.CreateTempSubdirectory("bertlab-tool-run-").FullName;
        try
        {
            (code, output) = Run(Path.Combine(toolPath, "bertlab"), ["train", "--model", "tiny", "--steps", "2", "--out", "run"], empty, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, output);
            Assert.True(File.Exists(Path.Combine(empty, "run", "model", "model.safetensors")), output);
            Assert.True(File.Exists(Path.Combine(empty, "run", "summary.json")), output);
        }
        finally { try { Directory.Delete(empty, true); } catch { } }
    }

    /// <summary>Whether the ELF64 little-endian shared library at <paramref name="path"/> requires the symbol version
    /// <paramref name="version"/> weakly (VER_FLG_WEAK in its SHT_GNU_verneed entry). Read here from the ELF format itself.</summary>
    static bool IsWeakVersionNeed(string path, string version)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            throw new InvalidDataException(path + " is not an ELF64 little-endian file");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        const uint ShtGnuVerneed = 0x6ffffffe;
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            long strtab = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = offset;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long vna = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    int flags = BitConverter.ToUInt16(b, (int)vna + 4);
                    long name = strtab + BitConverter.ToUInt32(b, (int)vna + 8);
                    int end = Array.IndexOf(b, (byte)0, (int)name);
                    if (Encoding.ASCII.GetString(b, (int)name, end - (int)name) == version) return (flags & 0x2) != 0;
                    vna += BitConverter.ToUInt32(b, (int)vna + 12);
                }
                uint next = BitConverter.ToUInt32(b, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        throw new InvalidDataException($"{path} does not require {version}");
    }
}
