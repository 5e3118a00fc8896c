using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using BertLab.IO;

namespace BertLab.Data;

/// <summary>An input file of a prepared corpus, as it was when prepared.</summary>
public sealed record InputFileInfo(string Path, long Bytes, string Sha256);

/// <summary>One shard: a flat little-endian array of Sequences × SequenceLength token ids.</summary>
public sealed record ShardInfo(string File, string Split, long Sequences, long Bytes, string Sha256);

public sealed record PreparationCounts
{
    public long DocumentsRead { get; init; }
    public long DocumentsTooShort { get; init; }
    public long DuplicateDocuments { get; init; }
    public long DocumentsKept { get; init; }
    public long TrainDocuments { get; init; }
    public long ValidationDocuments { get; init; }
    /// <summary>Tokens of the cleaned documents (no special tokens).</summary>
    public long Tokens { get; init; }
    public long TrainSequences { get; init; }
    public long ValidationSequences { get; init; }
}

/// <summary>manifest.json of a prepared shard directory: what was prepared from what, and how to check it is intact.</summary>
public sealed record ShardManifest
{
    public const string FileName = "manifest.json";
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    /// <summary>Hash of everything that determines the output (inputs, vocabulary, options); equal = nothing to do.</summary>
    public required string Fingerprint { get; init; }
    public required string VocabularySha256 { get; init; }
    public required int VocabularySize { get; init; }
    /// <summary>"uint16" when every id fits, else "int32".</summary>
    public required string TokenType { get; init; }
    public required int SequenceLength { get; init; }
    public required PackingMode Mode { get; init; }
    public required ulong Seed { get; init; }
    public required double ValidationFraction { get; init; }
    public required CleaningOptions Cleaning { get; init; }
    public required DocumentSplit DocumentSplit { get; init; }
    public required string TextField { get; init; }
    public required IReadOnlyList<InputFileInfo> Inputs { get; init; }
    public required PreparationCounts Counts { get; init; }
    public required IReadOnlyList<ShardInfo> Shards { get; init; }
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;

    [JsonIgnore] public int BytesPerToken => TokenType == "uint16" ? 2 : 4;

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    public void Save(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var json = JsonSerializer.Serialize(this, Json);
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, json));
    }

    public static ShardManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new BertLabException($"no {FileName} in {directory}: not a prepared corpus (run 'bertlab data prepare'), or preparation did not finish");
        try
        {
            var m = JsonSerializer.Deserialize<ShardManifest>(File.ReadAllText(path), Json) ?? throw new BertLabException($"{path} is empty");
            if (m.Version != CurrentVersion) throw new BertLabException($"{path}: manifest version {m.Version}, this BertLab reads version {CurrentVersion}; prepare the corpus again");
            return m;
        }
        catch (JsonException e)
        {
            throw new BertLabException($"{path} is not a valid manifest ({e.Message}); prepare the corpus again");
        }
    }

    public static bool TryLoad(string directory, out ShardManifest? manifest)
    {
        manifest = null;
        try { manifest = Load(directory); return true; }
        catch (BertLabException) { return false; }
    }

    /// <summary>Checks every shard's length (always) and SHA-256 (when asked); throws naming the first bad shard.</summary>
    public void Verify(string directory, bool checksums = true)
    {
        foreach (var shard in Shards)
        {
            var path = Path.Combine(directory, shard.File);
            if (!File.Exists(path)) throw new BertLabException($"shard {path} is missing; prepare the corpus again");
            long expected = shard.Sequences * SequenceLength * BytesPerToken;
            long actual = new FileInfo(path).Length;
            if (actual != expected || shard.Bytes != expected)
                throw new BertLabException($"shard {path} is corrupt or partial: {actual:N0} bytes, the manifest says {shard.Bytes:N0} ({shard.Sequences:N0} sequences of {SequenceLength}); prepare the corpus again");
            if (checksums && !string.Equals(FileSha256(path), shard.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new BertLabException($"shard {path} is corrupt: its SHA-256 differs from the manifest's; prepare the corpus again");
        }
    }

    /// <summary>The inputs whose size or content changed since preparation (or that are gone).</summary>
    public IReadOnlyList<string> ChangedInputs()
    {
        var changed = new List<string>();
        foreach (var input in Inputs)
            if (!File.Exists(input.Path) || new FileInfo(input.Path).Length != input.Bytes || FileSha256(input.Path) != input.Sha256)
                changed.Add(input.Path);
        return changed;
    }

    public static string FileSha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
