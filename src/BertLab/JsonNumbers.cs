using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertLab;

/// <summary>Reads numbers from JSON nodes whether they were parsed from text or built in code (an int-backed
/// JsonValue does not convert to double by itself).</summary>
public static class JsonNumbers
{
    public static bool TryGetDouble(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue(out value)) return true;
        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
