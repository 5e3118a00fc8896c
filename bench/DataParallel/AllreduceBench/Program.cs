// The cost of the gradient all-reduce alone (no training): in-place MPI_Allreduce (sum, fp32) of the gradient sizes of
// the model shapes, in buckets of 4 (the trainer's default), 16 and 64 MB and as one call. Run under mpirun:
//   mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 dotnet bench/DataParallel/AllreduceBench/bin/Release/net10.0/AllreduceBench.dll
using System.Diagnostics;
using System.Runtime.InteropServices;
using BertLab.Distributed;

var mpi = MpiNative.TryLoad(out var error) ?? throw new InvalidOperationException(error);
mpi.InitThread(MpiNative.ThreadSerialized);
int rank = mpi.Rank, size = mpi.Size;
int[] bucketMb = args.Length > 0 ? args.Select(int.Parse).ToArray() : [4, 16, 64, 0];   // 0: the whole gradient in one call
foreach (var (name, parameters) in new[] { ("tiny", 4_416_698L), ("small", 11_170_000L), ("base", 109_514_298L) })
{
    var buffer = Marshal.AllocHGlobal((nint)(parameters * 4));
    unsafe { new Span<float>((void*)buffer, (int)parameters).Fill(1f); }
    foreach (int mb in bucketMb)
    {
        long bucket = mb == 0 ? parameters : mb * 262_144L;
        double best = double.MaxValue, total = 0;
        const int repeats = 5;
        for (int r = 0; r < repeats; r++)
        {
            mpi.Barrier();
            var clock = Stopwatch.StartNew();
            for (long offset = 0; offset < parameters; offset += bucket)
            {
                int count = (int)Math.Min(bucket, parameters - offset);
                mpi.AllreduceInPlace(buffer + (nint)(offset * 4), count, mpi.Float, mpi.Sum);
            }
            double s = clock.Elapsed.TotalSeconds;
            best = Math.Min(best, s); total += s;
        }
        if (rank == 0)
            Console.WriteLine($"{name,-6} {parameters * 4 / 1048576.0,8:F1} MB  {(mb == 0 ? "one call" : $"{mb} MB buckets"),-13}  best {best,7:F3} s  mean {total / repeats,7:F3} s  ({parameters * 4 / 1048576.0 / best,6:F0} MB/s, {size} ranks)");
    }
    Marshal.FreeHGlobal(buffer);
}
mpi.FinalizeMpi();
