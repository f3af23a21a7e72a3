// The board's host functions as native() binds them (xsc resolves native("name") at build time; here
// at run time): the crypto hooks of modules/crypto/native_crypto.c (those of native_psa.c and
// native_mlkem.c are in natives-psa.ts), done with libsodium itself
// (libsodium-wrappers-sumo, the WebAssembly build of the library the firmware links), with that C
// file's argument checks and messages; random bytes stand for esp_fill_random.

import { randomFillSync } from "node:crypto";
import sodium from "libsodium-wrappers-sumo";
import { arg, exact, integer, out } from "./native-args.js";
import { loadPsaNatives, psaFunctions } from "./natives-psa.js";
import { otaFunctions } from "./ota.js";
import { radioStarted, wifiFunctions } from "./wifi.js";
import { report } from "./board.js";

type HostFunction = (...args: unknown[]) => unknown;

const copy = (b: Uint8Array) => b.slice();

const functions: Record<string, HostFunction> = {
  xs_native_crypto_random(...a) {
    const o = arg(a, 0);
    // esp_fill_random gives true random numbers only while the radio is on.
    if (!radioStarted()) report({ type: "random-before-radio", bytes: o.length });
    if (o.length) randomFillSync(o);
  },
  xs_native_crypto_sha256(...a) {
    const o = out(a, 1, 32, "sha256: out");
    o.set(sodium.crypto_hash_sha256(copy(arg(a, 0))));
  },
  xs_native_crypto_sha512(...a) {
    const o = out(a, 1, 64, "sha512: out");
    o.set(sodium.crypto_hash_sha512(copy(arg(a, 0))));
  },
  xs_native_crypto_x25519(...a) {
    const o = out(a, 2, 32, "x25519: out");
    const scalar = exact(a, 0, 32, "x25519: scalar");
    const point = exact(a, 1, 32, "x25519: point");
    try {
      o.set(sodium.crypto_scalarmult(copy(scalar), copy(point)));
      return true;
    } catch {
      o.fill(0, 0, 32);
      return false;
    }
  },
  xs_native_crypto_x25519_base(...a) {
    const o = out(a, 1, 32, "x25519: out");
    o.set(sodium.crypto_scalarmult_base(copy(exact(a, 0, 32, "x25519: scalar"))));
  },
  xs_native_crypto_ed25519_public(...a) {
    const o = out(a, 1, 32, "ed25519: out");
    o.set(sodium.crypto_sign_seed_keypair(copy(exact(a, 0, 32, "ed25519: seed"))).publicKey);
  },
  xs_native_crypto_ed25519_sign(...a) {
    const o = out(a, 2, 64, "ed25519: out");
    const seed = exact(a, 0, 32, "ed25519: seed");
    const message = arg(a, 1);
    const pair = sodium.crypto_sign_seed_keypair(copy(seed));
    o.set(sodium.crypto_sign_detached(copy(message), pair.privateKey));
  },
  xs_native_crypto_ed25519_verify(...a) {
    const publicKey = arg(a, 0);
    const message = arg(a, 1);
    const signature = arg(a, 2);
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return sodium.crypto_sign_verify_detached(copy(signature), copy(message), copy(publicKey));
    } catch {
      return false;
    }
  },
  xs_native_crypto_chacha20(...a) {
    if (a.length < 5) throw new TypeError("chacha20: 5 arguments expected");
    const counter = integer(a, 2, 4294967295, "chacha20: counter");
    const output = arg(a, 4);
    const key = exact(a, 0, 32, "chacha20: key");
    const nonce = exact(a, 1, 8, "chacha20: nonce");
    const input = arg(a, 3);
    if (output.length < input.length) throw new RangeError("chacha20: output shorter than input");
    if (input.length) output.set(sodium.crypto_stream_chacha20_xor_ic(copy(input), copy(nonce), counter, copy(key)));
  },
  xs_native_crypto_poly1305(...a) {
    const o = out(a, 2, 16, "poly1305: out");
    const key = exact(a, 0, 32, "poly1305: key");
    o.set(sodium.crypto_onetimeauth(copy(arg(a, 1)), copy(key)));
  },
};

/** Waits for libsodium's WebAssembly to load (the firmware's C is just there), and for the PSA and
 * ML-KEM stand-ins (natives-psa.ts). */
export async function loadNatives(): Promise<void> {
  await Promise.all([sodium.ready, loadPsaNatives()]);
}

/** The global native(): the host function of that name; a build would fail to link an unknown one. */
export function native(name: string): HostFunction {
  const f = functions[String(name)] ?? psaFunctions[String(name)] ?? otaFunctions[String(name)] ?? wifiFunctions[String(name)];
  if (!f) throw new Error(`native: no host function "${name}" in this image`);
  return f;
}
