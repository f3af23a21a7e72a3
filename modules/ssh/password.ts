// Password hashing for the "password" authentication method (RFC 4252 section 8). The server stores
// only `$pbkdf2-sha256$<iterations>$<salt>$<hash>` (PBKDF2-HMAC-SHA256, RFC 8018 section 5.2;
// salt and hash in unpadded standard base64), never the clear password.
//
// Everything is built on CryptoProvider.sha256, so it runs on every host (noble, node, native).

import type { CryptoProvider } from "../crypto/provider.js";
import { base64Decode, base64Encode, bytesEqual, isBase64Text, utf8Encode } from "./wire.js";

/** SHA-256 block size B (RFC 2104 section 2). */
const SHA256_BLOCK = 64;
/** SHA-256 output size L. */
const SHA256_LEN = 32;

/** PBKDF2 iterations for new hashes: a login-time cost, paid once per password attempt. Measured
 * with the noble provider (createNobleProvider) on the development machine (node 20, 2 cores):
 * 10000 iterations take ~70 ms per verifyPassword (medians 60-90 ms over runs), inside the
 * 50-100 ms a login may cost while still slowing an offline guesser. An ESP32 running the same
 * code under XS is far slower; the count is stored in each hash, so a host that hashes there may
 * pass a smaller count to hashPassword, and verification always uses the count a hash was made
 * with. */
export const DEFAULT_ITERATIONS = 10000;
/** Denial-of-service guard: a stored hash claiming more iterations than this is rejected instead
 * of pinning the CPU (100x the default, i.e. several seconds per attempt). */
export const MAX_ITERATIONS = 1_000_000;
/** Salt length for new hashes (RFC 8018 section 4.1 recommends at least 8 bytes). */
export const SALT_BYTES = 16;
/** Accepted salt lengths in stored hashes (other tools write 8-64 byte salts). */
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
/** Derived key length for new hashes: one SHA-256 output (one PBKDF2 block). */
const HASH_BYTES = SHA256_LEN;
/** Accepted derived key lengths in stored hashes. */
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 64;
/** Longest stored string parsed (the bounds above keep a valid one under 200 characters). */
const MAX_STORED_CHARS = 512;
/** PBKDF2's dkLen bound for callers of pbkdf2Sha256 directly (far below RFC 8018's (2^32-1)*hLen). */
const MAX_DERIVED_BYTES = 1024;

const SCHEME = "pbkdf2-sha256";

/** Key padded to one block and XORed with `pad` (0x36 ipad or 0x5c opad), keys longer than a block
 * first hashed (RFC 2104 section 2), written into out[0..64). */
function padKey(key: Uint8Array, pad: number, out: Uint8Array, crypto: CryptoProvider): void {
  const k = key.length > SHA256_BLOCK ? crypto.sha256(key) : key;
  out.fill(pad, 0, SHA256_BLOCK);
  for (let i = 0; i < k.length; i++) out[i] = k[i] ^ pad;
}

/** HMAC-SHA256 (RFC 2104, RFC 4231): 32 bytes. */
export function hmacSha256(key: Uint8Array, message: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const inner = new Uint8Array(SHA256_BLOCK + message.length);
  padKey(key, 0x36, inner, crypto);
  inner.set(message, SHA256_BLOCK);
  const outer = new Uint8Array(SHA256_BLOCK + SHA256_LEN);
  padKey(key, 0x5c, outer, crypto);
  outer.set(crypto.sha256(inner), SHA256_BLOCK);
  return crypto.sha256(outer);
}

