using System.Collections.Concurrent;

namespace BertLab.Data;

/// <summary>
/// Reads items on one thread, processes batches of them on dedicated worker threads (one per core), and hands the
/// results to the caller's thread in input order, so results are deterministic whatever the core count. Memory is
/// bounded: at most a few batches per worker are in flight. Dedicated threads, not the thread pool: blocking
/// reads and waits on a 2-core pool starve it (the pool adds threads slowly), which left the cores idle.
/// </summary>
public static class ParallelPipeline
{
    /// <summary>
    /// Runs <paramref name="work"/> on every item and <paramref name="consume"/> on each batch of results, in order.
    /// A batch closes at <paramref name="batchSize"/> items or when the items' <paramref name="weight"/> (e.g. characters)
    /// reaches <paramref name="maxBatchWeight"/>, which bounds memory when items are large.
    /// </summary>
    public static void Run<TIn, TOut>(IEnumerable<TIn> items, Func<TIn, TOut> work, Action<TIn[], TOut[]> consume,
        int workers = 0, int batchSize = 512, Func<TIn, long>? weight = null, long maxBatchWeight = long.MaxValue, CancellationToken cancel = default)
    {
        if (workers <= 0) workers = Environment.ProcessorCount;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var jobs = new BlockingCollection<(TIn[] In, TaskCompletionSource<TOut[]> Out)>(workers * 2);
        using var ordered = new BlockingCollection<(TIn[] In, Task<TOut[]> Out)>(workers * 4);
        Exception? readError = null;

        var reader = new Thread(() =>
        {
            try
            {
                var batch = new List<TIn>(batchSize);
                long batchWeight = 0;
                foreach (var item in items)
                {
                    batch.Add(item);
                    if (weight is not null) batchWeight += weight(item);
                    if (batch.Count < batchSize && batchWeight < maxBatchWeight) continue;
                    Submit(batch.ToArray());
                    batch.Clear();
                    batchWeight = 0;
                }
                if (batch.Count > 0) Submit(batch.ToArray());
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (Exception e) { readError = e; }
            finally
            {
                jobs.CompleteAdding();
                ordered.CompleteAdding();
            }
        }) { IsBackground = true, Name = "corpus reader" };

        void Submit(TIn[] input)
        {
            var result = new TaskCompletionSource<TOut[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            ordered.Add((input, result.Task), stop.Token);
            jobs.Add((input, result), stop.Token);
        }

        var threads = Enumerable.Range(0, workers).Select(i => new Thread(() =>
        {
            try
            {
                foreach (var (input, output) in jobs.GetConsumingEnumerable(stop.Token))
                {
                    try
                    {
                        var result = new TOut[input.Length];
                        for (int k = 0; k < input.Length; k++) result[k] = work(input[k]);
                        output.SetResult(result);
                    }
                    catch (Exception e) { output.SetException(e); }
                }
            }
            catch (OperationCanceledException) { }
        }) { IsBackground = true, Name = $"corpus worker {i}" }).ToList();

        reader.Start();
        threads.ForEach(t => t.Start());
        try
        {
            foreach (var (input, output) in ordered.GetConsumingEnumerable(stop.Token))
                consume(input, output.GetAwaiter().GetResult());
            reader.Join();
            if (readError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readError);
        }
        catch
        {
            stop.Cancel();
            throw;
        }
        finally
        {
            // stop and wait for every thread before the collections are disposed
            stop.Cancel();
            reader.Join();
            threads.ForEach(t => t.Join());
        }
    }
}
