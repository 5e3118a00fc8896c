using Xunit;

// libtorch's random generator and thread count are process-wide: tests that seed or train would disturb each other
// when run in parallel (seen: resume and accumulation tests failing only in the full suite). Run one at a time;
// libtorch itself uses every core inside a test.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
