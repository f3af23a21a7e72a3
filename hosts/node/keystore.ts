// The node host's persistent state in the data directory: the host keys (OpenSSH key files, mode
// 0600: Ed25519, ECDSA P-256, RSA 3072, each made on first start), authorized_keys (re-read when it
// changes), and the password hash for user `console`.

import { randomInt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import type { AllowedKey } from "../../modules/ssh/auth.js";
import { loadHostKeys, type HostKeyKind, type HostKeySet, type HostKeyStore } from "../../modules/ssh/hostkeys.js";
import { formatPublicKeyLine, parseAuthorizedKeys, pemUnwrap, pemWrap, publicKeyBlob } from "../../modules/ssh/keys.js";
import { usableUserKeys } from "../../modules/ssh/signature.js";
import { hashPassword } from "../../modules/ssh/password.js";
import type { KeyFile } from "../../modules/console/keys.js";

/** The host key files, named as OpenSSH's sshd names them (ssh-keygen -A). */
export const HOST_KEY_FILES: Readonly<Record<HostKeyKind["type"], string>> = {
  "ssh-ed25519": "ssh_host_ed25519_key",
  "ecdsa-sha2-nistp256": "ssh_host_ecdsa_key",
  "ssh-rsa": "ssh_host_rsa_key",
};
export const HOST_KEY_FILE = HOST_KEY_FILES["ssh-ed25519"];
export const PASSWORD_HASH_FILE = "password_hash";
/** Length of a generated password: 20 characters of a 32-symbol alphabet, 100 bits. */
const GENERATED_PASSWORD_LENGTH = 20;
const PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";
const HOST_KEY_COMMENT = "esp-ssh-console host key";

/** Host keys as OpenSSH key files in DIR (mode 0600, with a .pub beside each): ssh-keygen reads
 * them, and keys made by ssh-keygen -A work too. */
export function hostKeyFiles(dir: string): HostKeyStore {
  mkdirSync(dir, { recursive: true });
  return {
    where: dir,
    load(type) {
      const path = join(dir, HOST_KEY_FILES[type]);
      return existsSync(path) ? pemUnwrap(readFileSync(path, "utf8")) : null;
    },
    save(type, bytes, key) {
      const path = join(dir, HOST_KEY_FILES[type]);
      writeFileSync(path, pemWrap(bytes), { mode: 0o600 });
      chmodSync(path, 0o600);
      writeFileSync(path + ".pub", formatPublicKeyLine(publicKeyBlob(key), HOST_KEY_COMMENT) + "\n", { mode: 0o644 });
    },
  };
}

/** Loads the host keys in DIR, making those missing (the node host makes RSA at once: ~0.1-1 s).
 * `types`: only these kinds (default all the provider can sign with). */
export function loadOrCreateHostKeys(dir: string, crypto: CryptoProvider, log: (l: string) => void, types?: readonly HostKeyKind["type"][]): HostKeySet {
  return loadHostKeys(crypto, hostKeyFiles(dir), log, { types }).keys;
}

/** authorized_keys, re-read whenever its size or mtime changes (adding a key needs no restart). */
export class AuthorizedKeysFile {
  private stamp = "";
  private keys: AllowedKey[] = [];
  constructor(readonly path: string, private readonly crypto: CryptoProvider, private readonly log: (l: string) => void) {}

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
        const { usable, notes } = usableUserKeys(this.crypto, parsed.keys);
        this.keys = usable;
        for (const n of notes) this.log(`${this.path}: ${n}`);
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

/** authorized_keys as the file of keys added at run time (modules/console/keys.ts): the node host
 * has no image, so every key is in this one file, and `keys add`/`remove` edit it. */
export function authorizedKeysFile(path: string): KeyFile {
  return {
    read: () => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return "";
      }
    },
    write: (text) => writeFileSync(path, text, { mode: 0o600 }),
  };
}
