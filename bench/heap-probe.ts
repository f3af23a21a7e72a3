// Preloaded into the node servers of the bench (`node --expose-gc --import tsx --import
// ./bench/heap-probe.ts ...`): on SIGUSR2 it runs a full GC and writes process.memoryUsage() as JSON
// to $BENCH_HEAP_PROBE. Lets the bench count live JS memory per idle session, which RSS (already
// committed heap pages) does not show for a few KB per connection.

import { writeFileSync } from "node:fs";

const file = process.env.BENCH_HEAP_PROBE;
if (file) {
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    writeFileSync(file, JSON.stringify({ gc: Boolean(gc), ...process.memoryUsage() }));
  });
}
