// What the XS hosts of this project (xsrun on Linux, the QEMU firmware) give a script beyond
// ECMAScript, typed. Bundled into the script (hosts/qemu/bundle.ts); nothing here runs on node.
//
// The platform C code creates these globals when it creates the machine:
//   nativeCrypto  the hooks of modules/crypto/native_crypto.c (native_crypto_hooks, by name)
//   print         writes its arguments, joined by spaces, and a newline to the console
//   xsrun         xsrun only: gc(), memory(), now()

import { NATIVE_HOOK_NAMES, type NativeCryptoHooks } from "../../../modules/crypto/native.js";

/** XS heap figures (xsrun.memory()): chunks in bytes, slots as counts (slotSize bytes each). */
export interface XsMemory {
  chunks: number;
  chunksPeak: number;
  chunksReserved: number;
  slots: number;
  slotsPeak: number;
  slotsReserved: number;
  slotSize: number;
  stack: number;
  keys: number;
  /** Bytecode of the evaluated scripts, included in the chunks (on a board it stays in flash). */
  codeSize: number;
}

export interface XsrunApi {
  gc(): void;
  memory(): XsMemory;
  /** Milliseconds, monotonic, sub-millisecond resolution. */
  now(): number;
}

interface HostGlobals {
  nativeCrypto?: NativeCryptoHooks;
  print?: (...values: unknown[]) => void;
  xsrun?: XsrunApi;
}

const host = globalThis as unknown as HostGlobals;

/** The platform's crypto hooks; throws when the platform installed none or an incomplete set. */
export function nativeHooks(): NativeCryptoHooks {
  const hooks = host.nativeCrypto;
  if (!hooks) throw new Error("this XS host has no nativeCrypto hooks");
  for (const name of NATIVE_HOOK_NAMES) if (typeof hooks[name] !== "function") throw new Error(`nativeCrypto.${name} is missing`);
  return hooks;
}

/** Prints one line on the host's console. */
export function print(...values: unknown[]): void {
  if (!host.print) throw new Error("this XS host has no print");
  host.print(...values);
}

/** xsrun's extras, or undefined on other hosts. */
export function xsrun(): XsrunApi | undefined {
  return host.xsrun;
}
