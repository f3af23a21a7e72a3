// curve25519-sha256 and curve25519-sha256@libssh.org (RFC 8731): X25519 ephemerals, K the X25519
// output read as an unsigned big-endian integer and encoded as an mpint (RFC 8731 3.1); an
// all-zero output (a low-order client point) is refused (RFC 8731 3).

import type { CryptoFeature, CryptoProvider } from "../../crypto/provider.js";
import { DISCONNECT, SshError } from "../messages.js";
import { SshWriter } from "../wire.js";
import type { KexMethod, KexServerResult } from "./method.js";

/** X25519 public values and results are 32 bytes (RFC 7748 5). */
export const X25519_BYTES = 32;

/** One X25519 exchange as the server: our public value and the raw 32-byte shared secret (the
 * caller wipes it). Shared by the hybrids, which hash the raw secret instead of encoding it. */
export function x25519Server(crypto: CryptoProvider, clientPublic: Uint8Array, what: string): { serverPublic: Uint8Array; shared: Uint8Array } {
  if (clientPublic.length !== X25519_BYTES) throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `${what} public key of ${clientPublic.length} bytes`);
  const secret = new Uint8Array(X25519_BYTES);
  crypto.randomBytes(secret);
  const serverPublic = crypto.x25519Public(secret);
  let shared: Uint8Array;
  try {
    shared = crypto.x25519(secret, clientPublic);
  } catch {
    throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `${what} shared secret is zero (low-order public key)`);
  } finally {
    secret.fill(0);
  }
  let any = 0;
  for (let i = 0; i < X25519_BYTES; i++) any |= shared[i];
  if (any === 0) throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `${what} shared secret is zero`);
  return { serverPublic, shared };
}

function method(name: string): KexMethod {
  return Object.freeze({
    name,
    hash: "sha256" as const,
    needs: Object.freeze([] as CryptoFeature[]),
    serverExchange(crypto: CryptoProvider, clientPublic: Uint8Array): KexServerResult {
      const { serverPublic, shared } = x25519Server(crypto, clientPublic, "curve25519");
      const sharedSecret = new SshWriter(X25519_BYTES + 8).mpint(shared).bytes();
      shared.fill(0);
      return { serverPublic, sharedSecret };
    },
  });
}

export const CURVE25519_SHA256 = method("curve25519-sha256");
export const CURVE25519_SHA256_LIBSSH = method("curve25519-sha256@libssh.org");
