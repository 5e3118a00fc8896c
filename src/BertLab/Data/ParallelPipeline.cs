using System.Threading.Channels;

namespace BertLab.Data;

/// <summary>
/// Reads documents on one thread, processes batches of them on all cores, and hands the results to the caller's
/// thread in input order (so results are deterministic whatever the core count). Memory is bounded: at most
/// a few batches per worker are in flight.
/// </summary>
public static class ParallelPipeline
{
    public static void Run<TIn, TOut>(IEnumerable<TIn> items, Func<TIn, TOut> work, Action<TIn[], TOut[]> consume,
        int workers = 0, int batchSize = 512, CancellationToken cancel = default)
    {
        if (workers <= 0) workers = Environment.ProcessorCount;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var channel = Channel.CreateBounded<(TIn[] In, Task<TOut[]> Out)>(new BoundedChannelOptions(workers * 2) { SingleReader = true, SingleWriter = true });
        var producer = Task.Run(async () =>
        {
            try
            {
                var batch = new List<TIn>(batchSize);
                foreach (var item in items)
                {
                    batch.Add(item);
                    if (batch.Count < batchSize) continue;
                    await Submit(batch.ToArray());
                    batch.Clear();
                }
                if (batch.Count > 0) await Submit(batch.ToArray());
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        });

        async Task Submit(TIn[] input)
        {
            var output = Task.Run(() =>
            {
                var result = new TOut[input.Length];
                for (int i = 0; i < input.Length; i++) result[i] = work(input[i]);
                return result;
            });
            await channel.Writer.WriteAsync((input, output), stop.Token);
        }

        try
        {
            while (channel.Reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
                while (channel.Reader.TryRead(out var next))
                    consume(next.In, next.Out.GetAwaiter().GetResult());
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        producer.GetAwaiter().GetResult();
    }
}
