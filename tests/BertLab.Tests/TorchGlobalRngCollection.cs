using Xunit;

namespace BertLab.Tests;

/// <summary>
/// Tests whose results depend on libtorch's process-wide random generator (torch.manual_seed, then initialisation
/// and dropout). xUnit runs test classes in parallel, and another class drawing from the same generator in between
/// changes the numbers; classes in this collection run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRngCollection
{
    public const string Name = "libtorch global RNG";
}
