// Public key blobs (RFC 4253 6.6) of every key type we verify or hold: ssh-ed25519 (RFC 8709),
// ecdsa-sha2-nistp256/384/521 (RFC 5656 3.1), ssh-rsa (RFC 4253 6.6, RFC 8332), and the FIDO
// security keys sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com (OpenSSH
// PROTOCOL.u2f). Parsing validates what a key must be before any signature work is done on it: exact
// lengths, an EC point on its curve, an RSA modulus within bounds. Pure functions; no provider.

import type { EcCurve } from "../crypto/provider.js";
import { SshReader, WireError, asciiDecode } from "./wire.js";

/** Largest RSA modulus we accept: OpenSSH's SSH_RSA_MAXIMUM_MODULUS_SIZE. A larger one would make a
 * signature check cost seconds on a board, and no real key is larger. */
export const MAX_RSA_BITS = 16384;
/** Smallest RSA modulus of a user or host key we accept: RSA-1024 is within reach of factoring
 * (NIST SP 800-131A disallows it since 2013); OpenSSH's RequiredRSASize defaults to 1024, we are
 * stricter, as the issue asks. Keys below parse (so the log can say why) but are refused. */
export const MIN_RSA_BITS = 2048;
/** Bytes of a FIDO application string we accept ("ssh:" by default; OpenSSH caps nothing, but a
 * key line is bounded anyway). */
const MAX_SK_APPLICATION = 256;
/** Largest RSA public exponent in bytes (OpenSSH and every generator use 65537). */
const MAX_RSA_EXPONENT_BYTES = 8;

export type PublicKey =
  | { kind: "ed25519"; type: "ssh-ed25519"; key: Uint8Array }
  | { kind: "ecdsa"; type: string; curve: EcCurve; point: Uint8Array }
  | { kind: "rsa"; type: "ssh-rsa"; n: Uint8Array; e: Uint8Array; bits: number }
  | { kind: "sk-ed25519"; type: "sk-ssh-ed25519@openssh.com"; key: Uint8Array; application: Uint8Array }
  | { kind: "sk-ecdsa"; type: "sk-ecdsa-sha2-nistp256@openssh.com"; curve: "p256"; point: Uint8Array; application: Uint8Array };

/** A key blob of a type we know but that is not a valid key: the reason, for a disconnect or a log. */
export interface BadKey {
  error: string;
}

/** The SSH curve identifier (RFC 5656 6.1) and key type of each NIST curve. */
export const ECDSA_CURVES: readonly { curve: EcCurve; id: string; type: string; bytes: number }[] = Object.freeze([
  Object.freeze({ curve: "p256" as EcCurve, id: "nistp256", type: "ecdsa-sha2-nistp256", bytes: 32 }),
  Object.freeze({ curve: "p384" as EcCurve, id: "nistp384", type: "ecdsa-sha2-nistp384", bytes: 48 }),
  Object.freeze({ curve: "p521" as EcCurve, id: "nistp521", type: "ecdsa-sha2-nistp521", bytes: 66 }),
]);

export function curveInfo(curve: EcCurve): { curve: EcCurve; id: string; type: string; bytes: number } {
  for (const c of ECDSA_CURVES) if (c.curve === curve) return c;
  throw new RangeError(`unknown curve ${String(curve)}`);
}

// Curve parameters (SEC 2 2.4, FIPS 186-5 D.1.2): prime p and coefficient b of y^2 = x^3 - 3x + b.
const CURVE_P: Readonly<Record<EcCurve, bigint>> = Object.freeze({
  p256: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  p384: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  p521: (1n << 521n) - 1n,
});
const CURVE_B: Readonly<Record<EcCurve, bigint>> = Object.freeze({
  p256: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  p384: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  p521: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
});

