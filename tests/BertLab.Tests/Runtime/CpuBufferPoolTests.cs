using BertLab.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Runtime;

public class CpuBufferPoolTests
{
    static long Address(Tensor t) => TensorMemory.Address(t);

    [Fact]
    public void AFreedBuffer_IsReused_AndABufferInUse_IsNeverHandedOutTwice()
    {
        CpuBufferPool.Trim();
        var shape = new long[] { 3, 1000, 17 };
        var first = CpuBufferPool.Empty(shape);
        first.fill_(1f);
        long address = Address(first);
        var second = CpuBufferPool.Empty(shape);
        Assert.NotEqual(address, Address(second));      // the first is still alive
        second.fill_(2f);
        Assert.Equal(3 * 1000 * 17, first.sum().item<float>());   // writing one leaves the other alone
        long reused = CpuBufferPool.Reused;
        var view = first.narrow(1, 0, 10);              // a view keeps the storage alive after the tensor is disposed
        first.Dispose();
        var third = CpuBufferPool.Empty(shape);
        Assert.NotEqual(address, Address(third));
        Assert.Equal(reused, CpuBufferPool.Reused);
        view.Dispose();                                  // now the storage is free: it comes back
        var fourth = CpuBufferPool.Empty(shape);
        Assert.Equal(address, Address(fourth));
        Assert.Equal(reused + 1, CpuBufferPool.Reused);
        foreach (var t in new[] { second, third, fourth }) t.Dispose();
        Assert.True(CpuBufferPool.IdleBytes >= 3 * 3 * 1000 * 17 * 4);
        CpuBufferPool.Trim();
        Assert.Equal(0, CpuBufferPool.IdleBytes);
    }

    [Fact]
    public void EmptyLike_KeepsAHeadSplitLayout_AndWorksWithAutograd()
    {
        using var scope = NewDisposeScope();
        // (B, S, H·d) viewed as (B, H, S, d), as attention's heads are.
        var x = randn(2, 5, 3 * 4).view(2, 5, 3, 4).transpose(1, 2);
        var y = CpuBufferPool.EmptyLike(x);
        Assert.Equal(x.shape, y.shape);
        Assert.Equal(empty_like(x).stride(), y.stride());
        y.copy_(x);
        Assert.True(y.eq(x).all().item<bool>());
        // A slice of a wider tensor (as Q of a fused QKV projection would be): dense in the same order, as empty_like.
        var q = randn(2, 5, 3 * 12).chunk(3, -1)[0].view(2, 5, 3, 4).transpose(1, 2);
        var qy = CpuBufferPool.EmptyLike(q);
        Assert.Equal(empty_like(q).stride(), qy.stride());
        // A pooled tensor as an autograd leaf: gradients flow as for any tensor.
        var leaf = CpuBufferPool.Empty(new long[] { 4, 4 }).copy_(randn(4, 4)).requires_grad_();
        (leaf * leaf).sum().backward();
        Assert.True(leaf.grad!.allclose(leaf.detach() * 2));
    }
}
