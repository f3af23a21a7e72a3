// The key exchange table: every method we implement, by name (RFC 4253 7.1 names). A new method is
// one module in this folder and one entry here; its order of preference is in ../algorithms.ts.

import { CURVE25519_SHA256, CURVE25519_SHA256_LIBSSH } from "./curve25519.js";
import { ECDH_NISTP256, ECDH_NISTP384, ECDH_NISTP521 } from "./ecdh.js";
import type { KexMethod } from "./method.js";
import { MLKEM768X25519_SHA256 } from "./mlkem768x25519.js";

export type { KexHash, KexMethod, KexServerResult } from "./method.js";
export { kexDigest } from "./method.js";

export const KEX_METHODS: Readonly<Record<string, KexMethod>> = Object.freeze({
  "mlkem768x25519-sha256": MLKEM768X25519_SHA256,
  "curve25519-sha256": CURVE25519_SHA256,
  "curve25519-sha256@libssh.org": CURVE25519_SHA256_LIBSSH,
  "ecdh-sha2-nistp256": ECDH_NISTP256,
  "ecdh-sha2-nistp384": ECDH_NISTP384,
  "ecdh-sha2-nistp521": ECDH_NISTP521,
});
