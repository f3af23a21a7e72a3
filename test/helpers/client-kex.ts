// The client side of the key exchange and of publickey authentication, shared by the node test
// client (test/helpers/client.ts) and the XS one (test/xs/client.ts): nothing here imports node.
// It negotiates as a client does (RFC 4253 7.1: our list's first entry the server also has), runs
// curve25519 or ECDH, checks the host key's signature through the signature table, and installs any
// cipher/MAC pair of the tables.

import type { CryptoProvider, EcCurve } from "../../modules/crypto/provider.js";
import { CIPHERS, type PacketCipher } from "../../modules/ssh/cipher.js";
import { deriveKey, exchangeHash, parseKexInit } from "../../modules/ssh/kex.js";
import type { KexHash } from "../../modules/ssh/kex/index.js";
import { ed25519PublicKeyBlob } from "../../modules/ssh/keys.js";
import { MACS } from "../../modules/ssh/mac.js";
import { MSG } from "../../modules/ssh/messages.js";
import { verifySignature } from "../../modules/ssh/signature.js";
import type { Transport } from "../../modules/ssh/transport.js";
import { SshReader, SshWriter, asciiEncode } from "../../modules/ssh/wire.js";

export const CLIENT_CIPHER = "chacha20-poly1305@openssh.com";

export interface ClientKexLists {
  kex?: string[];
  hostKey?: string[];
  ciphers?: string[];
  macs?: string[];
  firstKexPacketFollows?: boolean;
}

const DEFAULT_KEX = ["curve25519-sha256", "ext-info-c", "kex-strict-c-v00@openssh.com"];
const DEFAULT_MACS = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"];

/** Sends our KEXINIT; returns its payload (for the exchange hash). */
export function sendClientKexInit(t: Transport, crypto: CryptoProvider, o: ClientKexLists = {}): Uint8Array {
  const cookie = new Uint8Array(16);
  crypto.randomBytes(cookie);
  const ciphers = o.ciphers ?? [CLIENT_CIPHER];
  const macs = o.macs ?? DEFAULT_MACS;
  const w = t.begin(MSG.KEXINIT);
  w.raw(cookie)
    .nameList(o.kex ?? DEFAULT_KEX)
    .nameList(o.hostKey ?? ["ssh-ed25519"])
    .nameList(ciphers).nameList(ciphers)
    .nameList(macs).nameList(macs)
    .nameList(["none"]).nameList(["none"])
    .nameList([]).nameList([])
    .boolean(o.firstKexPacketFollows ?? false)
    .uint32(0);
  const payload = w.buf.slice(5, w.pos);
  t.send();
  return payload;
}

/** Our ephemeral for the negotiated kex method: the public value to send, and how to get K. */
export interface ClientEphemeral {
  readonly method: string;
  readonly hash: KexHash;
  readonly publicValue: Uint8Array;
  /** K, encoded as the method hashes it, from the server's public value. */
  finish(serverPublic: Uint8Array): Uint8Array;
}

const EC_KEX: Record<string, { curve: EcCurve; hash: KexHash }> = {
  "ecdh-sha2-nistp256": { curve: "p256", hash: "sha256" },
  "ecdh-sha2-nistp384": { curve: "p384", hash: "sha384" },
  "ecdh-sha2-nistp521": { curve: "p521", hash: "sha512" },
};

/** A fresh ephemeral for `method` (curve25519-sha256[@libssh.org] or ecdh-sha2-nistp*). */
export function clientEphemeral(crypto: CryptoProvider, method: string): ClientEphemeral {
  const ec = EC_KEX[method];
  if (ec) {
    const pair = crypto.ecGenerate!(ec.curve);
    return { method, hash: ec.hash, publicValue: pair.publicKey, finish: (q) => new SshWriter().mpint(crypto.ecdh!(ec.curve, pair.privateKey, q)).bytes() };
  }
  if (method !== "curve25519-sha256" && method !== "curve25519-sha256@libssh.org") throw new Error(`test client: no client side for ${method}`);
  const secret = new Uint8Array(32);
  crypto.randomBytes(secret);
  return { method, hash: "sha256", publicValue: crypto.x25519Public(secret), finish: (q) => new SshWriter().mpint(crypto.x25519(secret, q)).bytes() };
}