/** An unsigned big-endian integer. */
export function bytesToBigInt(b: Uint8Array, start = 0, end = b.length): bigint {
  let v = 0n;
  for (let i = start; i < end; i++) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/** Bits in an unsigned big-endian magnitude without leading zero bytes. */
export function bitLength(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  let top = b[i], bits = 0;
  while (top) {
    bits++;
    top >>= 1;
  }
  return (b.length - i - 1) * 8 + bits;
}

/** True when `point` is an uncompressed SEC 1 point (0x04 || X || Y) on `curve` (SEC 1 3.2.2.1:
 * coordinates below p and the curve equation holds; the identity has no such encoding). */
export function isPointOnCurve(curve: EcCurve, point: Uint8Array): boolean {
  const size = curveInfo(curve).bytes;
  if (point.length !== 1 + 2 * size || point[0] !== 4) return false;
  const p = CURVE_P[curve];
  const x = bytesToBigInt(point, 1, 1 + size);
  const y = bytesToBigInt(point, 1 + size, 1 + 2 * size);
  if (x >= p || y >= p) return false;
  const rhs = (((x * x) % p) * x - 3n * x + CURVE_B[curve]) % p;
  return (y * y - rhs) % p === 0n;
}

function ecdsaPoint(r: SshReader, type: string, curve: EcCurve): Uint8Array | BadKey {
  const info = curveInfo(curve);
  const id = asciiDecode(r.string());
  if (id !== info.id) return { error: `${type} key names curve "${id.slice(0, 20)}"` };
  const point = r.string();
  if (point.length !== 1 + 2 * info.bytes || point[0] !== 4) return { error: `${type} key is not an uncompressed ${1 + 2 * info.bytes}-byte point` };
  if (!isPointOnCurve(curve, point)) return { error: `${type} key: the point is not on the curve` };
  return point;
}

/**
 * Parses and validates a public key blob. Returns null for a type we do not know (not an error:
 * a client may offer any type), BadKey for a known type that is malformed or invalid, else the key.
 * Views in the result point into `blob`.
 */
export function parsePublicKey(blob: Uint8Array): PublicKey | BadKey | null {
  let r: SshReader;
  let type: string;
  try {
    r = new SshReader(blob);
    type = asciiDecode(r.string());
  } catch {
    return { error: "key blob does not start with a key type" };
  }
  try {
    const key = parseBody(r, type);
    if (key === null || "error" in key) return key;
    r.done(`${type} key`);
    return key;
  } catch (e) {
    if (e instanceof WireError) return { error: `${type} key is malformed (${e.message})` };
    throw e;
  }
}

function parseBody(r: SshReader, type: string): PublicKey | BadKey | null {
  switch (type) {
    case "ssh-ed25519": {
      const key = r.string();
      if (key.length !== 32) return { error: `ssh-ed25519 key of ${key.length} bytes` };
      return { kind: "ed25519", type, key };
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521": {
      const curve = ECDSA_CURVES.find((c) => c.type === type)!.curve;
      const point = ecdsaPoint(r, type, curve);
      if ("error" in point) return point;
      return { kind: "ecdsa", type, curve, point };
    }
    case "ssh-rsa": {
      // RFC 4253 6.6: mpint e, then mpint n.
      const e = r.mpint();
      const n = r.mpint();
      const bits = bitLength(n);
      if (bits > MAX_RSA_BITS) return { error: `ssh-rsa key of ${bits} bits exceeds the ${MAX_RSA_BITS}-bit maximum` };
      if (bits < 512 || (n[n.length - 1] & 1) === 0) return { error: `ssh-rsa key with an invalid modulus (${bits} bits)` };
      if (e.length === 0 || e.length > MAX_RSA_EXPONENT_BYTES || (e[e.length - 1] & 1) === 0 || (e.length === 1 && e[0] < 3)) {
        return { error: "ssh-rsa key with an invalid public exponent" };
      }
      return { kind: "rsa", type, n, e, bits };
    }
    case "sk-ssh-ed25519@openssh.com": {
      const key = r.string();
      if (key.length !== 32) return { error: `${type} key of ${key.length} bytes` };
      const application = r.string();
      if (application.length > MAX_SK_APPLICATION) return { error: `${type} key with a ${application.length}-byte application` };
      return { kind: "sk-ed25519", type, key, application };
    }
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const point = ecdsaPoint(r, type, "p256");
      if ("error" in point) return point;
      const application = r.string();
      if (application.length > MAX_SK_APPLICATION) return { error: `${type} key with a ${application.length}-byte application` };
      return { kind: "sk-ecdsa", type, curve: "p256", point, application };
    }
    default:
      return null;
  }
}

/** The key type at the start of a blob, or "" when there is none. */
export function keyBlobType(blob: Uint8Array): string {
  try {
    return asciiDecode(new SshReader(blob).string());
  } catch {
    return "";
  }
}
