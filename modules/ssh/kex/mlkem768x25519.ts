// mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex, as OpenSSH 9.9+ implements it in
// kexmlkem768x25519.c): the client sends C_INIT = ML-KEM-768 encapsulation key (1184 bytes) ||
// X25519 public value (32); the server encapsulates to the first and answers S_REPLY = ML-KEM
// ciphertext (1088) || its X25519 public value (32). The shared secret is
// K = SHA-256(ML-KEM shared secret || X25519 shared secret), encoded as a string (not an mpint),
// and the exchange hash takes C_INIT and S_REPLY as strings, as for curve25519.

import type { CryptoFeature, CryptoProvider } from "../../crypto/provider.js";
import { DISCONNECT, SshError } from "../messages.js";
import { SshWriter } from "../wire.js";
import { X25519_BYTES, x25519Server } from "./curve25519.js";
import type { KexMethod, KexServerResult } from "./method.js";

/** FIPS 203 Table 3, ML-KEM-768: encapsulation key, ciphertext and shared secret bytes. */
export const MLKEM768_PUBLIC_KEY_BYTES = 1184;
export const MLKEM768_CIPHERTEXT_BYTES = 1088;
const MLKEM768_SHARED_BYTES = 32;

export const MLKEM768X25519_SHA256: KexMethod = Object.freeze({
  name: "mlkem768x25519-sha256",
  hash: "sha256" as const,
  needs: Object.freeze(["mlkem768"] as CryptoFeature[]),
  serverExchange(crypto: CryptoProvider, clientInit: Uint8Array): KexServerResult {
    const want = MLKEM768_PUBLIC_KEY_BYTES + X25519_BYTES;
    if (clientInit.length !== want) {
      throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `mlkem768x25519: client key of ${clientInit.length} bytes (want ${want})`);
    }
    let kem: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
    try {
      kem = crypto.mlkem768Encapsulate!(clientInit.subarray(0, MLKEM768_PUBLIC_KEY_BYTES));
    } catch {
      throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, "mlkem768x25519: invalid ML-KEM-768 encapsulation key (FIPS 203 7.2 check)");
    }
    const ecdh = x25519Server(crypto, clientInit.subarray(MLKEM768_PUBLIC_KEY_BYTES), "mlkem768x25519 (X25519 part)");
    const both = new Uint8Array(MLKEM768_SHARED_BYTES + X25519_BYTES);
    both.set(kem.sharedSecret, 0);
    both.set(ecdh.shared, MLKEM768_SHARED_BYTES);
    kem.sharedSecret.fill(0);
    ecdh.shared.fill(0);
    const k = crypto.sha256(both);
    both.fill(0);
    const sharedSecret = new SshWriter(k.length + 4).string(k).bytes();
    k.fill(0);
    const serverPublic = new Uint8Array(MLKEM768_CIPHERTEXT_BYTES + X25519_BYTES);
    serverPublic.set(kem.ciphertext, 0);
    serverPublic.set(ecdh.serverPublic, MLKEM768_CIPHERTEXT_BYTES);
    return { serverPublic, sharedSecret };
  },
});
