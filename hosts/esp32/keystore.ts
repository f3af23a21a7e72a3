// The ESP32's persistent secrets and keys:
// - the Ed25519 host key: its 32-byte seed, made on first boot from esp_fill_random (through the
//   native random hook) and kept in NVS with Moddable's Preference module (blobs up to 4000 bytes,
//   names up to 15 characters); the public key is derived from it at each start;
// - authorized keys: certs/authorized_keys, built into the image as a data resource (see the
//   manifest's "data"); changing them means rebuilding;
// - the password of user "console", only when no key is authorized: made on first boot, shown
//   once on the log (serial / xsbug), and only its PBKDF2 hash is kept in NVS.

import Preference from "preference";
import Resource from "Resource";
import type { CryptoProvider } from "../../modules/crypto/provider.js";
import type { AllowedKey } from "../../modules/ssh/auth.js";
import { MAX_AUTHORIZED_KEYS_CHARS, parseAuthorizedKeys } from "../../modules/ssh/keys.js";
import { hashPassword } from "../../modules/ssh/password.js";
import { utf8Decode } from "../../modules/ssh/wire.js";

/** NVS namespace and keys (15 characters at most each). */
export const PREF_DOMAIN = "sshconsole";
const PREF_HOST_KEY = "hostkey";
const PREF_PASSWORD = "pwhash";
/** The data resource mcconfig builds from certs/authorized_keys. */
export const AUTHORIZED_KEYS_RESOURCE = "authorized_keys";
/** PBKDF2 iterations for the generated password: each login attempt costs this many HMAC-SHA256
 * pairs through the native hooks, keep it near a tenth of a second on a 160-240 MHz core. */
export const ESP32_PASSWORD_ITERATIONS = 2000;
const GENERATED_PASSWORD_LENGTH = 20;
const PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789A";

export interface HostKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** Loads the host key seed from NVS, or makes and stores one. */
export function loadOrCreateHostKey(crypto: CryptoProvider, log: (line: string) => void): HostKey {
  const stored = Preference.get(PREF_DOMAIN, PREF_HOST_KEY);
  if (stored instanceof ArrayBuffer && stored.byteLength === 32) {
    const seed = new Uint8Array(stored);
    return { seed, publicKey: crypto.ed25519Public(seed) };
  }
  if (stored !== undefined) log("NVS host key is malformed: making a new one (clients will see a changed host key)");
  const seed = new Uint8Array(32);
  crypto.randomBytes(seed);
  Preference.set(PREF_DOMAIN, PREF_HOST_KEY, seed.buffer.slice(0));
  log("generated a new Ed25519 host key (kept in NVS)");
  return { seed, publicKey: crypto.ed25519Public(seed) };
}

/** The ssh-ed25519 keys of the built-in authorized_keys (other key types are reported and skipped). */
export function loadAuthorizedKeys(log: (line: string) => void): AllowedKey[] {
  if (!Resource.exists(AUTHORIZED_KEYS_RESOURCE)) {
    log(`no ${AUTHORIZED_KEYS_RESOURCE} resource in the image`);
    return [];
  }
  const resource = new Resource(AUTHORIZED_KEYS_RESOURCE);
  const length = Math.min(resource.byteLength, MAX_AUTHORIZED_KEYS_CHARS);
  const text = utf8Decode(new Uint8Array(resource.slice(0, length)));
  const parsed = parseAuthorizedKeys(text);
  for (const e of parsed.errors) log(`${AUTHORIZED_KEYS_RESOURCE}: ${e}`);
  const keys = parsed.keys.filter((k) => k.type === "ssh-ed25519");
  const skipped = parsed.keys.length - keys.length;
  if (skipped > 0) log(`${AUTHORIZED_KEYS_RESOURCE}: ${skipped} key(s) of types other than ssh-ed25519 ignored`);
  return keys;
}

/** The stored password hash; with no keys and no hash yet, makes a password, announces it once and
 * stores its hash. undefined: password logins are off. */
export function loadOrCreatePasswordHash(haveKeys: boolean, crypto: CryptoProvider, announce: (line: string) => void): string | undefined {
  const stored = Preference.get(PREF_DOMAIN, PREF_PASSWORD);
  if (typeof stored === "string") return stored === "" ? undefined : stored;
  if (haveKeys) return undefined;
  const pick = new Uint8Array(GENERATED_PASSWORD_LENGTH);
  crypto.randomBytes(pick);
  let password = "";
  // 256 is a multiple of the 32-letter alphabet: no modulo bias.
  for (let i = 0; i < pick.length; i++) password += PASSWORD_ALPHABET[pick[i] % PASSWORD_ALPHABET.length];
  const hash = hashPassword(password, crypto, ESP32_PASSWORD_ITERATIONS);
  Preference.set(PREF_DOMAIN, PREF_PASSWORD, hash);
  announce(`no authorized keys built in and no password yet: generated a password for user "console" (shown once): ${password}`);
  return hash;
}
