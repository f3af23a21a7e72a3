// Key exchange: KEXINIT (RFC 4253 section 7.1) and the negotiation of every layer, the exchange hash
// and key derivation (RFC 4253 sections 7.2 and 8), plus the OpenSSH and RFC 8308 pseudo-algorithms
// that ride in the kex name-list (strict kex, ext-info). The methods themselves are in kex/; what we
// offer, and in which order, is algorithms.ts.

import type { CryptoProvider } from "../crypto/provider.js";
import { COMPRESSION_ALGORITHMS, type AlgorithmOffer } from "./algorithms.js";
import { CIPHERS } from "./cipher.js";
import { kexDigest, type KexHash } from "./kex/index.js";
import { DISCONNECT, SshError } from "./messages.js";
import { SshReader, SshWriter, asciiEncode } from "./wire.js";

/** RFC 8308: the server signals it can send SSH_MSG_EXT_INFO / the client asks for it. */
export const EXT_INFO_S = "ext-info-s";
export const EXT_INFO_C = "ext-info-c";
/** OpenSSH strict kex (the Terrapin countermeasure, CVE-2023-48795; OpenSSH PROTOCOL 1.10). */
export const STRICT_KEX_S = "kex-strict-s-v00@openssh.com";
export const STRICT_KEX_C = "kex-strict-c-v00@openssh.com";

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

/** Writes our SSH_MSG_KEXINIT payload (after the message number) into w. `hostKeys` is the
 * host-key list for this client (algorithms.ts hostKeysFor). */
export function writeServerKexInit(w: SshWriter, cookie: Uint8Array, offer: AlgorithmOffer, hostKeys: readonly string[] = offer.hostKey): void {
  w.raw(cookie);
  w.nameList([...offer.kex, EXT_INFO_S, STRICT_KEX_S]);
  w.nameList(hostKeys);
  w.nameList(offer.ciphers).nameList(offer.ciphers);
  w.nameList(offer.macs).nameList(offer.macs);
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
  /** The MAC of each direction; null with an AEAD cipher (its tag is the MAC: "implicit"). */
  macCS: string | null;
  macSC: string | null;
  /** The client sent a guessed kex packet that is wrong and must be ignored (RFC 4253 7.1: wrong
   * when its first kex or host-key algorithm is not our first, as OpenSSH's proposals_match has it;
   * the client then sends the right one). */
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

/** The MAC for a direction: none to negotiate for an AEAD cipher (OpenSSH kex_choose_conf does the
 * same), else the first of the client's MACs we have. */
function chooseMac(what: string, cipher: string, client: string[], offer: AlgorithmOffer): string | null {
  return CIPHERS[cipher].aead ? null : choose(what, client, offer.macs);
}

/** Negotiates every layer against our offer; `hostKeys` is the host-key list we sent this client. */
export function negotiate(client: KexInit, offer: AlgorithmOffer, hostKeys: readonly string[] = offer.hostKey): Negotiated {
  const kex = choose("key exchange", client.kex, offer.kex);
  const hostKey = choose("host key", client.hostKey, hostKeys);
  const cipherCS = choose("client-to-server cipher", client.cipherCS, offer.ciphers);
  const cipherSC = choose("server-to-client cipher", client.cipherSC, offer.ciphers);
  const macCS = chooseMac("client-to-server MAC", cipherCS, client.macCS, offer);
  const macSC = chooseMac("server-to-client MAC", cipherSC, client.macSC, offer);
  choose("client-to-server compression", client.compressionCS, COMPRESSION_ALGORITHMS);
  choose("server-to-client compression", client.compressionSC, COMPRESSION_ALGORITHMS);
  return {
    kex,
    hostKey,
    cipherCS,
    cipherSC,
    macCS,
    macSC,
    ignoreGuess: client.firstKexPacketFollows && (client.kex[0] !== offer.kex[0] || client.hostKey[0] !== hostKeys[0]),
    clientExtInfo: client.kex.includes(EXT_INFO_C),
    strictKex: client.kex.includes(STRICT_KEX_C),
  };
}

export interface KexTranscript {
  clientVersion: Uint8Array;
  serverVersion: Uint8Array;
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
  hostKeyBlob: Uint8Array;
}

/**
 * The exchange hash H = HASH(string V_C || string V_S || string I_C || string I_S || string K_S ||
 * string Q_C || string Q_S || K) with K already encoded (RFC 4253 8, RFC 5656 4, RFC 8731 3,
 * draft-ietf-sshm-mlkem-hybrid-kex: the same layout for every method here).
 */
export function exchangeHash(crypto: CryptoProvider, hash: KexHash, t: KexTranscript, clientPublic: Uint8Array, serverPublic: Uint8Array, k: Uint8Array): Uint8Array {
  const w = new SshWriter(1024 + t.clientKexInit.length + t.serverKexInit.length + t.hostKeyBlob.length + clientPublic.length + serverPublic.length + k.length)
    .string(t.clientVersion)
    .string(t.serverVersion)
    .string(t.clientKexInit)
    .string(t.serverKexInit)
    .string(t.hostKeyBlob)
    .string(clientPublic)
    .string(serverPublic)
    .raw(k);
  const h = kexDigest(crypto, hash, w.view());
  w.buf.fill(0);
  return h;
}

/**
 * Key derivation (RFC 4253 section 7.2): HASH(K || H || letter || session_id), extended with
 * HASH(K || H || K1 || ... ) until `length` bytes exist. K is given encoded, as it was hashed.
 */
export function deriveKey(crypto: CryptoProvider, k: Uint8Array, h: Uint8Array, letter: string, sessionId: Uint8Array, length: number, hash: KexHash = "sha256"): Uint8Array {
  const w = new SshWriter(k.length + h.length + 1 + sessionId.length + length + 64);
  w.raw(k).raw(h).raw(asciiEncode(letter)).raw(sessionId);
  const out = new Uint8Array(length);
  let have = 0;
  let block = kexDigest(crypto, hash, w.view());
  for (;;) {
    const n = Math.min(block.length, length - have);
    out.set(block.subarray(0, n), have);
    block.fill(0);
    have += n;
    if (have >= length) {
      w.buf.fill(0);
      return out;
    }
    w.reset().raw(k).raw(h).raw(out.subarray(0, have));
    block = kexDigest(crypto, hash, w.view());
  }
}
