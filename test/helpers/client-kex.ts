// The client side of the key exchange and of publickey authentication, shared by the node test
// client (test/helpers/client.ts) and the XS one (test/xs/client.ts): nothing here imports node.

import type { CryptoProvider } from "../../modules/crypto/provider.js";
import { CIPHERS } from "../../modules/ssh/cipher.js";
import { deriveKey } from "../../modules/ssh/kex.js";
import { ed25519PublicKeyBlob } from "../../modules/ssh/keys.js";
import { MSG } from "../../modules/ssh/messages.js";
import type { Transport } from "../../modules/ssh/transport.js";
import { SshReader, SshWriter, asciiEncode } from "../../modules/ssh/wire.js";

export const CLIENT_CIPHER = "chacha20-poly1305@openssh.com";

export interface ClientKexLists {
  kex?: string[];
  hostKey?: string[];
  ciphers?: string[];
  firstKexPacketFollows?: boolean;
}

/** Sends our KEXINIT; returns its payload (for the exchange hash). */
export function sendClientKexInit(t: Transport, crypto: CryptoProvider, o: ClientKexLists = {}): Uint8Array {
  const cookie = new Uint8Array(16);
  crypto.randomBytes(cookie);
  const ciphers = o.ciphers ?? [CLIENT_CIPHER];
  const w = t.begin(MSG.KEXINIT);
  w.raw(cookie)
    .nameList(o.kex ?? ["curve25519-sha256", "ext-info-c", "kex-strict-c-v00@openssh.com"])
    .nameList(o.hostKey ?? ["ssh-ed25519"])
    .nameList(ciphers).nameList(ciphers)
    .nameList(["hmac-sha2-256"]).nameList(["hmac-sha2-256"])
    .nameList(["none"]).nameList(["none"])
    .nameList([]).nameList([])
    .boolean(o.firstKexPacketFollows ?? false)
    .uint32(0);
  const payload = w.buf.slice(5, w.pos);
  t.send();
  return payload;
}

export interface KexTranscript {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
  /** Our ephemeral X25519 secret. */
  ephemeral: Uint8Array;
}

/**
 * Handles KEX_ECDH_REPLY (curve25519-sha256): verifies the host's signature of the exchange hash,
 * sends NEWKEYS and switches our output to the new keys. Returns the key for our input (installed
 * when the server's NEWKEYS arrives), the session id and the host key blob.
 */
export function clientKexReply(
  t: Transport,
  crypto: CryptoProvider,
  payload: Uint8Array,
  x: KexTranscript,
  sessionId: Uint8Array | null,
  strict: boolean,
): { inKey: Uint8Array; sessionId: Uint8Array; hostKeyBlob: Uint8Array } {
  const reply = new SshReader(payload, 1);
  const hostKeyBlob = reply.string().slice();
  const serverPublic = reply.string().slice();
  const sigBlob = reply.string();
  const hk = new SshReader(hostKeyBlob);
  if (hk.text() !== "ssh-ed25519") throw new Error("host key is not ssh-ed25519");
  const hostKey = hk.string().slice();
  const k = new SshWriter().mpint(crypto.x25519(x.ephemeral, serverPublic)).bytes();
  const h = crypto.sha256(
    new SshWriter()
      .string(asciiEncode(x.clientVersion))
      .string(asciiEncode(x.serverVersion))
      .string(x.clientKexInit)
      .string(x.serverKexInit)
      .string(hostKeyBlob)
      .string(crypto.x25519Public(x.ephemeral))
      .string(serverPublic)
      .raw(k)
      .bytes(),
  );
  const sr = new SshReader(sigBlob);
  if (sr.text() !== "ssh-ed25519") throw new Error("signature is not ssh-ed25519");
  if (!crypto.ed25519Verify(hostKey, h, sr.string())) throw new Error("host key signature does not verify");
  const sid = sessionId ?? h;
  t.begin(MSG.NEWKEYS);
  t.send();
  t.outCipher = CIPHERS[CLIENT_CIPHER].create(crypto, deriveKey(crypto, k, h, "C", sid, 64));
  if (strict) t.outSeq = 0;
  return { inKey: deriveKey(crypto, k, h, "D", sid, 64), sessionId: sid, hostKeyBlob };
}

/** Sends a signed publickey USERAUTH_REQUEST with an ed25519 seed (RFC 4252 7). */
export function sendPublickeyRequest(t: Transport, crypto: CryptoProvider, sessionId: Uint8Array, user: string, seed: Uint8Array): void {
  const blob = ed25519PublicKeyBlob(crypto.ed25519Public(seed));
  const body = new SshWriter().byte(MSG.USERAUTH_REQUEST).text(user).text("ssh-connection").text("publickey").boolean(true).text("ssh-ed25519").string(blob);
  const signed = new SshWriter().string(sessionId).raw(body.view()).bytes();
  const sig = new SshWriter().text("ssh-ed25519").string(crypto.ed25519Sign(seed, signed)).bytes();
  t.begin(MSG.USERAUTH_REQUEST).raw(body.view().subarray(1)).string(sig);
  t.send();
}
