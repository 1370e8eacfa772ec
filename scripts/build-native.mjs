// npm `install` hook: builds the eBPF objects and the native addon when their sources exist.
// Filled in by the eBPF agent work; until then there is nothing native to build.
process.exit(0);
