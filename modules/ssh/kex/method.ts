// What one key exchange method is (RFC 4253 7 and 8, as every method here uses it): the client
// sends one public value (Q_C, C_INIT) in SSH_MSG_KEX_ECDH_INIT, the server answers with its own
// (Q_S, S_REPLY) in SSH_MSG_KEX_ECDH_REPLY, and both have a shared secret K, already encoded the
// way the method feeds it to the exchange hash and key derivation (an mpint for curve25519 and
// ECDH, a string for the post-quantum hybrids). The exchange hash and key derivation use `hash`.

import type { CryptoFeature, CryptoProvider } from "../../crypto/provider.js";

export type KexHash = "sha256" | "sha384" | "sha512";

export interface KexServerResult {
  /** Q_S / S_REPLY, sent as a string. */
  serverPublic: Uint8Array;
  /** K, encoded (mpint or string), as it goes into the exchange hash and key derivation. */
  sharedSecret: Uint8Array;
}

export interface KexMethod {
  readonly name: string;
  readonly hash: KexHash;
  /** Provider features needed (the hash's included). */
  readonly needs: readonly CryptoFeature[];
  /**
   * The server's half: from the client's public value, a fresh ephemeral key pair, our public
   * value and the shared secret. Throws SshError(KEY_EXCHANGE_FAILED) for a bad client value.
   */
  serverExchange(crypto: CryptoProvider, clientPublic: Uint8Array): KexServerResult;
}

/** A digest with the kex's hash. */
export function kexDigest(crypto: CryptoProvider, hash: KexHash, data: Uint8Array): Uint8Array {
  if (hash === "sha256") return crypto.sha256(data);
  if (hash === "sha512") return crypto.sha512(data);
  return crypto.sha384!(data);
}
