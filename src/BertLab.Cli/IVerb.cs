using System.CommandLine;

namespace BertLab.Cli;

/// <summary>One <c>bertlab</c> verb. Implementations are discovered by reflection (no central list to edit).</summary>
public interface IVerb
{
    /// <summary>Position in `bertlab --help` (lower first).</summary>
    int Order => 100;
    Command Build();
}
