// Moddable's "time" module: Time.ticks (milliseconds since boot, monotonic) and Time.set(seconds)
// (sets the wall clock: Date.now() follows it).

import { performance } from "node:perf_hooks";

const boot = performance.now();
let offsetMs = 0;
const realNow = Date.now.bind(Date);

const Time = {
  get ticks(): number {
    return Math.floor(performance.now() - boot);
  },
  set(seconds: number): void {
    offsetMs = Number(seconds) * 1000 - realNow();
    Date.now = () => realNow() + offsetMs;
  },
  get timezone(): number {
    return 0;
  },
  get dst(): number {
    return 0;
  },
};

export default Time;
