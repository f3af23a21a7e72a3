// The one place that decides what the server offers and in which order. Every layer's table
// (kex/index.ts, hostkeys.ts, cipher.ts, mac.ts, signature.ts) says what each algorithm is and what
// provider features it needs; the lists below put them in our order of preference, and the offer
// is each list filtered by the host's crypto provider (and, for host keys, by the keys the server
// has). A host with fewer primitives offers fewer algorithms instead of failing mid-kex.
//
// Order, server side: the most secure and the cheapest first. It decides nothing in a negotiation
// (RFC 4253 7.1: the first algorithm on the client's list that we also have wins), but it is what
// a client sees and what the README's table lists.

import type { CryptoFeature, CryptoProvider } from "../crypto/provider.js";
import { CIPHERS } from "./cipher.js";
import { HOST_KEY_ALGORITHMS, type HostKeySet } from "./hostkeys.js";
import { KEX_METHODS } from "./kex/index.js";
import { MACS } from "./mac.js";
import { SIGNATURE_ALGORITHMS, hasFeatures } from "./signature.js";

/** Post-quantum hybrid first (OpenSSH 10.1+ warns without it), then X25519, then the NIST curves
 * FIPS-mode clients need. */
export const KEX_PREFERENCE: readonly string[] = Object.freeze([
  "mlkem768x25519-sha256",
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "ecdh-sha2-nistp384",
  "ecdh-sha2-nistp521",
]);

/** Ed25519 first: the key every client since OpenSSH 6.5 has, and the one this server always had. */
export const HOST_KEY_PREFERENCE: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "rsa-sha2-512",
  "rsa-sha2-256",
]);

/** AEADs first (one pass, no separate MAC), chacha20-poly1305 before AES-GCM (fast in software,
 * constant time without AES instructions); AES-CTR for the clients that have nothing else. */
export const CIPHER_PREFERENCE: readonly string[] = Object.freeze([
  "chacha20-poly1305@openssh.com",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
]);

/** Encrypt-then-MAC first (checked before decrypting), SHA-256 before SHA-512 (cheaper, ample). */
export const MAC_PREFERENCE: readonly string[] = Object.freeze([
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512-etm@openssh.com",
  "hmac-sha2-256",
  "hmac-sha2-512",
]);

/** User-key signature algorithms for server-sig-algs (RFC 8308 3.1). */
export const SIGNATURE_PREFERENCE: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "sk-ssh-ed25519@openssh.com",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "rsa-sha2-512",
  "rsa-sha2-256",
]);

export const COMPRESSION_ALGORITHMS: readonly string[] = Object.freeze(["none"]);

/** What the server offers in its KEXINIT (before host-key tailoring, see hostKeysFor). */
export interface AlgorithmOffer {
  readonly kex: readonly string[];
  readonly hostKey: readonly string[];
  readonly ciphers: readonly string[];
  readonly macs: readonly string[];
  readonly signatures: readonly string[];
}

function supported<T extends { needs: readonly CryptoFeature[] }>(
  crypto: CryptoProvider,
  order: readonly string[],
  table: Readonly<Record<string, T>>,
): string[] {
  const out: string[] = [];
  for (const name of order) {
    const entry = table[name];
    if (entry && hasFeatures(crypto, entry.needs)) out.push(name);
  }
  return out;
}

/** The offer of a server with this provider and these host keys. */
export function serverOffer(crypto: CryptoProvider, hostKeys: HostKeySet): AlgorithmOffer {
  const hostKey: string[] = [];
  for (const name of supported(crypto, HOST_KEY_PREFERENCE, HOST_KEY_ALGORITHMS)) if (hostKeys.forAlgorithm(name)) hostKey.push(name);
  return {
    kex: supported(crypto, KEX_PREFERENCE, KEX_METHODS),
    hostKey,
    ciphers: supported(crypto, CIPHER_PREFERENCE, CIPHERS),
    macs: supported(crypto, MAC_PREFERENCE, MACS),
    signatures: supported(crypto, SIGNATURE_PREFERENCE, SIGNATURE_ALGORITHMS),
  };
}

/**
 * The host-key algorithms to put in our KEXINIT for a client whose own list we have seen: a client
 * that knows ssh-ed25519 gets only ssh-ed25519 (so one that prefers ECDSA, such as Go's x/crypto,
 * keeps the key it has had in known_hosts since before there were others); any other client gets
 * all we have. Without the client's list (a rekey we start), the key the connection already uses.
 */
export function hostKeysFor(offer: AlgorithmOffer, clientList: readonly string[] | null, current: string | null): readonly string[] {
  if (current !== null) return [current];
  if (clientList && clientList.indexOf("ssh-ed25519") >= 0 && offer.hostKey.indexOf("ssh-ed25519") >= 0) return ["ssh-ed25519"];
  return offer.hostKey;
}
