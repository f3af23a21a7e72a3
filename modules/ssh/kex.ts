// Key exchange: KEXINIT negotiation (RFC 4253 section 7.1), curve25519-sha256 (RFC 8731), the exchange
// hash and key derivation (RFC 4253 sections 7.2 and 8), plus the OpenSSH and RFC 8308 pseudo-algorithms
// that ride in the kex name-list (strict kex, ext-info).

import type { CryptoProvider } from "../crypto/provider.js";
import { CIPHERS } from "./cipher.js";
import { DISCONNECT, SshError } from "./messages.js";
import { SshReader, SshWriter, asciiEncode } from "./wire.js";

/** Key exchange methods we implement, in our order of preference (RFC 8731). */
export const KEX_ALGORITHMS = ["curve25519-sha256", "curve25519-sha256@libssh.org"];
/** RFC 8308: the server signals it can send SSH_MSG_EXT_INFO / the client asks for it. */
export const EXT_INFO_S = "ext-info-s";
export const EXT_INFO_C = "ext-info-c";
/** OpenSSH strict kex (the Terrapin countermeasure, CVE-2023-48795; OpenSSH PROTOCOL 1.10). */
export const STRICT_KEX_S = "kex-strict-s-v00@openssh.com";
export const STRICT_KEX_C = "kex-strict-c-v00@openssh.com";
/** Host key algorithms (RFC 8709). */
export const HOST_KEY_ALGORITHMS = ["ssh-ed25519"];
/** Ciphers: every entry of the cipher table. */
export const CIPHER_ALGORITHMS = Object.keys(CIPHERS);
/** MACs: our only cipher is an AEAD, for which OpenSSH, PuTTY, Dropbear and ssh2 ignore the MAC
 * negotiation; the list exists because RFC 4253 requires one. We never pick from it. */
export const MAC_ALGORITHMS = ["hmac-sha2-256"];
export const COMPRESSION_ALGORITHMS = ["none"];

export interface KexInit {
  kex: string[];
  hostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressionCS: string[];
  compressionSC: string[];
  firstKexPacketFollows: boolean;
}

/** Writes our SSH_MSG_KEXINIT payload (after the message number) into w. */
export function writeServerKexInit(w: SshWriter, cookie: Uint8Array): void {
  w.raw(cookie);
  w.nameList([...KEX_ALGORITHMS, EXT_INFO_S, STRICT_KEX_S]);
  w.nameList(HOST_KEY_ALGORITHMS);
  w.nameList(CIPHER_ALGORITHMS).nameList(CIPHER_ALGORITHMS);
  w.nameList(MAC_ALGORITHMS).nameList(MAC_ALGORITHMS);
  w.nameList(COMPRESSION_ALGORITHMS).nameList(COMPRESSION_ALGORITHMS);
  w.nameList([]).nameList([]);
  w.boolean(false);
  w.uint32(0);
}

/** Parses a SSH_MSG_KEXINIT payload (message number included). */
export function parseKexInit(payload: Uint8Array): KexInit {
  const r = new SshReader(payload, 1 + 16);
  const k: KexInit = {
    kex: r.nameList(),
    hostKey: r.nameList(),
    cipherCS: r.nameList(),
    cipherSC: r.nameList(),
    macCS: r.nameList(),
    macSC: r.nameList(),
    compressionCS: r.nameList(),
    compressionSC: r.nameList(),
    firstKexPacketFollows: false,
  };
  r.nameList();
  r.nameList();
  k.firstKexPacketFollows = r.boolean();
  r.uint32();
  return k;
}

export interface Negotiated {
  kex: string;
  hostKey: string;
  cipherCS: string;
  cipherSC: string;
  /** The client sent a guessed kex packet that is wrong and must be ignored (RFC 4253 7.1). */
  ignoreGuess: boolean;
  clientExtInfo: boolean;
  strictKex: boolean;
}

/** RFC 4253 7.1: the chosen algorithm is the first on the client's list that the server also supports. */
function choose(what: string, client: string[], server: readonly string[]): string {
  for (const name of client) if (server.includes(name)) return name;
  throw new SshError(
    DISCONNECT.KEY_EXCHANGE_FAILED,
    `no common ${what} algorithm (client offered ${client.join(",").slice(0, 200) || "nothing"}; we support ${server.join(",")})`,
  );
}

