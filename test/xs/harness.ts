// The checks the XS test entries (test/xs/*-entry.ts) print: "ok NAME" / "not ok NAME: why" per
// check and a last line "N passed, M failed", which the node side (test/xs-*.test.ts,
// test/qemu-*.test.ts) reads. Platform-free: runs under xsrun and inside the QEMU image.

import { print } from "../../hosts/qemu/xs/host.js";

let passed = 0;
let failed = 0;

/** Runs one named check; an exception is its failure. */
export function check(name: string, fn: () => void): void {
  try {
    fn();
    passed++;
    print(`ok ${name}`);
  } catch (e) {
    failed++;
    print(`not ok ${name}: ${(e as Error).message}`);
  }
}

/** Prints the summary line (call last). */
export function summary(): void {
  print(`${passed} passed, ${failed} failed`);
}

export function eq(got: unknown, want: unknown, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, want ${String(want)}`);
}

/** fn must throw an error whose message matches `pattern`. */
export function throws(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (e) {
    if (!pattern.test(String((e as Error).message))) throw new Error(`${what}: threw ${String(e)}, want ${pattern}`);
    return;
  }
  throw new Error(`${what}: did not throw`);
}

/** A copy of `data` at an odd byteOffset inside a larger buffer filled with 0xa5. */
export function atOffset(data: Uint8Array, offset = 3): Uint8Array {
  const big = new Uint8Array(data.length + offset + 5);
  big.fill(0xa5);
  big.set(data, offset);
  return big.subarray(offset, offset + data.length);
}
