using TorchSharp;
using Xunit;

namespace BertLab.Tests;

public class SmokeTests
{
    [Fact]
    public void TorchLoadsAndMultiplies()
    {
        var a = torch.ones(2, 3);
        var b = torch.ones(3, 4);
        Assert.Equal(3.0f, torch.matmul(a, b)[0, 0].item<float>());
    }
}
