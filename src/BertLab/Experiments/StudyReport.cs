using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>
/// What the sections of a study's report share: the document being written, the study's runs read once
/// (<see cref="StudyRuns"/>), every finding's verdict, where the report goes, the plots written so far, and the inputs a
/// section may take from elsewhere (another study's verdicts for the table of both tasks; the η_max brackets the ℓ(η) plot
/// marks, the grid's by default).
/// </summary>
public sealed class StudyReport
{
    public required ReportDocument Doc { get; init; }
    public required StudyRuns Study { get; init; }
    public required IReadOnlyList<FindingVerdict> Verdicts { get; init; }
    /// <summary>The report directory (plots/ is inside it).</summary>
    public required string OutDir { get; init; }
    /// <summary>The plot files written, absolute paths (<see cref="ReportFiles.Plots"/>).</summary>
    public required List<string> Plots { get; init; }
    /// <summary>Another study's verdicts (`bertlab report --beside`), or null.</summary>
    public StudyFindingsSummary? Beside { get; init; }
    /// <summary>Per grid arm, where its edge of stability lies; <see cref="StudyPlots.GridBrackets"/> unless a finer stage gives them.</summary>
    public required IReadOnlyDictionary<StudyArm, LrBracket> MaxLrBrackets { get; init; }
    /// <summary>How <see cref="MaxLrBrackets"/> were found, for the plot and its caption.</summary>
    public string BracketOrigin { get; init; } = GridBracketOrigin;
    public const string GridBracketOrigin = "the lr grid: last stable lr (η_max) to the next lr of the grid, union over seeds; dashed: open";
    /// <summary>The findings.json object of this study (<see cref="StudyFindingsFile.Build"/>).</summary>
    public required System.Text.Json.Nodes.JsonObject Findings { get; init; }

    /// <summary>The follow-up stage as read from the sweep directory, or null when it has not run.</summary>
    public FollowUpReading? FollowUp { get; init; }

    public SweepResults Results => Study.Results;

    /// <summary>Adds a plot written at <paramref name="relativePath"/> under <see cref="OutDir"/> to the document and the list.</summary>
    public void Image(string relativePath, string alt)
    {
        var path = Path.Combine(OutDir, relativePath);
        if (!File.Exists(path)) return;
        Plots.Add(path);
        Doc.Image(relativePath, alt);
    }
}

/// <summary>One section of a study's report: a name (for finding it in the list) and the method that writes it.</summary>
public sealed record ReportSection(string Name, Action<StudyReport> Write);