/** PBKDF2 (RFC 8018 section 5.2) with HMAC-SHA256 as the PRF: dkLen bytes. */
export function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number, dkLen: number, crypto: CryptoProvider): Uint8Array {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error("pbkdf2: iterations must be a positive integer");
  if (!Number.isInteger(dkLen) || dkLen < 1 || dkLen > MAX_DERIVED_BYTES) throw new Error("pbkdf2: bad derived key length");
  // The provider hashes whole messages only, so each HMAC is sha256(ipad||m) then sha256(opad||h):
  // the padded key blocks are written once, and each iteration only copies 32 bytes after them.
  const inner = new Uint8Array(SHA256_BLOCK + Math.max(SHA256_LEN, salt.length + 4));
  const outer = new Uint8Array(SHA256_BLOCK + SHA256_LEN);
  padKey(password, 0x36, inner, crypto);
  padKey(password, 0x5c, outer, crypto);
  const innerU = inner.subarray(0, SHA256_BLOCK + SHA256_LEN);
  const t = new Uint8Array(SHA256_LEN);
  const out = new Uint8Array(dkLen);
  for (let block = 1, done = 0; done < dkLen; block++) {
    // U1 = PRF(P, S || INT(i))
    inner.set(salt, SHA256_BLOCK);
    let p = SHA256_BLOCK + salt.length;
    inner[p++] = block >>> 24;
    inner[p++] = block >>> 16;
    inner[p++] = block >>> 8;
    inner[p++] = block;
    outer.set(crypto.sha256(inner.subarray(0, p)), SHA256_BLOCK);
    let u = crypto.sha256(outer);
    t.set(u);
    // Uj = PRF(P, Uj-1); T = U1 ^ U2 ^ ... ^ Uc
    for (let j = 1; j < iterations; j++) {
      innerU.set(u, SHA256_BLOCK);
      outer.set(crypto.sha256(innerU), SHA256_BLOCK);
      u = crypto.sha256(outer);
      for (let k = 0; k < SHA256_LEN; k++) t[k] ^= u[k];
    }
    const n = Math.min(SHA256_LEN, dkLen - done);
    out.set(t.subarray(0, n), done);
    done += n;
  }
  inner.fill(0);
  outer.fill(0);
  t.fill(0);
  return out;
}

/** Hashes a password for storage: `$pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`. */
export function hashPassword(password: string, crypto: CryptoProvider, iterations = DEFAULT_ITERATIONS): string {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new Error(`iterations must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
  const salt = new Uint8Array(SALT_BYTES);
  crypto.randomBytes(salt);
  const pw = utf8Encode(password);
  const hash = pbkdf2Sha256(pw, salt, iterations, HASH_BYTES, crypto);
  pw.fill(0);
  return `$${SCHEME}$${iterations}$${base64Encode(salt, false)}$${base64Encode(hash, false)}`;
}

/** Unpadded base64 of min..max bytes, or null. */
function decodeField(s: string, min: number, max: number): Uint8Array | null {
  if (!isBase64Text(s, false) || s.length % 4 === 1) return null;
  const b = base64Decode(s);
  return b !== null && b.length >= min && b.length <= max ? b : null;
}

/** True when `password` matches a string from hashPassword. False, never an exception, for a
 * wrong password or a malformed / out-of-bounds stored string. The final compare is constant-time. */
export function verifyPassword(password: string, stored: string, crypto: CryptoProvider): boolean {
  if (typeof stored !== "string" || stored.length > MAX_STORED_CHARS) return false;
  const parts = stored.split("$");
  if (parts.length !== 5 || parts[0] !== "" || parts[1] !== SCHEME) return false;
  if (!/^[1-9][0-9]{0,9}$/.test(parts[2])) return false;
  const iterations = Number(parts[2]);
  if (iterations > MAX_ITERATIONS) return false;
  const salt = decodeField(parts[3], MIN_SALT_BYTES, MAX_SALT_BYTES);
  const expected = decodeField(parts[4], MIN_HASH_BYTES, MAX_HASH_BYTES);
  if (salt === null || expected === null) return false;
  const pw = utf8Encode(password);
  const actual = pbkdf2Sha256(pw, salt, iterations, expected.length, crypto);
  pw.fill(0);
  const ok = bytesEqual(actual, expected);
  actual.fill(0);
  return ok;
}
