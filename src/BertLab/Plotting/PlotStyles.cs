namespace BertLab.Plotting;

/// <summary>The marker a series draws at its points.</summary>
public enum MarkerKind { Circle, Square, TriangleUp, Diamond, TriangleDown, OpenCircle, OpenSquare, OpenTriangleUp, OpenDiamond }

/// <summary>How one series is drawn: a colour (#rrggbb) and a marker.</summary>
public readonly record struct SeriesStyle(string Color, MarkerKind Marker);

/// <summary>
/// Series styles a reader can tell apart: style i has colour i mod 10 (Tableau 10, distinct in hue and lightness) and marker
/// i mod 9. Nine and ten are coprime, so the first 90 styles are distinct (colour, marker) pairs, and the first nine differ
/// in both colour and marker.
/// </summary>
public static class PlotStyles
{
    public static readonly IReadOnlyList<string> Colors = new[]
    {
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#3b3b3b",
    };

    public static readonly IReadOnlyList<MarkerKind> Markers = Enum.GetValues<MarkerKind>();

    /// <summary>How many consecutive styles are distinct (colour, marker) pairs.</summary>
    public static int DistinctCount => Colors.Count * Markers.Count;

    public static SeriesStyle For(int index)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "a style index is ≥ 0");
        return new SeriesStyle(Colors[index % Colors.Count], Markers[index % Markers.Count]);
    }
}
