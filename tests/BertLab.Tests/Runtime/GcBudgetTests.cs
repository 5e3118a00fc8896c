using BertLab.Runtime;
using Xunit;

namespace BertLab.Tests.Runtime;

/// <summary>What keeps garbage collections away from TorchSharp's native calls in the test host and the benchmarks
/// (<see cref="TorchRuntime.Gen0Budget"/>): the test host's generation-0 budget from test.runsettings, and a resident-memory
/// sampler thread that does not allocate.</summary>
public class GcBudgetTests
{
    [Fact]
    public void TheTestHost_RunsWithTheBudgetOfTestRunsettings()
    {
        var settings = System.Xml.Linq.XDocument.Load(Path.Combine(AppContext.BaseDirectory, "test.runsettings"));
        var value = settings.Descendants("DOTNET_GCgen0size").Single().Value;
        Assert.Equal(Convert.ToInt64(value, 16), TorchRuntime.Gen0Budget);
        Assert.True(TorchRuntime.Gen0Budget >= 64L << 20, $"{TorchRuntime.Gen0Budget >> 20} MB");
    }

    [Fact]
    public void TheResidentSampler_AgreesWithVmRss_WithoutAllocating()
    {
        using var sampler = new MemoryInfo.ResidentSampler();
        long first = sampler.Read();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long last = 0;
        for (int i = 0; i < 1000; i++) last = sampler.Read();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long reference = (long)(MemoryInfo.ResidentMb() * (1 << 20));   // VmRSS of /proc/self/status: another source
        Assert.Equal(0, allocated);
        Assert.True(first > 10L << 20, $"{first} bytes");
        Assert.InRange(last, reference - (64L << 20), reference + (64L << 20));
    }
}
