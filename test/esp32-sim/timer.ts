// Moddable's "timer" module (modules/base/timer, SDK 8.2.3) on node timers.
//
// Timer.set(callback, delay = 0, repeat = 0), Timer.repeat(callback, interval), Timer.schedule(timer,
// delay[, repeat]) (one argument: unschedule), Timer.clear(timer). The callback runs as its own turn
// with the timer as its argument. A one-shot timer is spent once it fired (unless its callback
// rescheduled it): clearing it then does nothing, scheduling it throws, as modTimer.c does.

import { runTurn } from "./board.js";

const SPENT = Symbol("spent");

export default class Timer {
  private handle: NodeJS.Timeout | null = null;
  private repeatMs = 0;
  private [SPENT] = false;
  /** Scheduled again while its callback ran (mdns.js does this). */
  private rescheduled = false;
  private running = false;
  [key: string]: unknown;

  private constructor(private callback: ((timer: Timer) => void) | null) {}

  static set(callback: (timer: Timer) => void, delay?: number, repeat?: number): Timer {
    if (typeof callback !== "function") throw new TypeError("callback is not a function");
    const t = new Timer(callback);
    t.arm(toInt(delay), toInt(repeat));
    return t;
  }

  static repeat(callback: (timer: Timer) => void, interval: number): Timer {
    if (typeof callback !== "function") throw new TypeError("callback is not a function");
    const t = new Timer(callback);
    const ms = toInt(interval);
    t.arm(ms, ms);
    return t;
  }

  static schedule(timer: Timer, delay?: number, repeat?: number): void {
    if (!(timer instanceof Timer) || timer[SPENT]) throw new TypeError("invalid timer");
    timer.disarm();
    if (arguments.length === 1) return; // unschedule
    timer.arm(toInt(delay), toInt(repeat));
    if (timer.running) timer.rescheduled = true;
  }

  static clear(timer: Timer | undefined | null): void {
    if (!(timer instanceof Timer) || timer[SPENT]) return;
    timer.disarm();
    timer.callback = null;
    timer[SPENT] = true;
  }

  static delay(ms: number): void {
    const until = Date.now() + toInt(ms);
    while (Date.now() < until);
  }

  private arm(delay: number, repeat: number): void {
    this.repeatMs = repeat;
    this.handle = setTimeout(() => this.fire(), Math.max(0, delay));
  }

  private disarm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
  }

  private fire(): void {
    this.handle = null;
    const callback = this.callback;
    if (!callback) return;
    this.running = true;
    this.rescheduled = false;
    runTurn(() => callback.call(globalThis, this));
    this.running = false;
    if (this[SPENT] || this.rescheduled || this.handle) return;
    if (this.repeatMs > 0) this.handle = setTimeout(() => this.fire(), this.repeatMs);
    else {
      this.callback = null;
      this[SPENT] = true;
    }
  }
}

function toInt(v: unknown): number {
  const n = Math.trunc(Number(v ?? 0));
  return Number.isFinite(n) ? n : 0;
}
