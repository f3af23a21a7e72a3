// FIDO security keys made in the test from the key format (OpenSSH PROTOCOL.u2f): there is no
// authenticator here, so the key blobs and the authenticator's signatures are built directly.

import { createHash, randomBytes } from "node:crypto";
import { createNodeProvider } from "../../hosts/node/crypto_node.js";
import { SshWriter } from "../../modules/ssh/wire.js";

const node = createNodeProvider();
const sha256 = (d: Uint8Array) => createHash("sha256").update(d).digest();
export const APPLICATION = "ssh:";
export const UP = 0x01, UV = 0x04;

export interface SkKey {
  type: string;
  blob: Uint8Array;
  /** The signature blob over `data` with these flags and counter. */
  sign(data: Uint8Array, flags: number, counter: number): Uint8Array;
}

/** What the authenticator signs: SHA-256(application) || flags || counter || SHA-256(data). */
function skMessage(data: Uint8Array, flags: number, counter: number): Uint8Array {
  return new SshWriter().raw(sha256(Buffer.from(APPLICATION))).byte(flags).uint32(counter).raw(sha256(data)).bytes();
}

export function skEd25519(): SkKey {
  const seed = randomBytes(32);
  const pub = node.ed25519Public(seed);
  const type = "sk-ssh-ed25519@openssh.com";
  return {
    type,
    blob: new SshWriter().text(type).string(pub).text(APPLICATION).bytes(),
    sign: (data, flags, counter) => new SshWriter().text(type).string(node.ed25519Sign(seed, skMessage(data, flags, counter))).byte(flags).uint32(counter).bytes(),
  };
}

export function skEcdsa(): SkKey {
  const pair = node.ecGenerate!("p256");
  const type = "sk-ecdsa-sha2-nistp256@openssh.com";
  return {
    type,
    blob: new SshWriter().text(type).text("nistp256").string(pair.publicKey).text(APPLICATION).bytes(),
    sign: (data, flags, counter) => {
      const rs = node.ecdsaSign!("p256", pair.privateKey, skMessage(data, flags, counter));
      const inner = new SshWriter().mpint(rs.subarray(0, 32)).mpint(rs.subarray(32)).bytes();
      return new SshWriter().text(type).string(inner).byte(flags).uint32(counter).bytes();
    },
  };
}