/** What a client picks from the server's KEXINIT (RFC 4253 7.1). */
export function clientNegotiate(clientKexInit: Uint8Array, serverKexInit: Uint8Array): { kex: string; hostKey: string; cipherCS: string; cipherSC: string; macCS: string | null; macSC: string | null } {
  // Both payloads start with their message number.
  const c = parseKexInit(clientKexInit);
  const s = parseKexInit(serverKexInit);
  const pick = (what: string, mine: string[], theirs: string[]) => {
    for (const n of mine) if (theirs.indexOf(n) >= 0) return n;
    throw new Error(`test client: no common ${what} (server: ${theirs.join(",")})`);
  };
  const cipherCS = pick("cipher", c.cipherCS, s.cipherCS), cipherSC = pick("cipher", c.cipherSC, s.cipherSC);
  return {
    kex: pick("kex", c.kex, s.kex),
    hostKey: pick("host key", c.hostKey, s.hostKey),
    cipherCS,
    cipherSC,
    macCS: CIPHERS[cipherCS].aead ? null : pick("MAC", c.macCS, s.macCS),
    macSC: CIPHERS[cipherSC].aead ? null : pick("MAC", c.macSC, s.macSC),
  };
}

export interface KexTranscript {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
  ephemeral: ClientEphemeral;
}

function makeCipher(crypto: CryptoProvider, hash: KexHash, k: Uint8Array, h: Uint8Array, sid: Uint8Array, cipher: string, mac: string | null, letters: string): PacketCipher {
  const spec = CIPHERS[cipher];
  const iv = deriveKey(crypto, k, h, letters[0], sid, spec.ivLength, hash);
  const key = deriveKey(crypto, k, h, letters[1], sid, spec.keyLength, hash);
  const macKey = mac ? deriveKey(crypto, k, h, letters[2], sid, MACS[mac].keyLength, hash) : null;
  return spec.create(crypto, key, iv, mac ? MACS[mac] : null, macKey);
}

/**
 * Handles KEX_ECDH_REPLY: verifies the host's signature of the exchange hash, sends NEWKEYS and
 * switches our output to the new keys. Returns the cipher for our input (installed when the
 * server's NEWKEYS arrives), the session id, the host key blob and what was negotiated.
 */
export function clientKexReply(
  t: Transport,
  crypto: CryptoProvider,
  payload: Uint8Array,
  x: KexTranscript,
  sessionId: Uint8Array | null,
  strict: boolean,
): { inCipher: PacketCipher; sessionId: Uint8Array; hostKeyBlob: Uint8Array; negotiated: ReturnType<typeof clientNegotiate> } {
  const n = clientNegotiate(x.clientKexInit, x.serverKexInit);
  const reply = new SshReader(payload, 1);
  const hostKeyBlob = reply.string().slice();
  const serverPublic = reply.string().slice();
  const sigBlob = reply.string().slice();
  const k = x.ephemeral.finish(serverPublic);
  const hash = x.ephemeral.hash;
  const h = exchangeHash(crypto, hash, {
    clientVersion: asciiEncode(x.clientVersion),
    serverVersion: asciiEncode(x.serverVersion),
    clientKexInit: x.clientKexInit,
    serverKexInit: x.serverKexInit,
    hostKeyBlob,
  }, x.ephemeral.publicValue, serverPublic, k);
  const v = verifySignature(crypto, hostKeyBlob, h, sigBlob, n.hostKey);
  if (!v.ok) throw new Error(`host key signature: ${v.reason}`);
  const sid = sessionId ?? h;
  t.begin(MSG.NEWKEYS);
  t.send();
  t.outCipher = makeCipher(crypto, hash, k, h, sid, n.cipherCS, n.macCS, "ACE");
  if (strict) t.outSeq = 0;
  return { inCipher: makeCipher(crypto, hash, k, h, sid, n.cipherSC, n.macSC, "BDF"), sessionId: sid, hostKeyBlob, negotiated: n };
}

/** Sends a signed publickey USERAUTH_REQUEST with an ed25519 seed (RFC 4252 7). */
export function sendPublickeyRequest(t: Transport, crypto: CryptoProvider, sessionId: Uint8Array, user: string, seed: Uint8Array): void {
  const blob = ed25519PublicKeyBlob(crypto.ed25519Public(seed));
  sendSignedPublickey(t, sessionId, user, "ssh-ed25519", blob, (data) => new SshWriter().text("ssh-ed25519").string(crypto.ed25519Sign(seed, data)).bytes());
}

/** Sends a signed publickey USERAUTH_REQUEST for any key: `sign` makes the signature blob over the
 * signed data (RFC 4252 7). */
export function sendSignedPublickey(t: Transport, sessionId: Uint8Array, user: string, algorithm: string, blob: Uint8Array, sign: (data: Uint8Array) => Uint8Array): void {
  const body = new SshWriter().byte(MSG.USERAUTH_REQUEST).text(user).text("ssh-connection").text("publickey").boolean(true).text(algorithm).string(blob);
  const signed = new SshWriter().string(sessionId).raw(body.view()).bytes();
  t.begin(MSG.USERAUTH_REQUEST).raw(body.view().subarray(1)).string(sign(signed));
  t.send();
}
