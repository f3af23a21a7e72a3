// Moddable's "time" module: Time.ticks (milliseconds since boot, monotonic) and Time.set(seconds)
// (sets the wall clock: Date.now() follows it; board.ts, which starts it at 1970 as a power-up does).

import { performance } from "node:perf_hooks";
import { report, setWallClock } from "./board.js";

const boot = performance.now();

const Time = {
  get ticks(): number {
    return Math.floor(performance.now() - boot);
  },
  set(seconds: number): void {
    setWallClock(Number(seconds));
    report({ type: "time-set", seconds: Number(seconds) });
  },
  get timezone(): number {
    return 0;
  },
  get dst(): number {
    return 0;
  },
};

export default Time;
