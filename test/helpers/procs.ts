// Child processes a test starts and must not leave behind: spawn through a Procs, and call
// killAll() in a finally/after. Exits are awaited with a bound.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createHash } from "node:crypto";

export class Procs {
  private readonly children = new Set<ChildProcess>();

  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], ...opts });
    this.children.add(child);
    child.on("exit", () => this.children.delete(child));
    child.on("error", () => this.children.delete(child));
    child.stdin?.on("error", () => {});
    return child;
  }

  /** SIGKILLs every child still running (each by its own pid). */
  killAll(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
    this.children.clear();
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when `child` has exited (and its stdio closed); rejects after `timeoutMs`. */
export function waitExit(child: ChildProcess, timeoutMs: number, what = "process"): Promise<Exit> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => reject(new Error(`${what} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Collects a child's stdout (bytes) and stderr (text) as they arrive. */
export function collect(child: ChildProcess): { stdout: () => Buffer; stderr: () => string } {
  const out: Buffer[] = [];
  let err = "";
  child.stdout?.on("data", (d: Buffer) => out.push(d));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return { stdout: () => Buffer.concat(out), stderr: () => err };
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Polls `check` (each attempt bounded by its own timeout inside `check`) until it returns true,
 * at most `attempts` times, `intervalMs` apart. Throws if it never holds. */
export async function pollUntil(what: string, check: () => Promise<boolean>, attempts: number, intervalMs: number): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what}: condition not reached after ${attempts} attempts`);
}