export function negotiate(client: KexInit): Negotiated {
  const kex = choose("key exchange", client.kex, KEX_ALGORITHMS);
  const hostKey = choose("host key", client.hostKey, HOST_KEY_ALGORITHMS);
  const cipherCS = choose("client-to-server cipher", client.cipherCS, CIPHER_ALGORITHMS);
  const cipherSC = choose("server-to-client cipher", client.cipherSC, CIPHER_ALGORITHMS);
  choose("client-to-server compression", client.compressionCS, COMPRESSION_ALGORITHMS);
  choose("server-to-client compression", client.compressionSC, COMPRESSION_ALGORITHMS);
  return {
    kex,
    hostKey,
    cipherCS,
    cipherSC,
    ignoreGuess: client.firstKexPacketFollows && (client.kex[0] !== kex || client.hostKey[0] !== hostKey),
    clientExtInfo: client.kex.includes(EXT_INFO_C),
    strictKex: client.kex.includes(STRICT_KEX_C),
  };
}

export interface Curve25519Reply {
  /** Q_S, our ephemeral public key. */
  serverPublic: Uint8Array;
  /** K, the shared secret as mpint-encoded bytes for hashing and key derivation. */
  sharedSecret: Uint8Array;
  /** H, the exchange hash. */
  exchangeHash: Uint8Array;
}

/**
 * The server side of curve25519-sha256 (RFC 8731 section 3): a fresh ephemeral key, the shared secret
 * (an all-zero result is refused), and H = SHA-256(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K).
 */
export function curve25519Server(
  crypto: CryptoProvider,
  clientPublic: Uint8Array,
  transcript: { clientVersion: Uint8Array; serverVersion: Uint8Array; clientKexInit: Uint8Array; serverKexInit: Uint8Array; hostKeyBlob: Uint8Array },
): Curve25519Reply {
  if (clientPublic.length !== 32) throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, `curve25519 public key of ${clientPublic.length} bytes`);
  const secret = new Uint8Array(32);
  crypto.randomBytes(secret);
  const serverPublic = crypto.x25519Public(secret);
  const shared = crypto.x25519(secret, clientPublic);
  secret.fill(0);
  let any = 0;
  for (let i = 0; i < 32; i++) any |= shared[i];
  if (any === 0) throw new SshError(DISCONNECT.KEY_EXCHANGE_FAILED, "curve25519 shared secret is zero");
  // RFC 8731 3.1: the X25519 output is read as an unsigned big-endian integer and encoded as mpint.
  const k = new SshWriter(40).mpint(shared).bytes();
  shared.fill(0);
  const h = new SshWriter(1024)
    .string(transcript.clientVersion)
    .string(transcript.serverVersion)
    .string(transcript.clientKexInit)
    .string(transcript.serverKexInit)
    .string(transcript.hostKeyBlob)
    .string(clientPublic)
    .string(serverPublic)
    .raw(k);
  return { serverPublic, sharedSecret: k, exchangeHash: crypto.sha256(h.view()) };
}

/**
 * Key derivation (RFC 4253 section 7.2): HASH(K || H || letter || session_id), extended with
 * HASH(K || H || K1 || ... ) until `length` bytes exist. K is given mpint-encoded.
 */
export function deriveKey(crypto: CryptoProvider, k: Uint8Array, h: Uint8Array, letter: string, sessionId: Uint8Array, length: number): Uint8Array {
  const w = new SshWriter(k.length + h.length + 1 + sessionId.length + length + 64);
  w.raw(k).raw(h).raw(asciiEncode(letter)).raw(sessionId);
  const out = new Uint8Array(length);
  let have = 0;
  let block = crypto.sha256(w.view());
  for (;;) {
    const n = Math.min(block.length, length - have);
    out.set(block.subarray(0, n), have);
    have += n;
    if (have >= length) return out;
    w.reset().raw(k).raw(h).raw(out.subarray(0, have));
    block = crypto.sha256(w.view());
  }
}

