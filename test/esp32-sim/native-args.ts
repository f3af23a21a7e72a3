// Argument checks of the C hooks (modules/crypto/native_crypto.c's native_arg_*), with the same
// messages, for the simulated host functions (natives.ts, natives-psa.ts).

import { bufferBytes } from "./board.js";

/** Argument i as bytes: TypeError when missing or not a buffer. */
export function arg(args: unknown[], i: number): Uint8Array {
  if (args.length <= i) throw new TypeError("missing argument");
  return bufferBytes(args[i]);
}

/** Argument i as a buffer of exactly `size` bytes. */
export function exact(args: unknown[], i: number, size: number, what: string): Uint8Array {
  const b = arg(args, i);
  if (b.length !== size) throw new RangeError(`${what} must be ${size} bytes`);
  return b;
}

/** Argument i as an output of at least `size` bytes. */
export function out(args: unknown[], i: number, size: number, what: string): Uint8Array {
  const b = arg(args, i);
  if (b.length < size) throw new RangeError(`${what} must hold ${size} bytes`);
  return b;
}

/** Argument i as a plain integer in [0, max]. */
export function integer(args: unknown[], i: number, max: number, what: string): number {
  if (args.length <= i) throw new TypeError("missing argument");
  const v = args[i];
  if (typeof v !== "number") throw new TypeError(`${what} must be a number`);
  if (!(v >= 0 && v <= max) || v !== Math.trunc(v)) throw new RangeError(`${what} out of range`);
  return v;
}
