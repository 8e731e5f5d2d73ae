// The slow end-to-end tests build kernels and boot VMs on a 2-core machine; running their collections one after
// another lets the first warm the shared ccache for the next instead of both compiling the same kernels at once.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
