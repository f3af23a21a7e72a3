// The node host's persistent state in the data directory: the host key (OpenSSH format, mode 0600),
// authorized_keys (re-read when it changes), and the password hash for user `console`.

import { randomFillSync, randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import type { AllowedKey } from "../../modules/ssh/auth.js";
import { decodeOpenSshPrivateKey, ed25519PublicKeyBlob, encodeOpenSshPrivateKey, formatPublicKeyLine, parseAuthorizedKeys } from "../../modules/ssh/keys.js";
import { hashPassword } from "../../modules/ssh/password.js";

export const HOST_KEY_FILE = "ssh_host_ed25519_key";
export const PASSWORD_HASH_FILE = "password_hash";
/** Length of a generated password: 20 characters of a 32-symbol alphabet, 100 bits. */
const GENERATED_PASSWORD_LENGTH = 20;
const PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";

export interface HostKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** Loads DIR/ssh_host_ed25519_key, or generates it on first start (and its .pub beside it). */
export function loadOrCreateHostKey(dir: string, crypto: CryptoProvider, log: (l: string) => void): HostKey {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, HOST_KEY_FILE);
  if (existsSync(path)) {
    const key = decodeOpenSshPrivateKey(readFileSync(path, "utf8"));
    return { seed: key.seed, publicKey: key.publicKey };
  }
  const seed = new Uint8Array(32);
  randomFillSync(seed);
  const publicKey = crypto.ed25519Public(seed);
  const check = new Uint32Array(1);
  randomFillSync(check);
  writeFileSync(path, encodeOpenSshPrivateKey(seed, publicKey, "esp-ssh-console host key", check[0]), { mode: 0o600 });
  chmodSync(path, 0o600);
  writeFileSync(path + ".pub", formatPublicKeyLine(ed25519PublicKeyBlob(publicKey), "esp-ssh-console host key") + "\n", { mode: 0o644 });
  log(`generated host key ${path}`);
  return { seed, publicKey };
}

/** authorized_keys, re-read whenever its size or mtime changes (adding a key needs no restart). */
export class AuthorizedKeysFile {
  private stamp = "";
  private keys: AllowedKey[] = [];
  constructor(readonly path: string, private readonly log: (l: string) => void) {}

  get(): AllowedKey[] {
    let stamp = "missing";
    try {
      const st = statSync(this.path);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      // no file: no keys
    }
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      this.keys = [];
      if (stamp !== "missing") {
        const parsed = parseAuthorizedKeys(readFileSync(this.path, "utf8"));
        for (const e of parsed.errors) this.log(`${this.path}: ${e}`);
        this.keys = parsed.keys.filter((k) => k.type === "ssh-ed25519");
        const skipped = parsed.keys.length - this.keys.length;
        if (skipped > 0) this.log(`${this.path}: ${skipped} key(s) of types other than ssh-ed25519 ignored`);
      }
    }
    return this.keys;
  }
}

/** Reads DIR/password_hash; when neither keys nor a hash exist, makes a random password, prints it
 * once through `announce`, and stores only its hash. */
export function loadOrCreatePasswordHash(dir: string, haveKeys: boolean, crypto: CryptoProvider, announce: (l: string) => void): string | undefined {
  const path = join(dir, PASSWORD_HASH_FILE);
  if (existsSync(path)) {
    const hash = readFileSync(path, "utf8").trim();
    return hash === "" ? undefined : hash;
  }
  if (haveKeys) return undefined;
  let password = "";
  for (let i = 0; i < GENERATED_PASSWORD_LENGTH; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  const hash = hashPassword(password, crypto);
  writeFileSync(path, hash + "\n", { mode: 0o600 });
  announce(`no authorized_keys and no password yet: generated a password for user "console" (shown once): ${password}`);
  return hash;
}
